// test_groups_kafkajs.mjs — kafkajs 2.2.4 consumer groups against brookd.
//
// Design note
// -----------
// kafkajs runs the whole group protocol in JavaScript: its own JoinGroup /
// SyncGroup / Heartbeat loop (heartbeats only between fetches), its own
// RoundRobinAssigner run by the elected leader, auto-commit after every
// batch, and LeaveGroup on disconnect. Its admin client has the group APIs
// kafka-python's lacks for a JavaScript user: describeGroups (with the
// consumer protocol decoded by AssignerProtocol), listGroups, fetchOffsets,
// setOffsets (OffsetCommit from outside the group) and deleteGroups.
//
// One scenario, in order (each step's expectation is Kafka's behaviour):
//
//   c1, c2 join --(GROUP_JOIN: disjoint assignments covering 4 partitions)-->
//   produce 200 --> c1+c2 read each once --> auto-commits reach the high
//   watermarks (fetchOffsets) --> describeGroups: Stable, 2 members with
//   decoded assignments --> listGroups has it --> deleteGroups: NON_EMPTY_GROUP
//   --> both disconnect (LeaveGroup) --> Empty --> produce 40 --> c3 in the
//   same group (fromBeginning: true) reads exactly the 40 new records -->
//   c3 disconnects --> setOffsets on the empty group --> deleteGroups ok -->
//   offsets gone (-1), group not listed, deleteGroups again: GROUP_ID_NOT_FOUND
//
// Admin calls follow consumer.disconnect() at once, as a kafkajs user would:
// the coordinator empties the group while it answers the last LeaveGroup.
//
// Run by brokerproc.py, which starts a fresh brookd with the group settings
// given as --override (initial rebalance delay 0, min session 1000 ms),
// passes its address in BROOK_BOOTSTRAP, bounds our runtime and stops brookd
// by PID afterwards:
//
//   /usr/bin/python3 brokerproc.py run --override group.initial.rebalance.delay.ms=0 \
//       --override group.min.session.timeout.ms=1000 -- node test_groups_kafkajs.mjs
//
// Bounds: every wait polls with a deadline, every test races a timeout,
// kafkajs retries are capped, and a watchdog exits the process.
// Exit status: 0 pass, 1 fail, 77 skip (node_modules missing: run
// `npm ci --prefix tests/clients`; or no BROOK_BOOTSTRAP).

import { createRequire } from 'node:module'

const SKIP = 77
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const TEST_TIMEOUT_MS = 90000
const WATCHDOG_MS = 150000
const NPART = 4

let kafkajs
try {
  kafkajs = (await import('kafkajs')).default
} catch (e) {
  console.log(`SKIP: kafkajs is not installed (${e.code || e.message}); run: npm ci --prefix tests/clients`)
  process.exit(SKIP)
}
const { Kafka, AssignerProtocol, logLevel } = kafkajs

const bootstrap = process.env.BROOK_BOOTSTRAP
if (!bootstrap) {
  console.log('SKIP: BROOK_BOOTSTRAP is not set; run me through brokerproc.py run -- node test_groups_kafkajs.mjs')
  process.exit(SKIP)
}

setTimeout(() => {
  console.error(`watchdog: kafkajs group tests exceeded ${WATCHDOG_MS} ms`)
  process.exit(1)
}, WATCHDOG_MS).unref()

const kafka = new Kafka({
  clientId: 'kjsg',
  brokers: [bootstrap],
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
  logLevel: logLevel.WARN
})

// ---------------------------------------------------------------- helpers

