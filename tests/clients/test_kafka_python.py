#!/usr/bin/python3
"""test_kafka_python.py — kafka-python 2.0.2 (pure Python) against a real brookd.

Design note
-----------
kafka-python shares no code with librdkafka, so it exercises brookd's
protocol handling with a second, independent encoder/decoder: its own
ApiVersions-based version guess, its own RecordBatch writer (v2 with
headers), its own compression and its own admin requests.

Run with Debian's /usr/bin/python3 (python3-kafka is installed only for it).
One brookd serves the whole module (started in main(), stopped by PID at the
end, exit status checked: SIGTERM must give exit 0).

What is checked, each against exact expectations:
  * produce with acks=1 and acks=all, for every codec this interpreter can
    do (none, gzip always; snappy/lz4/zstd only if their Python modules are
    installed, otherwise the test is skipped saying so), then consume back
    without a group (assign + seek) and compare keys, values (including
    empty and null), headers, CreateTime timestamps and offsets;
  * offsets: beginning_offsets / end_offsets / offsets_for_times;
  * admin: create_topics with configs, describe_topics, describe_configs
    (topic and broker), duplicate create -> TOPIC_ALREADY_EXISTS, zero
    partitions -> INVALID_PARTITIONS, delete_topics;
  * idempotence: skipped, kafka-python 2.0.2 has no idempotent producer;
  * edge cases: MESSAGE_TOO_LARGE, LogAppendTime, acks=0, offset out of
    range, a batch larger than the fetch limit (KIP-74), legacy message
    format refused with UNSUPPORTED_VERSION;
  * durability: acks=all records survive a clean restart and a kill -9 of
    a second brookd started on its own log dir (brokerproc restart/kill9);
    small segments, retention.bytes / retention.ms moving the log start.

Bounds: every client call has a request timeout, every loop a deadline, and
a SIGALRM watchdog stops brookd and exits if the whole file overruns.
Exit status: 0 pass, 1 fail, 77 skip (no brookd, or no kafka-python).
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brokerproc  # noqa: E402

try:
    import kafka
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
    from kafka import codec as kcodec
    from kafka import errors as kerr
except ImportError as e:
    print("SKIP: kafka-python is not importable by %s (%s); install python3-kafka" % (sys.executable, e))
    sys.exit(brokerproc.SKIP)

WATCHDOG_SECS = 240
REQ_TIMEOUT_MS = 15000
BROKER = None

# kafka-python's codec name -> module it needs (None: built in)
CODECS = {"none": None, "gzip": None, "snappy": "snappy", "lz4": "lz4", "zstd": "zstandard"}


def codec_available(codec):
    """The same check KafkaProducer asserts on (kafka.codec.has_*)."""
    check = {"snappy": kcodec.has_snappy, "lz4": kcodec.has_lz4, "zstd": kcodec.has_zstd}.get(codec)
    return check is None or check()


def admin():
    return KafkaAdminClient(
        bootstrap_servers=BROKER.bootstrap, client_id="kp-admin", request_timeout_ms=REQ_TIMEOUT_MS
    )


def create_topic(name, partitions=1, configs=None):
    """Creates a topic through CreateTopics and fails the test with the
    broker's answer if it is refused."""
    a = admin()
    try:
        resp = a.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=configs or {})], timeout_ms=REQ_TIMEOUT_MS
        )
    finally:
        a.close()
    return resp


def wait_partitions(consumer, topic, n, secs=15):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        parts = consumer.partitions_for_topic(topic)
        if parts and len(parts) == n:
            return sorted(parts)
        time.sleep(0.1)
    raise AssertionError("topic %s: metadata did not show %d partitions in %d s (got %r)" % (topic, n, secs, parts))


def consumer():
    return KafkaConsumer(
        bootstrap_servers=BROKER.bootstrap,
        client_id="kp-consumer",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=REQ_TIMEOUT_MS + 1000,  # must exceed fetch_max_wait / session
        fetch_max_wait_ms=200,
    )


