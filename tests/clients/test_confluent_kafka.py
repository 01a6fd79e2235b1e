#!/usr/bin/python3
"""test_confluent_kafka.py — confluent-kafka-python's AdminClient against brookd.

Design note
-----------
confluent-kafka-python wraps librdkafka, so the wire encoding is the one the
C tests already use; what this file adds is the Admin API surface
(futures per topic/resource, ConfigEntry sources, non-incremental
AlterConfigs semantics) and the metadata view (ClusterMetadata) a Python
user sees. Expectations are Kafka's behaviour:

  create_topics (with configs)  -> topic exists with N partitions, configs
                                   visible as DYNAMIC_TOPIC_CONFIG
  create again                  -> TOPIC_ALREADY_EXISTS
  create_partitions 3 -> 5      -> 5 partitions; 5 -> 2: INVALID_PARTITIONS
  describe_configs              -> every topic config, set ones not default
  alter_configs (non-incremental) -> named configs set, every other dynamic
                                   topic config back to its default
  delete_topics                 -> gone from list_topics; again:
                                   UNKNOWN_TOPIC_OR_PARTITION
  list_topics                   -> one broker at 127.0.0.1:<port>, it is the
                                   controller, leader/replicas/isrs = [it]

Also the watermark and offsets_for_times queries of the Consumer class
(no subscribe, so no group coordinator is needed), and a kill -9 of a
second brookd in the middle of an acks=all stream: nothing acknowledged
may be lost.

brookd runs with auto.create.topics.enable=false here.
Run with /usr/bin/python3 (python3-confluent-kafka is a Debian package).
Bounds: request/operation timeouts on every call, result(timeout=...) on
every future, and a SIGALRM watchdog for the whole file.
Exit status: 0 pass, 1 fail, 77 skip.
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brokerproc  # noqa: E402

try:
    import confluent_kafka
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic
except ImportError as e:
    print("SKIP: confluent-kafka is not importable by %s (%s); install python3-confluent-kafka" % (sys.executable, e))
    sys.exit(brokerproc.SKIP)

WATCHDOG_SECS = 180
T = 20  # seconds for any single future
BROKER = None


def admin():
    return AdminClient({"bootstrap.servers": BROKER.bootstrap, "client.id": "ck-admin", "socket.timeout.ms": 10000})


def result(fut):
    return fut.result(timeout=T)


def err_code(exc):
    """The KafkaError code carried by a failed admin future's exception."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0].code()
    return None


