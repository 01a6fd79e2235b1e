// test_kafkajs.mjs — kafkajs 2.2.4 (pure JavaScript client) against brookd.
//
// Design note
// -----------
// kafkajs is a third independent implementation of the Kafka protocol
// (after librdkafka and kafka-python): its own version negotiation, its own
// RecordBatch encoder and its own gzip. It is run by brokerproc.py, which
// starts a fresh brookd, passes its address in BROOK_BOOTSTRAP, bounds our
// runtime and stops brookd by PID afterwards:
//
//   /usr/bin/python3 brokerproc.py run -- node test_kafkajs.mjs
//
// kafkajs has no group-less consumer, and brookd has no consumer groups yet,
// so what was produced is checked through the admin API (fetchTopicOffsets,
// fetchTopicOffsetsByTimestamp) and, when kcat is installed, by reading the
// records back with kcat's group-less consumer (a different decoder, which
// is the point). Also covered: createPartitions, deleteTopics,
// deleteTopicRecords (DeleteRecords, log start inside a batch), the
// idempotent producer (InitProducerId + sequences) and Metadata with
// allow_auto_topic_creation=false, and a consumer-group round trip.
//
// Bounds: every test races a timeout, kafkajs retries are capped, kcat runs
// with a spawn timeout, and a watchdog exits the process if all else fails.
// Exit status: 0 pass, 1 fail, 77 skip (node_modules missing: run
// `npm ci --prefix tests/clients`; or no BROOK_BOOTSTRAP).

import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

const SKIP = 77
// the v2 default-partitioner notice is noise here (we pick partitions)
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const TEST_TIMEOUT_MS = 45000
const WATCHDOG_MS = 240000

let kafkajs
try {
  kafkajs = (await import('kafkajs')).default
} catch (e) {
  console.log(`SKIP: kafkajs is not installed (${e.code || e.message}); run: npm ci --prefix tests/clients`)
  process.exit(SKIP)
}
const { Kafka, CompressionTypes, ConfigResourceTypes, logLevel } = kafkajs

const bootstrap = process.env.BROOK_BOOTSTRAP
if (!bootstrap) {
  console.log('SKIP: BROOK_BOOTSTRAP is not set; run me through brokerproc.py run -- node test_kafkajs.mjs')
  process.exit(SKIP)
}
const [bHost, bPort] = bootstrap.split(':')

setTimeout(() => {
  console.error(`watchdog: kafkajs tests exceeded ${WATCHDOG_MS} ms`)
  process.exit(1)
}, WATCHDOG_MS).unref()

const kafka = new Kafka({
  clientId: 'brook-kafkajs-test',
  brokers: [bootstrap],
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
  logLevel: logLevel.WARN
})

const KCAT = ['/usr/bin/kcat', '/usr/local/bin/kcat'].find(p => existsSync(p))

// ---------------------------------------------------------------- helpers

class Skip extends Error {}