def consume_all(topic, partition, n, secs=30):
    c = consumer()
    try:
        tp = TopicPartition(topic, partition)
        c.assign([tp])
        c.seek_to_beginning(tp)
        out = []
        deadline = time.monotonic() + secs
        while len(out) < n and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=200).values():
                out.extend(recs)
        return out
    finally:
        c.close()


def make_records(n, ts0):
    """Keys, values (empty, null, small, one 100 KiB), headers (none, one,
    several incl. an empty value) and strictly increasing timestamps."""
    recs = []
    for i in range(n):
        key = None if i % 17 == 5 else b"key-%d" % i
        if i % 13 == 3:
            value = b""
        elif i % 19 == 7:
            value = None  # tombstone
        elif i == n // 2:
            value = bytes(range(256)) * 400  # ~100 KiB
        else:
            value = b"value-%d-" % i + b"x" * (i % 50)
        if i % 3 == 0:
            headers = []
        elif i % 3 == 1:
            headers = [("h", b"v%d" % i)]
        else:
            headers = [("a", b"1"), ("b", b""), ("a", b"dup")]
        recs.append((key, value, headers, ts0 + i * 10))
    return recs


class ProduceConsume(unittest.TestCase):
    N = 300

    def _roundtrip(self, codec, acks):
        if not codec_available(codec):
            self.skipTest("codec %s: Python module %r not installed for %s" % (codec, CODECS[codec], sys.executable))
        topic = "kp-%s-acks%s" % (codec, acks)
        create_topic(topic, 1)
        ts0 = int(time.time() * 1000) - 60000
        recs = make_records(self.N, ts0)
        p = KafkaProducer(
            bootstrap_servers=BROKER.bootstrap,
            client_id="kp-producer",
            acks=acks,
            compression_type=None if codec == "none" else codec,
            linger_ms=5,
            request_timeout_ms=REQ_TIMEOUT_MS,
            max_request_size=1048576,
        )
        try:
            futs = [
                p.send(topic, key=k, value=v, headers=h, partition=0, timestamp_ms=ts) for (k, v, h, ts) in recs
            ]
            p.flush(timeout=30)
            metas = [f.get(timeout=30) for f in futs]
        finally:
            p.close(timeout=10)
        self.assertEqual([m.offset for m in metas], list(range(self.N)), "offsets in produce responses")
        self.assertTrue(all(m.partition == 0 for m in metas))
        got = consume_all(topic, 0, self.N)
        self.assertEqual(len(got), self.N, "consumed %d of %d" % (len(got), self.N))
        for i, (r, (k, v, h, ts)) in enumerate(zip(got, recs)):
            where = "%s record %d" % (topic, i)
            self.assertEqual(r.offset, i, where)
            self.assertEqual(r.key, k, where + " key")
            self.assertEqual(r.value, v, where + " value")
            self.assertEqual(list(r.headers), h, where + " headers")
            self.assertEqual(r.timestamp, ts, where + " timestamp")
            self.assertEqual(r.timestamp_type, 0, where + " timestamp type (0 = CreateTime)")


def _add_roundtrip_tests():
    for codec in CODECS:
        for acks in (1, "all"):
            name = "test_%s_acks_%s" % (codec, acks)
            setattr(ProduceConsume, name, lambda self, c=codec, a=acks: self._roundtrip(c, a))


_add_roundtrip_tests()


class Idempotence(unittest.TestCase):
    def test_idempotent_producer(self):
        self.skipTest("kafka-python 2.0.2 has no idempotent producer (enable_idempotence does not exist)")