def topic_configs(a, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    fs = a.describe_configs([res], request_timeout=T)
    (f,) = fs.values()
    return result(f)


def source(entry):
    """ConfigEntry.source as an int (an int or a ConfigSource depending on
    how the entry was built)."""
    return int(getattr(entry.source, "value", entry.source))


def wait_for(pred, secs=15, step=0.2):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


class AdminTopics(unittest.TestCase):
    def test_lifecycle(self):
        a = admin()
        topic = "ck-lifecycle"
        fs = a.create_topics(
            [NewTopic(topic, num_partitions=3, replication_factor=1,
                      config={"retention.ms": "3600000", "cleanup.policy": "compact"})],
            operation_timeout=10, request_timeout=T,
        )
        self.assertIsNone(result(fs[topic]))

        md = a.list_topics(topic=topic, timeout=T)
        self.assertIn(topic, md.topics)
        tmd = md.topics[topic]
        self.assertIsNone(tmd.error)
        self.assertEqual(sorted(tmd.partitions), [0, 1, 2])

        # duplicate
        fs = a.create_topics([NewTopic(topic, 3, 1)], request_timeout=T)
        with self.assertRaises(KafkaException) as cm:
            result(fs[topic])
        self.assertEqual(err_code(cm.exception), KafkaError.TOPIC_ALREADY_EXISTS, str(cm.exception))

        # configs as created
        cfg = topic_configs(a, topic)
        self.assertEqual(cfg["retention.ms"].value, "3600000")
        self.assertEqual(cfg["cleanup.policy"].value, "compact")
        self.assertEqual(source(cfg["retention.ms"]), ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
        self.assertFalse(cfg["retention.ms"].is_default)
        self.assertIn("segment.bytes", cfg, "unset configs are described too")
        self.assertTrue(cfg["segment.bytes"].is_default or
                        source(cfg["segment.bytes"]) != ConfigSource.DYNAMIC_TOPIC_CONFIG.value)

        # AlterConfigs replaces the whole set of dynamic topic configs
        fs = a.alter_configs([ConfigResource(ConfigResource.Type.TOPIC, topic,
                                             set_config={"retention.ms": "7200000"})], request_timeout=T)
        for f in fs.values():
            self.assertIsNone(result(f))
        cfg = topic_configs(a, topic)
        self.assertEqual(cfg["retention.ms"].value, "7200000")
        self.assertEqual(cfg["cleanup.policy"].value, "delete",
                         "non-incremental AlterConfigs must reset cleanup.policy to its default")

        # partitions 3 -> 5, then an invalid decrease
        fs = a.create_partitions([NewPartitions(topic, 5)], operation_timeout=10, request_timeout=T)
        self.assertIsNone(result(fs[topic]))
        self.assertTrue(wait_for(lambda: len(a.list_topics(topic=topic, timeout=T).topics[topic].partitions) == 5),
                        "5 partitions after create_partitions")
        fs = a.create_partitions([NewPartitions(topic, 2)], request_timeout=T)
        with self.assertRaises(KafkaException) as cm:
            result(fs[topic])
        self.assertEqual(err_code(cm.exception), KafkaError.INVALID_PARTITIONS, str(cm.exception))

        # delete
        fs = a.delete_topics([topic], operation_timeout=10, request_timeout=T)
        self.assertIsNone(result(fs[topic]))
        self.assertTrue(wait_for(lambda: topic not in a.list_topics(timeout=T).topics), "topic gone after delete")
        fs = a.delete_topics([topic], request_timeout=T)
        with self.assertRaises(KafkaException) as cm:
            result(fs[topic])
        self.assertEqual(err_code(cm.exception), KafkaError.UNKNOWN_TOPIC_OR_PART, str(cm.exception))

    def test_create_several_and_invalid(self):
        a = admin()
        fs = a.create_topics([NewTopic("ck-multi-a", 1, 1), NewTopic("ck-multi-b", 2, 1),
                              NewTopic("ck-bad-rf", 1, 3)], request_timeout=T)
        self.assertIsNone(result(fs["ck-multi-a"]))
        self.assertIsNone(result(fs["ck-multi-b"]))
        with self.assertRaises(KafkaException) as cm:
            result(fs["ck-bad-rf"])
        self.assertEqual(err_code(cm.exception), KafkaError.INVALID_REPLICATION_FACTOR,
                         "replication factor 3 on a 1-broker cluster: %s" % cm.exception)
        with self.assertRaises(KafkaException) as cm:
            result(a.create_topics([NewTopic("bad/name", 1, 1)], request_timeout=T)["bad/name"])
        self.assertEqual(err_code(cm.exception), KafkaError.TOPIC_EXCEPTION, "invalid topic name: %s" % cm.exception)

    def test_validation(self):
        a = admin()

        def err(fs, key):
            with self.assertRaises(KafkaException) as cm:
                result(fs[key])
            return err_code(cm.exception), str(cm.exception)

        code, msg = err(a.create_topics([NewTopic("ck-badcfg", 1, 1, config={"no.such.config": "1"})],
                                        request_timeout=T), "ck-badcfg")
        self.assertEqual(code, KafkaError.INVALID_CONFIG, msg)
        code, msg = err(a.create_topics([NewTopic("ck-badval", 1, 1, config={"retention.ms": "abc"})],
                                        request_timeout=T), "ck-badval")
        self.assertEqual(code, KafkaError.INVALID_CONFIG, msg)

        # validate_only: answered as if created, but nothing is created
        self.assertIsNone(result(a.create_topics([NewTopic("ck-validate", 1, 1)], validate_only=True,
                                                 request_timeout=T)["ck-validate"]))
        self.assertNotIn("ck-validate", a.list_topics(timeout=T).topics)

        # names: 249 characters is the limit; "." / ".." are illegal; '.'
        # and '_' collide (Kafka's metric names)
        self.assertIsNone(result(a.create_topics([NewTopic("n" * 249, 1, 1)], request_timeout=T)["n" * 249]))
        code, msg = err(a.create_topics([NewTopic("m" * 250, 1, 1)], request_timeout=T), "m" * 250)
        self.assertEqual(code, KafkaError.TOPIC_EXCEPTION, msg)
        code, msg = err(a.create_topics([NewTopic("..", 1, 1)], request_timeout=T), "..")
        self.assertEqual(code, KafkaError.TOPIC_EXCEPTION, msg)
        self.assertIsNone(result(a.create_topics([NewTopic("ck.dot", 1, 1)], request_timeout=T)["ck.dot"]))
        code, msg = err(a.create_topics([NewTopic("ck_dot", 1, 1)], request_timeout=T), "ck_dot")
        self.assertEqual(code, KafkaError.TOPIC_EXCEPTION, msg)

        # num_partitions -1: the broker's num.partitions (KIP-464)
        self.assertIsNone(result(a.create_topics([NewTopic("ck-default-parts", -1, 1)],
                                                 request_timeout=T)["ck-default-parts"]))
        self.assertEqual(len(a.list_topics(topic="ck-default-parts", timeout=T).topics["ck-default-parts"].partitions), 1)

        # AlterConfigs validation
        res = ConfigResource(ConfigResource.Type.TOPIC, "ck.dot", set_config={"retention.ms": "x"})
        code, msg = err(a.alter_configs([res], request_timeout=T), res)
        self.assertEqual(code, KafkaError.INVALID_CONFIG, msg)
        res = ConfigResource(ConfigResource.Type.TOPIC, "ck-nope", set_config={"retention.ms": "1"})
        code, msg = err(a.alter_configs([res], request_timeout=T), res)
        self.assertEqual(code, KafkaError.UNKNOWN_TOPIC_OR_PART, msg)
        code, msg = err(a.create_partitions([NewPartitions("ck-nope", 3)], request_timeout=T), "ck-nope")
        self.assertEqual(code, KafkaError.UNKNOWN_TOPIC_OR_PART, msg)

    def test_recreate_after_delete(self):
        a = admin()
        topic = "ck-recreate"
        result(a.create_topics([NewTopic(topic, 1, 1)], request_timeout=T)[topic])
        p = Producer({"bootstrap.servers": BROKER.bootstrap, "message.timeout.ms": 20000})
        for i in range(5):
            p.produce(topic, b"old-%d" % i, partition=0)
        self.assertEqual(p.flush(T), 0)
        result(a.delete_topics([topic], request_timeout=T)[topic])
        self.assertTrue(wait_for(lambda: topic not in a.list_topics(timeout=T).topics))
        result(a.create_topics([NewTopic(topic, 2, 1)], request_timeout=T)[topic])
        c = Consumer({"bootstrap.servers": BROKER.bootstrap, "group.id": "ck-unused", "enable.auto.commit": False})
        try:
            self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=T), (0, 0),
                             "a re-created topic starts empty")
            self.assertEqual(c.offsets_for_times([TopicPartition(topic, 0, 1000)], timeout=T)[0].offset, -1)
        finally:
            c.close()

    def test_describe_unknown_topic(self):
        a = admin()
        fs = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "ck-no-such-topic")], request_timeout=T)
        (f,) = fs.values()
        with self.assertRaises(KafkaException) as cm:
            result(f)
        self.assertEqual(err_code(cm.exception), KafkaError.UNKNOWN_TOPIC_OR_PART, str(cm.exception))