function assert (cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`)
}

// JSON with object keys sorted, so key order never matters
function canon (v) {
  if (Array.isArray(v)) return v.map(canon)
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map(k => [k, canon(v[k])]))
  return v
}

function assertEq (got, want, msg) {
  const g = JSON.stringify(canon(got))
  const w = JSON.stringify(canon(want))
  if (g !== w) throw new Error(`${msg}: got ${g}, want ${w}`)
}

async function withAdmin (fn) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

async function withProducer (opts, fn) {
  const producer = kafka.producer({ allowAutoTopicCreation: false, ...opts })
  await producer.connect()
  try {
    return await fn(producer)
  } finally {
    await producer.disconnect()
  }
}

async function createTopic (admin, topic, numPartitions = 1, configEntries = []) {
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1, configEntries }],
    waitForLeaders: true,
    timeout: 10000
  })
  assertEq(created, true, `createTopics(${topic}) returns true for a new topic`)
}

// Reads partition 0 of topic with kcat: [{offset, key, value, headers, ts}].
function kcatRead (topic, partition = 0) {
  const p = spawnSync(KCAT, ['-b', bootstrap, '-X', 'log.connection.close=false', '-m', '15', '-C', '-t', topic,
    '-p', String(partition), '-o', 'beginning', '-e', '-J'], { timeout: 40000, encoding: 'utf8' })
  if (p.status !== 0) throw new Error(`kcat exited ${p.status} ${p.signal || ''}: ${p.stderr}`)
  return p.stdout.split('\n').filter(l => l.trim()).map(l => JSON.parse(l))
}

function makeMessages (n, ts0, partition = 0) {
  const msgs = []
  for (let i = 0; i < n; i++) {
    msgs.push({
      partition,
      key: i % 11 === 4 ? null : `key-${i}`,
      value: i % 7 === 3 ? '' : `value-${i}-${'z'.repeat(i % 30)}`,
      headers: i % 2 ? { h: `v${i}`, other: 'x' } : {},
      timestamp: String(ts0 + i)
    })
  }
  return msgs
}

// ---------------------------------------------------------------- tests

const tests = []
const test = (name, fn) => tests.push({ name, fn })

test('admin: describeCluster shows one broker on loopback', async () => {
  await withAdmin(async admin => {
    const c = await admin.describeCluster()
    assertEq(c.brokers.length, 1, 'broker count')
    assertEq([c.brokers[0].host, c.brokers[0].port], [bHost, Number(bPort)], 'advertised address')
    assertEq(c.controller, c.brokers[0].nodeId, 'controller')
    assert(c.clusterId, 'clusterId is set')
  })
})

test('admin: createTopics with configs, metadata, describeConfigs, createPartitions, deleteTopics', async () => {
  const topic = 'kjs-admin'
  await withAdmin(async admin => {
    await createTopic(admin, topic, 2, [{ name: 'retention.ms', value: '3600000' }, { name: 'cleanup.policy', value: 'compact' }])
    assertEq(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: false }), false,
      'createTopics on an existing topic returns false (TOPIC_ALREADY_EXISTS)')
    assert((await admin.listTopics()).includes(topic), 'listTopics includes the topic')
    const md = await admin.fetchTopicMetadata({ topics: [topic] })
    assertEq(md.topics[0].partitions.map(p => p.partitionId).sort(), [0, 1], 'partition ids')
    for (const p of md.topics[0].partitions) {
      assertEq(p.partitionErrorCode, 0, `partition ${p.partitionId} error`)
      assert(p.leader >= 0, `partition ${p.partitionId} has a leader`)
      assertEq(p.replicas, [p.leader], 'replicas')
      assertEq(p.isr, [p.leader], 'isr')
    }
    const dc = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }],
      includeSynonyms: false
    })
    assertEq(dc.resources[0].errorCode, 0, 'describeConfigs error')
    const cfg = Object.fromEntries(dc.resources[0].configEntries.map(e => [e.configName, e.configValue]))
    assertEq(cfg, { 'retention.ms': '3600000', 'cleanup.policy': 'compact' }, 'described configs')

    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }], timeout: 10000 })
    const md2 = await admin.fetchTopicMetadata({ topics: [topic] })
    assertEq(md2.topics[0].partitions.length, 4, 'partitions after createPartitions')

    await admin.deleteTopics({ topics: [topic], timeout: 10000 })
    const deadline = Date.now() + 15000
    while ((await admin.listTopics()).includes(topic) && Date.now() < deadline) await new Promise(r => setTimeout(r, 200))
    assert(!(await admin.listTopics()).includes(topic), 'topic gone 15 s after deleteTopics')
  })
})

for (const [codecName, compression] of [['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP]]) {
  for (const acks of [1, -1]) {
    test(`producer: send ${codecName} acks=${acks}, offsets, read back with kcat`, async () => {
      const topic = `kjs-${codecName}-acks${acks === -1 ? 'all' : acks}`
      const n = 200
      const ts0 = Date.now() - 60000
      await withAdmin(admin => createTopic(admin, topic, 1))
      const msgs = makeMessages(n, ts0)
      await withProducer({}, async producer => {
        // two sends: the second one's baseOffset shows the first was counted
        const r1 = await producer.send({ topic, acks, compression, messages: msgs.slice(0, 150) })
        const r2 = await producer.send({ topic, acks, compression, messages: msgs.slice(150) })
        assertEq(r1.map(r => [r.partition, r.errorCode, r.baseOffset]), [[0, 0, '0']], 'first send result')
        assertEq(r2.map(r => [r.partition, r.errorCode, r.baseOffset]), [[0, 0, '150']], 'second send result')
      })
      await withAdmin(async admin => {
        assertEq(await admin.fetchTopicOffsets(topic), [{ partition: 0, offset: String(n), high: String(n), low: '0' }],
          'fetchTopicOffsets')
        assertEq(await admin.fetchTopicOffsetsByTimestamp(topic, ts0 + 42), [{ partition: 0, offset: '42' }],
          'fetchTopicOffsetsByTimestamp(ts0+42)')
        assertEq(await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 3600000), [{ partition: 0, offset: String(n) }],
          'fetchTopicOffsetsByTimestamp(after all) = high watermark (kafkajs maps -1 to high)')
      })
      if (!KCAT) {
        console.log('    (kcat not installed: contents not read back)')
        return
      }
      const got = kcatRead(topic)
      assertEq(got.length, n, 'records read back by kcat')
      got.forEach((r, i) => {
        const m = msgs[i]
        assertEq([r.offset, r.key, r.payload, r.ts, r.tstype], [i, m.key, m.value, ts0 + i, 'create'], `record ${i}`)
        // kcat -J prints headers as [name, value, name, value, ...]
        const hs = r.headers || []
        const h = Array.isArray(hs) ? Object.fromEntries(Array.from({ length: hs.length / 2 }, (_, j) => [hs[2 * j], hs[2 * j + 1]])) : hs
        assertEq(h, m.headers, `record ${i} headers`)
      })
    })
  }
}

test('admin: deleteTopicRecords (DeleteRecords) moves the log start offset, also inside a batch', async () => {
  const topic = 'kjs-delete-records'
  await withAdmin(admin => createTopic(admin, topic, 1))
  await withProducer({}, async producer => {
    // two batches: offsets 0-19 and 20-39
    await producer.send({ topic, messages: makeMessages(20, Date.now()) })
    await producer.send({ topic, messages: makeMessages(20, Date.now()) })
  })
  await withAdmin(async admin => {
    // kafkajs finds the partition leader from metadata it already has:
    // fetchTopicOffsets loads it (without it kafkajs fails locally with
    // KafkaJSBrokerNotFound before sending anything)
    assertEq((await admin.fetchTopicOffsets(topic))[0].high, '40', 'high watermark')
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '25' }] })
    assertEq(await admin.fetchTopicOffsets(topic), [{ partition: 0, offset: '40', high: '40', low: '25' }],
      'log start offset 25 (inside the second batch)')
    let err
    try {
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '41' }] })
    } catch (e) {
      err = e
    }
    assert(err, 'deleting beyond the high watermark must fail')
    // kafkajs wraps the per-partition errors: NonRetriable(cause: DeleteTopicRecordsError)
    const parts = (err.partitions || (err.cause && err.cause.partitions)) || []
    assertEq(parts.map(p => p.error && p.error.type), ['OFFSET_OUT_OF_RANGE'], 'error for offset 41 > high watermark')
  })
  if (KCAT) {
    assertEq(kcatRead(topic).map(r => r.offset), Array.from({ length: 15 }, (_, i) => 25 + i),
      'reading from the beginning starts at offset 25')
  }
})

test('producer: idempotent send (InitProducerId, sequence numbers)', async () => {
  const topic = 'kjs-idempotent'
  await withAdmin(admin => createTopic(admin, topic, 1))
  await withProducer({ idempotent: true, maxInFlightRequests: 1 }, async producer => {
    for (let b = 0; b < 3; b++) {
      const r = await producer.send({ topic, acks: -1, messages: makeMessages(10, Date.now()) })
      assertEq(r.map(x => [x.errorCode, x.baseOffset]), [[0, String(10 * b)]], `idempotent batch ${b}`)
    }
  })
})

test('producer: send to an unknown topic fails with UNKNOWN_TOPIC_OR_PARTITION (no auto-create)', async () => {
  // allowAutoTopicCreation:false makes kafkajs ask Metadata with
  // allow_auto_topic_creation=false, so even with auto.create.topics.enable
  // the topic must not appear.
  let err
  await withProducer({ retry: { retries: 1 } }, async producer => {
    try {
      await producer.send({ topic: 'kjs-does-not-exist', messages: [{ value: 'x' }] })
    } catch (e) {
      err = e
    }
  })
  assert(err, 'send to a missing topic must fail')
  const names = await withAdmin(admin => admin.listTopics())
  assert(!names.includes('kjs-does-not-exist'), 'topic must not have been auto-created')
})

test('consumer group: subscribe and read back', async () => {
  const topic = 'kjs-group'
  await withAdmin(admin => createTopic(admin, topic, 2))
  const msgs = makeMessages(50, Date.now())
  await withProducer({}, p => p.send({ topic, messages: msgs.map((m, i) => ({ ...m, partition: i % 2 })) }))
  const consumer = kafka.consumer({ groupId: 'kjs-group-1', sessionTimeout: 10000, rebalanceTimeout: 10000 })
  await consumer.connect()
  const seen = []
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${seen.length} of 50 consumed`)), 30000)
      consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value.toString())
          if (seen.length === 50) { clearTimeout(t); resolve() }
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  assertEq(seen.sort(), msgs.map(m => m.value).sort(), 'values consumed')
})

// ---------------------------------------------------------------- runner

let passed = 0; let failed = 0; let skipped = 0
console.log(`kafkajs ${createRequire(import.meta.url)('kafkajs/package.json').version} against brookd at ${bootstrap}${KCAT ? '' : ' (no kcat: contents not cross-checked)'}`)
for (const t of tests) {
  let timer
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS) })
  try {
    await Promise.race([t.fn(), timeout])
    passed++
    console.log(`ok    ${t.name}`)
  } catch (e) {
    if (e instanceof Skip) {
      skipped++
      console.log(`skip  ${t.name}: ${e.message}`)
    } else {
      failed++
      console.log(`FAIL  ${t.name}\n      ${e.stack || e}`)
    }
  } finally {
    clearTimeout(timer)
  }
}
console.log(`SUMMARY kafkajs: ${tests.length} run, ${failed} failed, ${skipped} skipped, ${passed} passed`)
process.exit(failed ? 1 : (passed ? 0 : SKIP))