class Offsets(unittest.TestCase):
    def test_offsets(self):
        topic = "kp-offsets"
        create_topic(topic, 1)
        ts0 = int(time.time() * 1000) - 100000
        p = KafkaProducer(bootstrap_servers=BROKER.bootstrap, acks="all", request_timeout_ms=REQ_TIMEOUT_MS)
        try:
            # one batch per record (flush after each) so the per-batch index
            # is not the only thing that can answer
            for i in range(10):
                p.send(topic, value=b"%d" % i, partition=0, timestamp_ms=ts0 + 1000 * i).get(timeout=30)
        finally:
            p.close(timeout=10)
        c = consumer()
        try:
            tp = TopicPartition(topic, 0)
            self.assertEqual(c.beginning_offsets([tp]), {tp: 0})
            self.assertEqual(c.end_offsets([tp]), {tp: 10})
            got = c.offsets_for_times({tp: ts0 + 3500})[tp]
            self.assertIsNotNone(got, "offsets_for_times(ts0+3500)")
            self.assertEqual((got.offset, got.timestamp), (4, ts0 + 4000))
            got = c.offsets_for_times({tp: ts0 + 3000})[tp]
            self.assertEqual((got.offset, got.timestamp), (3, ts0 + 3000), "exact timestamp match")
            got = c.offsets_for_times({tp: ts0 - 5000})[tp]
            self.assertEqual((got.offset, got.timestamp), (0, ts0))
            self.assertIsNone(c.offsets_for_times({tp: ts0 + 100000})[tp], "timestamp after the last record")
        finally:
            c.close()

    def test_unknown_topic_offsets(self):
        # beginning_offsets on a topic that does not exist must not hang
        # forever; kafka-python raises once its request times out.
        c = KafkaConsumer(
            bootstrap_servers=BROKER.bootstrap, group_id=None, request_timeout_ms=5000, api_version_auto_timeout_ms=5000
        )
        try:
            tp = TopicPartition("kp-no-such-topic", 0)
            t0 = time.monotonic()
            try:
                c.beginning_offsets([tp])
            except kerr.KafkaError:
                pass
            self.assertLess(time.monotonic() - t0, 60)
        finally:
            c.close()


class Admin(unittest.TestCase):
    def test_create_describe_delete(self):
        topic = "kp-admin-topic"
        configs = {"retention.ms": "3600000", "cleanup.policy": "compact", "max.message.bytes": "200000"}
        resp = create_topic(topic, 3, configs)
        for t in resp.topic_errors:
            self.assertEqual(t[1], 0, "create_topics %r" % (t,))
        a = admin()
        try:
            desc = a.describe_topics([topic])
            self.assertEqual(len(desc), 1)
            self.assertEqual(desc[0]["error_code"], 0, desc)
            self.assertEqual(sorted(p["partition"] for p in desc[0]["partitions"]), [0, 1, 2])
            for p in desc[0]["partitions"]:
                self.assertGreaterEqual(p["leader"], 0, p)
                self.assertEqual(len(p["replicas"]), 1, p)

            res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
            entries = {}
            for r in res:
                for (err, msg, rtype, rname, ents) in r.resources:
                    self.assertEqual(err, 0, "describe_configs: %s" % msg)
                    self.assertEqual(rname, topic)
                    for e in ents:
                        entries[e[0]] = e[1]
            for k, v in configs.items():
                self.assertEqual(entries.get(k), v, "describe_configs %s" % k)
            # a config we did not set comes back with Kafka's default
            self.assertIn("segment.bytes", entries, "describe_configs lists unset topic configs with defaults")

            # only the named keys when asked for some
            res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": None})])
            names = [e[0] for r in res for rr in r.resources for e in rr[4]]
            self.assertEqual(names, ["retention.ms"])

            with self.assertRaises(kerr.TopicAlreadyExistsError):
                a.create_topics([NewTopic(topic, 3, 1)], timeout_ms=REQ_TIMEOUT_MS)
            with self.assertRaises(kerr.InvalidPartitionsError):
                a.create_topics([NewTopic("kp-zero-partitions", 0, 1)], timeout_ms=REQ_TIMEOUT_MS)

            a.delete_topics([topic], timeout_ms=REQ_TIMEOUT_MS)
            deadline = time.monotonic() + 15
            while topic in a.list_topics() and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertNotIn(topic, a.list_topics(), "deleted topic still listed after 15 s")
            with self.assertRaises(kerr.UnknownTopicOrPartitionError):
                a.delete_topics([topic], timeout_ms=REQ_TIMEOUT_MS)
        finally:
            a.close()

    def test_describe_broker_configs(self):
        a = admin()
        try:
            cluster = a.describe_cluster()
            brokers = cluster["brokers"]
            self.assertEqual(len(brokers), 1, cluster)
            node = brokers[0]["node_id"]
            self.assertEqual(brokers[0]["host"], "127.0.0.1")
            self.assertEqual(brokers[0]["port"], BROKER.port)
            self.assertEqual(cluster["controller_id"], node)
            res = a.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(node))])
            entries = {e[0]: e[1] for r in res for rr in r.resources for e in rr[4]}
            for r in res:
                for rr in r.resources:
                    self.assertEqual(rr[0], 0, "describe_configs broker: %s" % rr[1])
            self.assertEqual(entries.get("num.partitions"), "1", "num.partitions as set in server.properties")
        finally:
            a.close()