class Metadata(unittest.TestCase):
    def test_list_topics(self):
        a = admin()
        topic = "ck-metadata"
        result(a.create_topics([NewTopic(topic, 4, 1)], request_timeout=T)[topic])
        md = a.list_topics(timeout=T)
        self.assertEqual(len(md.brokers), 1, md.brokers)
        (b,) = md.brokers.values()
        self.assertEqual((b.host, b.port), ("127.0.0.1", BROKER.port))
        self.assertEqual(md.controller_id, b.id)
        self.assertTrue(md.cluster_id, "cluster id is set")
        t = md.topics[topic]
        self.assertEqual(sorted(t.partitions), [0, 1, 2, 3])
        for p in t.partitions.values():
            self.assertIsNone(p.error)
            self.assertEqual(p.leader, b.id)
            self.assertEqual(list(p.replicas), [b.id])
            self.assertEqual(list(p.isrs), [b.id])
        # a topic that does not exist: this file's brookd runs with
        # auto.create.topics.enable=false, so the answer must be
        # UNKNOWN_TOPIC_OR_PART whatever the request's allow_auto_topic_creation
        md = a.list_topics(topic="ck-not-there", timeout=T)
        self.assertIn("ck-not-there", md.topics)
        self.assertIsNotNone(md.topics["ck-not-there"].error)
        self.assertEqual(md.topics["ck-not-there"].error.code(), KafkaError.UNKNOWN_TOPIC_OR_PART)

    def test_broker_configs(self):
        a = admin()
        md = a.list_topics(timeout=T)
        (bid,) = md.brokers.keys()
        fs = a.describe_configs([ConfigResource(ConfigResource.Type.BROKER, str(bid))], request_timeout=T)
        (f,) = fs.values()
        cfg = result(f)
        self.assertEqual(cfg["num.partitions"].value, "1")
        self.assertIn("log.dirs", cfg)


class Offsets(unittest.TestCase):
    def test_watermarks_and_times(self):
        a = admin()
        topic = "ck-offsets"
        result(a.create_topics([NewTopic(topic, 1, 1)], request_timeout=T)[topic])
        ts0 = int(time.time() * 1000) - 100000
        errors = []
        p = Producer({"bootstrap.servers": BROKER.bootstrap, "linger.ms": 0, "acks": "all",
                      "message.timeout.ms": 20000})
        for i in range(10):
            p.produce(topic, value=b"%d" % i, partition=0, timestamp=ts0 + 1000 * i,
                      headers=[("i", b"%d" % i)], on_delivery=lambda e, m: e and errors.append(e))
            p.flush(T)  # one batch per record
        self.assertEqual(p.flush(T), 0, "all delivered")
        self.assertEqual(errors, [])
        c = Consumer({"bootstrap.servers": BROKER.bootstrap, "group.id": "ck-offsets-unused",
                      "enable.auto.commit": False})
        try:
            self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=T), (0, 10))
            got = c.offsets_for_times([TopicPartition(topic, 0, ts0 + 3500)], timeout=T)
            self.assertEqual(got[0].offset, 4)
            got = c.offsets_for_times([TopicPartition(topic, 0, ts0 + 999999)], timeout=T)
            self.assertEqual(got[0].offset, -1, "past the last timestamp: -1 (end)")
        finally:
            c.close()