function assert (cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`)
}

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

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// Polls pred (may be async) every 50 ms until true; throws naming `what`.
async function waitUntil (pred, ms, what) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await pred()) return
    await sleep(50)
  }
  if (!(await pred())) throw new Error(`not within ${ms} ms: ${typeof what === 'function' ? what() : what}`)
}

async function expectThrow (fn, what) {
  try {
    await fn()
  } catch (e) {
    return e
  }
  throw new Error(`${what}: expected an error`)
}

// n records round-robin over the partitions; returns Map "p/o" -> value
async function produce (topic, n, tag) {
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    const out = new Map()
    const msgs = Array.from({ length: n }, (_, i) => ({ partition: i % NPART, value: `${tag}-${i}` }))
    // one send per partition: its baseOffset numbers that partition's records
    for (let p = 0; p < NPART; p++) {
      const mine = msgs.filter(m => m.partition === p)
      if (!mine.length) continue
      const [r] = await producer.send({ topic, acks: -1, messages: mine })
      assertEq(r.errorCode, 0, 'produce error code')
      mine.forEach((m, i) => out.set(`${p}/${Number(r.baseOffset) + i}`, m.value))
    }
    return out
  } finally {
    await producer.disconnect()
  }
}

// A group member that records what GROUP_JOIN gave it and what it read.
class Member {
  constructor (name, groupId, topic) {
    this.name = name
    this.topic = topic
    this.assigned = null // partitions of the latest GROUP_JOIN
    this.joins = 0
    this.seen = [] // [partition, offset, value]
    this.crashed = null
    this.consumer = kafka.consumer({
      groupId,
      sessionTimeout: 6000,
      rebalanceTimeout: 10000,
      heartbeatInterval: 300,
      maxWaitTimeInMs: 100,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 }
    })
    const { GROUP_JOIN, CRASH } = this.consumer.events
    this.consumer.on(GROUP_JOIN, e => {
      this.joins++
      this.assigned = new Set(e.payload.memberAssignment[topic] || [])
      this.memberId = e.payload.memberId
    })
    this.consumer.on(CRASH, e => { this.crashed = e.payload.error })
  }

  async start () {
    await this.consumer.connect()
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true })
    await this.consumer.run({
      eachMessage: async ({ partition, message }) => {
        this.seen.push([partition, Number(message.offset), message.value.toString()])
      }
    })
  }

  async stop () {
    await this.consumer.disconnect()
  }
}

function disjointCover (a, b) {
  if (!a.assigned || !b.assigned || !a.assigned.size || !b.assigned.size) return false
  const all = new Set([...a.assigned, ...b.assigned])
  return all.size === NPART && a.assigned.size + b.assigned.size === NPART
}

async function committed (admin, groupId, topic) {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return Object.fromEntries(t.partitions.map(p => [p.partition, Number(p.offset)]))
}

async function highs (admin, topic) {
  return Object.fromEntries((await admin.fetchTopicOffsets(topic)).map(p => [p.partition, Number(p.high)]))
}

// ---------------------------------------------------------------- tests

const tests = []
const test = (name, fn) => tests.push({ name, fn })

test('two consumers split a topic, commits survive them, admin describe/list/fetchOffsets/setOffsets/delete', async () => {
  const topic = 'kjsg-split'
  const groupId = 'kjsg-group'
  const admin = kafka.admin()
  await admin.connect()
  const members = []
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: NPART }], waitForLeaders: true, timeout: 10000 })
    const c1 = new Member('c1', groupId, topic)
    const c2 = new Member('c2', groupId, topic)
    members.push(c1, c2)
    await c1.start()
    await c2.start()
    await waitUntil(() => disjointCover(c1, c2), 30000,
      () => `c1 and c2 share the partitions (c1 ${[...(c1.assigned || [])]}, c2 ${[...(c2.assigned || [])]})`)

    // -- every record exactly once across the group
    const produced = await produce(topic, 200, 'first')
    const key = ([p, o]) => `${p}/${o}`
    await waitUntil(() => new Set([...c1.seen, ...c2.seen].map(key)).size >= produced.size, 30000,
      () => `the group reads all ${produced.size} records (c1 ${c1.seen.length}, c2 ${c2.seen.length})`)
    const k1 = c1.seen.map(key)
    const k2 = c2.seen.map(key)
    assertEq(k1.length, new Set(k1).size, 'c1 read a record twice')
    assertEq(k2.length, new Set(k2).size, 'c2 read a record twice')
    assertEq(k1.filter(k => k2.includes(k)), [], 'records read by both members')
    assertEq([...k1, ...k2].sort(), [...produced.keys()].sort(), 'union of what the members read')
    for (const [p, o, v] of [...c1.seen, ...c2.seen]) assertEq(v, produced.get(`${p}/${o}`), `value at ${p}/${o}`)
    for (const m of [c1, c2]) assert(m.seen.every(([p]) => m.assigned.has(p)), `${m.name} read only its partitions`)

    // -- kafkajs auto-commits after each batch: the group's offsets reach the ends
    const ends = await highs(admin, topic)
    await waitUntil(async () => JSON.stringify(await committed(admin, groupId, topic)) === JSON.stringify(ends), 15000,
      'auto-commits reach the high watermarks')

    // -- admin view of the live group
    const { groups: [d] } = await admin.describeGroups([groupId])
    assertEq([d.errorCode, d.groupId, d.state, d.protocolType, d.protocol],
      [0, groupId, 'Stable', 'consumer', 'RoundRobinAssigner'], 'describeGroups')
    assertEq(d.members.length, 2, 'members')
    assertEq(d.members.map(m => m.memberId).sort(), [c1.memberId, c2.memberId].sort(), 'member ids as the members know them')
    for (const dm of d.members) {
      const owner = dm.memberId === c1.memberId ? c1 : c2
      assertEq(dm.clientId, 'kjsg', 'client id')
      assert(dm.clientHost, 'client host filled in')
      assertEq(AssignerProtocol.MemberMetadata.decode(dm.memberMetadata).topics, [topic], 'decoded subscription')
      assertEq(AssignerProtocol.MemberAssignment.decode(dm.memberAssignment).assignment,
        { [topic]: [...owner.assigned].sort() }, `decoded assignment of ${owner.name}`)
    }
    const { groups: listed } = await admin.listGroups()
    assert(listed.some(g => g.groupId === groupId && g.protocolType === 'consumer'), `listGroups: ${JSON.stringify(listed)}`)
    const e1 = await expectThrow(() => admin.deleteGroups([groupId]), 'deleteGroups on a live group')
    assertEq((e1.groups || []).map(g => [g.groupId, g.error && g.error.type]), [[groupId, 'NON_EMPTY_GROUP']],
      `deleteGroups on a live group (${e1.name}: ${e1.message})`)

    // -- both leave; a third member resumes from the commits
    await c1.stop()
    await c2.stop()
    members.length = 0
    const { groups: [d2] } = await admin.describeGroups([groupId])
    assertEq([d2.state, d2.members.length], ['Empty', 0], 'after both left')
    for (const m of [c1, c2]) assert(!m.crashed, `${m.name} crashed: ${m.crashed}`)
    const second = await produce(topic, 40, 'second')
    const c3 = new Member('c3', groupId, topic)
    members.push(c3)
    await c3.start()
    await waitUntil(() => [...second.keys()].every(k => c3.seen.some(s => key(s) === k)), 30000,
      () => `the third member reads the 40 new records (has ${c3.seen.length})`)
    assertEq(c3.seen.map(key).filter(k => !second.has(k)), [], 'records before the committed offsets read again')
    assertEq(c3.seen.map(key).sort(), [...second.keys()].sort(), 'each new record once')
    assertEq([...c3.assigned].sort(), [0, 1, 2, 3], 'the only member has every partition')
    const ends2 = await highs(admin, topic)
    await waitUntil(async () => JSON.stringify(await committed(admin, groupId, topic)) === JSON.stringify(ends2), 15000,
      'c3 commits what it read')
    await c3.stop()
    members.length = 0

    // -- OffsetCommit from outside the group (generation -1) on the empty group
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '7' }] })
    assertEq(await committed(admin, groupId, topic), { ...ends2, 0: 7 }, 'setOffsets on an empty group')
    // fetchOffsets with no topics: every topic the group has offsets for
    const all = await admin.fetchOffsets({ groupId })
    assertEq(all.map(t => t.topic), [topic], 'fetchOffsets for all topics')

    // -- delete the empty group: its offsets go with it
    assertEq(await admin.deleteGroups([groupId]), [{ groupId, errorCode: 0 }], 'deleteGroups on an empty group')
    assertEq(await committed(admin, groupId, topic), { 0: -1, 1: -1, 2: -1, 3: -1 }, 'offsets of a deleted group')
    assert(!(await admin.listGroups()).groups.some(g => g.groupId === groupId), 'deleted group still listed')
    const e2 = await expectThrow(() => admin.deleteGroups([groupId]), 'deleteGroups on a deleted group')
    assertEq((e2.groups || []).map(g => [g.groupId, g.error && g.error.type]), [[groupId, 'GROUP_ID_NOT_FOUND']],
      `deleteGroups on a deleted group (${e2.name}: ${e2.message})`)
  } finally {
    for (const m of members) await m.stop().catch(() => {})
    await admin.disconnect()
  }
})

// ---------------------------------------------------------------- runner

let passed = 0; let failed = 0
console.log(`kafkajs ${createRequire(import.meta.url)('kafkajs/package.json').version} groups against brookd at ${bootstrap}`)
for (const t of tests) {
  let timer
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS) })
  try {
    await Promise.race([t.fn(), timeout])
    passed++
    console.log(`ok    ${t.name}`)
  } catch (e) {
    failed++
    console.log(`FAIL  ${t.name}\n      ${e.stack || e}`)
  } finally {
    clearTimeout(timer)
  }
}
console.log(`SUMMARY kafkajs groups: ${tests.length} run, ${failed} failed, ${passed} passed`)
process.exit(failed ? 1 : 0)