class EdgeCases(unittest.TestCase):
    """Error answers and size/time semantics a client depends on."""

    def test_message_too_large(self):
        topic = "kp-small-max"
        create_topic(topic, 1, {"max.message.bytes": "200000"})
        p = KafkaProducer(bootstrap_servers=BROKER.bootstrap, max_request_size=2000000, retries=0,
                          request_timeout_ms=REQ_TIMEOUT_MS)
        try:
            with self.assertRaises(kerr.MessageSizeTooLargeError):
                p.send(topic, b"x" * 300000, partition=0).get(timeout=30)
            # the partition still takes what fits
            self.assertEqual(p.send(topic, b"y" * 1000, partition=0).get(timeout=30).offset, 0)
        finally:
            p.close(timeout=10)

    def test_log_append_time(self):
        topic = "kp-logappend"
        create_topic(topic, 1, {"message.timestamp.type": "LogAppendTime"})
        p = KafkaProducer(bootstrap_servers=BROKER.bootstrap, request_timeout_ms=REQ_TIMEOUT_MS)
        t0 = int(time.time() * 1000)
        try:
            meta = p.send(topic, b"v", partition=0, timestamp_ms=1000).get(timeout=30)
        finally:
            p.close(timeout=10)
        t1 = int(time.time() * 1000)
        self.assertTrue(t0 - 1000 <= meta.timestamp <= t1 + 1000,
                        "produce response carries the log append time, got %d" % meta.timestamp)
        (r,) = consume_all(topic, 0, 1)
        self.assertEqual((r.timestamp, r.timestamp_type), (meta.timestamp, 1), "LogAppendTime record")

    def test_acks_0(self):
        topic = "kp-acks0"
        create_topic(topic, 1)
        p = KafkaProducer(bootstrap_servers=BROKER.bootstrap, acks=0)
        try:
            for i in range(200):
                p.send(topic, b"a0-%d" % i, partition=0)
            p.flush(timeout=30)
        finally:
            p.close(timeout=10)
        got = consume_all(topic, 0, 200)
        self.assertEqual([r.value for r in got], [b"a0-%d" % i for i in range(200)])

    def test_offset_out_of_range(self):
        topic = "kp-oor"
        create_topic(topic, 1)
        c = KafkaConsumer(bootstrap_servers=BROKER.bootstrap, group_id=None, auto_offset_reset="none",
                          request_timeout_ms=REQ_TIMEOUT_MS)
        try:
            tp = TopicPartition(topic, 0)
            c.assign([tp])
            c.seek(tp, 1000)
            deadline = time.monotonic() + 15
            with self.assertRaises(kerr.OffsetOutOfRangeError):
                while time.monotonic() < deadline:
                    c.poll(timeout_ms=300)
        finally:
            c.close()

    def test_fetch_limit_smaller_than_batch(self):
        # KIP-74: a fetch returns the first batch whole even when it is
        # larger than max_partition_fetch_bytes, or the consumer would stall.
        topic = "kp-bigbatch"
        create_topic(topic, 1)
        p = KafkaProducer(bootstrap_servers=BROKER.bootstrap, linger_ms=50, batch_size=1000000,
                          max_request_size=2000000, request_timeout_ms=REQ_TIMEOUT_MS)
        try:
            fs = [p.send(topic, bytes([i]) * 20000, partition=0) for i in range(20)]  # ~400 KB, one batch
            p.flush(timeout=30)
            [f.get(timeout=30) for f in fs]
        finally:
            p.close(timeout=10)
        c = KafkaConsumer(bootstrap_servers=BROKER.bootstrap, group_id=None, max_partition_fetch_bytes=1024,
                          fetch_max_bytes=1024, request_timeout_ms=REQ_TIMEOUT_MS)
        try:
            tp = TopicPartition(topic, 0)
            c.assign([tp])
            c.seek(tp, 0)
            got = []
            deadline = time.monotonic() + 20
            while len(got) < 20 and time.monotonic() < deadline:
                for recs in c.poll(timeout_ms=300).values():
                    got.extend(recs)
            self.assertEqual([r.value[:1] for r in got], [bytes([i]) for i in range(20)])
        finally:
            c.close()

    def test_legacy_message_format_refused_cleanly(self):
        # brookd serves RecordBatch v2 only (as Kafka 4 does). A client
        # forced to an old protocol (Produce v2, MessageSet magic 1) must get
        # UNSUPPORTED_VERSION, and the broker must go on serving others.
        topic = "kp-legacy"
        create_topic(topic, 1)
        p = KafkaProducer(bootstrap_servers=BROKER.bootstrap, api_version=(0, 10, 1), retries=0,
                          request_timeout_ms=5000)
        try:
            with self.assertRaises(kerr.UnsupportedVersionError):
                p.send(topic, b"old", partition=0).get(timeout=30)
        finally:
            p.close(timeout=10)
        p = KafkaProducer(bootstrap_servers=BROKER.bootstrap, request_timeout_ms=REQ_TIMEOUT_MS)
        try:
            self.assertEqual(p.send(topic, b"new", partition=0).get(timeout=30).offset, 0)
        finally:
            p.close(timeout=10)