class CrashDuringProduce(unittest.TestCase):
    """kill -9 while a producer is mid-stream (a broker of its own): every
    record acknowledged before the kill is there after restart, at its
    acknowledged offset and with its value; the log reads back without
    gaps; producing goes on from the new end. (A process crash keeps the
    page cache, so this holds whatever the fsync policy.)"""

    def test_kill9_mid_stream(self):
        own = brokerproc.BrokerProc({"auto.create.topics.enable": "false"}).start()
        try:
            topic = "ck-crash"
            # log_level 0: their connection errors after the kill are expected
            a = AdminClient({"bootstrap.servers": own.bootstrap, "log_level": 0})
            result(a.create_topics([NewTopic(topic, 2, 1)], request_timeout=T)[topic])
            acked = {}  # (partition, offset) -> value

            def on_dr(err, msg):
                if err is None:
                    acked[(msg.partition(), msg.offset())] = msg.value()

            p = Producer({"bootstrap.servers": own.bootstrap, "acks": "all", "linger.ms": 2,
                          "message.timeout.ms": 3000, "retries": 0, "enable.idempotence": False,
                          "log_level": 0})
            i = 0
            t_kill = time.monotonic() + 1.0
            while time.monotonic() < t_kill:
                try:
                    p.produce(topic, b"rec-%08d-" % i + b"p" * 200, partition=i % 2, on_delivery=on_dr)
                    i += 1
                except BufferError:
                    pass
                p.poll(0)
            own.kill9()
            p.purge()  # whatever was not acknowledged by now never will be
            p.flush(10)
            self.assertGreater(len(acked), 1000, "the producer got going before the kill")
            own.start()
            c = Consumer({"bootstrap.servers": own.bootstrap, "group.id": "ck-crash-unused",
                          "enable.auto.commit": False, "enable.partition.eof": True})
            try:
                stored = {}
                for part in (0, 1):
                    lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=T)
                    self.assertEqual(lo, 0)
                    c.assign([TopicPartition(topic, part, 0)])
                    deadline = time.monotonic() + 30
                    n = 0
                    while n < hi and time.monotonic() < deadline:
                        m = c.poll(0.5)
                        if m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF):
                            continue
                        self.assertIsNone(m.error(), str(m.error()))
                        self.assertEqual(m.offset(), n, "partition %d reads back without gaps" % part)
                        stored[(part, n)] = m.value()
                        n += 1
                    self.assertEqual(n, hi, "partition %d: read %d of %d" % (part, n, hi))
                missing = [k for k in acked if stored.get(k) != acked[k]]
                self.assertEqual(missing[:5], [], "%d acknowledged records lost or changed" % len(missing))
            finally:
                c.close()
            # producing continues at the end of the recovered log
            p2 = Producer({"bootstrap.servers": own.bootstrap, "acks": "all"})
            got = []
            p2.produce(topic, b"after", partition=0, on_delivery=lambda e, m: got.append((e, m.offset())))
            p2.flush(T)
            self.assertEqual(len(got), 1)
            self.assertIsNone(got[0][0])
            self.assertEqual(got[0][1], sum(1 for (pp, _) in stored if pp == 0))
        finally:
            own.cleanup()


def main():
    global BROKER
    try:
        # no auto-creation: every topic here is made through the Admin API
        BROKER = brokerproc.BrokerProc({"auto.create.topics.enable": "false"}).start()
    except brokerproc.BrokerUnavailable as e:
        print("SKIP: %s" % e)
        return brokerproc.SKIP

    def watchdog(sig, frame):
        sys.stderr.write("watchdog: test file exceeded %d s; stopping brookd pid %s\n" % (WATCHDOG_SECS, BROKER.pid))
        BROKER.cleanup()
        os._exit(1)

    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(WATCHDOG_SECS)
    print("confluent-kafka %s (librdkafka %s) against brookd at %s (pid %d)"
          % (confluent_kafka.version()[0], confluent_kafka.libversion()[0], BROKER.bootstrap, BROKER.pid))
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    signal.alarm(0)
    return brokerproc.finish(BROKER, res, "confluent-kafka")


if __name__ == "__main__":
    sys.exit(main())