class Restart(unittest.TestCase):
    """Durability as a client sees it, on a broker of its own: records
    acknowledged with acks=all are still there, with the same offsets, keys,
    values, headers and timestamps, after a clean restart and after kill -9
    (same log dir; the port changes)."""

    def test_restart_and_kill9(self):
        global BROKER
        own = brokerproc.BrokerProc().start()
        main_broker, BROKER = BROKER, own  # helpers talk to BROKER
        try:
            topic = "kp-durable"
            create_topic(topic, 1)
            ts0 = int(time.time() * 1000) - 60000
            recs = make_records(100, ts0)

            def send(batch):
                p = KafkaProducer(bootstrap_servers=own.bootstrap, acks="all", compression_type="gzip",
                                  request_timeout_ms=REQ_TIMEOUT_MS)
                try:
                    fs = [p.send(topic, key=k, value=v, headers=h, partition=0, timestamp_ms=ts) for (k, v, h, ts) in batch]
                    return [f.get(timeout=30).offset for f in fs]
                finally:
                    p.close(timeout=10)

            def check(n, when):
                got = consume_all(topic, 0, n)
                self.assertEqual(len(got), n, "%s: %d of %d records" % (when, len(got), n))
                for i, (r, (k, v, h, ts)) in enumerate(zip(got, recs)):
                    self.assertEqual((r.offset, r.key, r.value, list(r.headers), r.timestamp), (i, k, v, h, ts),
                                     "%s: record %d" % (when, i))

            self.assertEqual(send(recs[:50]), list(range(50)))
            own.restart()
            check(50, "after clean restart")
            self.assertEqual(send(recs[50:]), list(range(50, 100)), "offsets continue after restart")
            own.kill9()
            own.start()
            check(100, "after kill -9")
            c = consumer()
            try:
                tp = TopicPartition(topic, 0)
                self.assertEqual(c.end_offsets([tp]), {tp: 100}, "end offset after kill -9")
            finally:
                c.close()
        finally:
            BROKER = main_broker
            own.cleanup()


class Segments(unittest.TestCase):
    """Many small segments, kill -9, then size- and time-based retention as a
    client sees them (beginning_offsets moves, reads start there), on a
    broker of its own that checks retention every 500 ms."""

    def test_segments_and_retention(self):
        global BROKER
        own = brokerproc.BrokerProc({"log.retention.check.interval.ms": "500"}).start()
        main_broker, BROKER = BROKER, own
        try:
            topic = "kp-segments"
            create_topic(topic, 1, {"segment.bytes": "16384"})
            p = KafkaProducer(bootstrap_servers=own.bootstrap, acks="all", linger_ms=0,
                              request_timeout_ms=REQ_TIMEOUT_MS)
            try:
                for i in range(1000):
                    p.send(topic, b"%05d" % i + b"z" * 95, partition=0)
                    if i % 10 == 9:
                        p.flush(timeout=30)  # ~100 batches of 10 records
            finally:
                p.close(timeout=10)
            logs = [f for f in os.listdir(os.path.join(own.logdir, topic + "-0")) if f.endswith(".log")]
            self.assertGreater(len(logs), 5, "segment.bytes=16384 must roll segments (got %s)" % logs)

            own.kill9()
            own.start()
            got = consume_all(topic, 0, 1000)
            self.assertEqual([r.value[:5] for r in got], [b"%05d" % i for i in range(1000)], "all records after kill -9")

            tp = TopicPartition(topic, 0)

            def offsets():
                c = consumer()
                try:
                    return c.beginning_offsets([tp])[tp], c.end_offsets([tp])[tp]
                finally:
                    c.close()

            def wait_start(pred, what):
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    lo, hi = offsets()
                    if pred(lo, hi):
                        return lo, hi
                    time.sleep(0.3)
                self.fail("%s: offsets still %r after 15 s" % (what, offsets()))

            a = admin()
            try:
                a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                {"segment.bytes": "16384", "retention.bytes": "40000"})])
                lo, hi = wait_start(lambda lo, hi: lo > 0, "retention.bytes=40000")
                self.assertEqual(hi, 1000)
                self.assertLess(lo, 1000 - 300, "retention.bytes keeps at least 40000 bytes (~390 records)")
                got = consume_all(topic, 0, hi - lo)
                self.assertEqual(got[0].offset, lo, "reading from the beginning starts at the new log start")
                self.assertEqual(len(got), hi - lo)

                a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                {"segment.bytes": "16384", "retention.ms": "1000"})])
                wait_start(lambda lo, hi: lo == hi == 1000, "retention.ms=1000 (every record expired)")
            finally:
                a.close()
            own.restart()
            self.assertEqual(offsets(), (1000, 1000), "log start offset survives a restart")
        finally:
            BROKER = main_broker
            own.cleanup()


def main():
    global BROKER
    try:
        BROKER = brokerproc.BrokerProc().start()
    except brokerproc.BrokerUnavailable as e:
        print("SKIP: %s" % e)
        return brokerproc.SKIP

    def watchdog(sig, frame):
        sys.stderr.write("watchdog: test file exceeded %d s; stopping brookd pid %s\n" % (WATCHDOG_SECS, BROKER.pid))
        BROKER.cleanup()
        os._exit(1)

    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(WATCHDOG_SECS)
    print("kafka-python %s against brookd at %s (pid %d)" % (kafka.__version__, BROKER.bootstrap, BROKER.pid))
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    signal.alarm(0)
    return brokerproc.finish(BROKER, result, "kafka-python")


if __name__ == "__main__":
    sys.exit(main())
