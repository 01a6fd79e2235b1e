#!/usr/bin/python3
"""test_admin_confluent.py — topic administration and configuration APIs of a
real brookd: confluent-kafka's AdminClient, plus a small raw-protocol client
for the versions no installed client speaks.

Design note
-----------
librdkafka 2.0 (python3-confluent-kafka 1.7) speaks CreateTopics v4,
DeleteTopics v1, CreatePartitions v1, DescribeConfigs v1 and AlterConfigs v1
and has no IncrementalAlterConfigs; kafka-python is older still. The newest
versions brookd advertises are all *flexible* (compact strings, tagged
fields): CreateTopics v5-7 (effective configs and topic id in the answer),
DeleteTopics v4-6 (by topic id), CreatePartitions v2-3, DescribeConfigs v4
(documentation, config types), AlterConfigs v2, IncrementalAlterConfigs v0-1.
So the second half of this file encodes those requests by hand (RawClient,
about 150 lines, written from Kafka's message definitions) and checks every
field of the answers.

Expectations are Kafka's behaviour, with brookd's single-node rules:
replication factor 1 only, manual assignments must be [node.id], broker
configs are static (readable, not alterable). brookd runs with
log.retention.hours=24 in server.properties so that topic configs show a
STATIC_BROKER_CONFIG source and synonym.

Run with /usr/bin/python3 (python3-confluent-kafka is a Debian package).
Bounds: a timeout on every future and socket read, and a SIGALRM watchdog
for the whole file. Exit status: 0 pass, 1 fail, 77 skip.
"""

import gc
import os
import signal
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brokerproc  # noqa: E402

try:
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic
except ImportError as e:
    print("SKIP: confluent-kafka is not importable by %s (%s); install python3-confluent-kafka" % (sys.executable, e))
    sys.exit(brokerproc.SKIP)

WATCHDOG_SECS = 180
T = 20
BROKER = None

# Kafka error codes used below
NONE, UNKNOWN_TOPIC, INVALID_TOPIC, TOPIC_EXISTS, INVALID_PARTITIONS = 0, 3, 17, 36, 37
INVALID_RF, INVALID_ASSIGNMENT, INVALID_CONFIG, INVALID_REQUEST = 38, 39, 40, 42
UNKNOWN_TOPIC_ID = 100
# ConfigSource
DYNAMIC_TOPIC, STATIC_BROKER, DEFAULT = 1, 4, 5


def admin():
    return AdminClient({"bootstrap.servers": BROKER.bootstrap, "client.id": "admin-test", "socket.timeout.ms": 10000})


def outcome(fut):
    """None on success, else (KafkaError code, message)."""
    try:
        fut.result(timeout=T)
        return None
    except KafkaException as e:
        return (e.args[0].code(), e.args[0].str())


def partitions(a, topic):
    md = a.list_topics(topic=topic, timeout=T)
    t = md.topics.get(topic)
    return len(t.partitions) if t is not None and t.error is None else None


# --------------------------------------------------------------- AdminClient


class AdminClientTopics(unittest.TestCase):
    def test_create_validate_only_creates_nothing(self):
        a = admin()
        self.assertIsNone(outcome(a.create_topics([NewTopic("vo-topic", 2, 1)], validate_only=True)["vo-topic"]))
        self.assertIsNone(partitions(a, "vo-topic"))
        err = outcome(a.create_topics([NewTopic("vo-bad", 2, 1, config={"retention.ms": "soon"})],
                                      validate_only=True)["vo-bad"])
        self.assertEqual(err[0], KafkaError.INVALID_CONFIG, err)
        self.assertIn("retention.ms", err[1])

    def test_create_errors(self):
        a = admin()
        fs = a.create_topics([NewTopic("err-rf", 1, 2), NewTopic("err-cfg", 1, 1, config={"no.such.config": "1"}),
                              NewTopic("err-parts", 0, 1), NewTopic("err-ok", 2, 1)])
        self.assertEqual(outcome(fs["err-rf"]),
                         (KafkaError.INVALID_REPLICATION_FACTOR, "Replication factor: 2 larger than available brokers: 1."))
        self.assertEqual(outcome(fs["err-cfg"]), (KafkaError.INVALID_CONFIG, "Unknown topic config name: no.such.config"))
        self.assertEqual(outcome(fs["err-parts"])[0], KafkaError.INVALID_PARTITIONS)
        self.assertIsNone(outcome(fs["err-ok"]))
        self.assertEqual(partitions(a, "err-ok"), 2)
        self.assertIsNone(partitions(a, "err-rf"))
        # '.' and '_' collide (Kafka's metric-name rule)
        self.assertIsNone(outcome(a.create_topics([NewTopic("coll_x", 1, 1)])["coll_x"]))
        err = outcome(a.create_topics([NewTopic("coll.x", 1, 1)])["coll.x"])
        self.assertEqual(err[0], KafkaError.TOPIC_EXCEPTION, err)

    def test_manual_assignment(self):
        a = admin()
        self.assertIsNone(outcome(a.create_topics([NewTopic("assigned", 3, replica_assignment=[[1], [1], [1]])])["assigned"]))
        self.assertEqual(partitions(a, "assigned"), 3)
        err = outcome(a.create_topics([NewTopic("assigned-2", 1, replica_assignment=[[2]])])["assigned-2"])
        self.assertEqual(err[0], KafkaError.INVALID_REPLICA_ASSIGNMENT, err)
        err = outcome(a.create_topics([NewTopic("assigned-3", 1, replica_assignment=[[1, 1]])])["assigned-3"])
        self.assertEqual(err[0], KafkaError.INVALID_REPLICA_ASSIGNMENT, err)

    def test_create_partitions(self):
        a = admin()
        self.assertIsNone(outcome(a.create_topics([NewTopic("cp", 1, 1)])["cp"]))
        self.assertIsNone(outcome(a.create_partitions([NewPartitions("cp", 4)], validate_only=True)["cp"]))
        self.assertEqual(partitions(a, "cp"), 1, "validate_only adds nothing")
        self.assertIsNone(outcome(a.create_partitions([NewPartitions("cp", 3, replica_assignment=[[1], [1]])])["cp"]))
        self.assertEqual(partitions(a, "cp"), 3)
        self.assertEqual(outcome(a.create_partitions([NewPartitions("cp", 3)])["cp"]),
                         (KafkaError.INVALID_PARTITIONS, "Topic already has 3 partition(s)."))
        err = outcome(a.create_partitions([NewPartitions("cp", 5, replica_assignment=[[1]])])["cp"])
        self.assertEqual(err[0], KafkaError.INVALID_REPLICA_ASSIGNMENT, err)
        err = outcome(a.create_partitions([NewPartitions("cp", 4, replica_assignment=[[7]])])["cp"])
        self.assertEqual(err[0], KafkaError.INVALID_REPLICA_ASSIGNMENT, err)
        err = outcome(a.create_partitions([NewPartitions("cp-missing", 4)])["cp-missing"])
        self.assertEqual(err[0], KafkaError.UNKNOWN_TOPIC_OR_PART, err)
        self.assertEqual(partitions(a, "cp"), 3)

    def test_delete(self):
        a = admin()
        self.assertIsNone(outcome(a.create_topics([NewTopic("del-a", 2, 1), NewTopic("del-b", 1, 1)])["del-a"]))
        fs = a.delete_topics(["del-a", "del-b", "del-missing"], operation_timeout=10)
        self.assertIsNone(outcome(fs["del-a"]))
        self.assertIsNone(outcome(fs["del-b"]))
        self.assertEqual(outcome(fs["del-missing"])[0], KafkaError.UNKNOWN_TOPIC_OR_PART)
        self.assertIsNone(partitions(a, "del-a"))
        # the name can be used again at once, with a fresh log
        self.assertIsNone(outcome(a.create_topics([NewTopic("del-a", 1, 1)])["del-a"]))
        self.assertEqual(partitions(a, "del-a"), 1)


class AdminClientConfigs(unittest.TestCase):
    def describe(self, a, rtype, name):
        res = ConfigResource(rtype, name)
        return a.describe_configs([res])[res].result(timeout=T)

    def test_topic_sources(self):
        a = admin()
        self.assertIsNone(outcome(a.create_topics([NewTopic("cfg-src", 1, 1, config={"cleanup.policy": "compact"})])["cfg-src"]))
        cfg = self.describe(a, ConfigResource.Type.TOPIC, "cfg-src")
        self.assertEqual((cfg["cleanup.policy"].value, int(cfg["cleanup.policy"].source)), ("compact", DYNAMIC_TOPIC))
        # server.properties has log.retention.hours=24
        self.assertEqual((cfg["retention.ms"].value, int(cfg["retention.ms"].source)), ("86400000", STATIC_BROKER))
        self.assertEqual((cfg["segment.bytes"].value, int(cfg["segment.bytes"].source)), ("1073741824", DEFAULT))
        self.assertFalse(cfg["segment.bytes"].is_read_only)

    def test_broker_describe(self):
        a = admin()
        cfg = self.describe(a, ConfigResource.Type.BROKER, "1")
        self.assertEqual((cfg["log.retention.hours"].value, int(cfg["log.retention.hours"].source)), ("24", STATIC_BROKER))
        self.assertEqual((cfg["num.io.threads"].value, int(cfg["num.io.threads"].source)), ("8", DEFAULT))
        self.assertTrue(cfg["num.partitions"].is_read_only)

    def test_alter_replaces_and_validates(self):
        a = admin()
        self.assertIsNone(outcome(a.create_topics([NewTopic("cfg-alter", 1, 1, config={"cleanup.policy": "compact"})])["cfg-alter"]))
        res = ConfigResource(ConfigResource.Type.TOPIC, "cfg-alter", set_config={"retention.ms": "5000"})
        self.assertIsNone(outcome(a.alter_configs([res], validate_only=True)[res]))
        cfg = self.describe(a, ConfigResource.Type.TOPIC, "cfg-alter")
        self.assertEqual(cfg["retention.ms"].value, "86400000", "validate_only changes nothing")
        self.assertIsNone(outcome(a.alter_configs([res])[res]))
        cfg = self.describe(a, ConfigResource.Type.TOPIC, "cfg-alter")
        self.assertEqual((cfg["retention.ms"].value, int(cfg["retention.ms"].source)), ("5000", DYNAMIC_TOPIC))
        self.assertEqual(cfg["cleanup.policy"].value, "delete", "legacy AlterConfigs replaces the whole set")
        bad = ConfigResource(ConfigResource.Type.TOPIC, "cfg-alter", set_config={"retention.ms": "x"})
        self.assertEqual(outcome(a.alter_configs([bad])[bad])[0], KafkaError.INVALID_CONFIG)
        missing = ConfigResource(ConfigResource.Type.TOPIC, "cfg-missing", set_config={"retention.ms": "1"})
        self.assertEqual(outcome(a.alter_configs([missing])[missing])[0], KafkaError.UNKNOWN_TOPIC_OR_PART)

    def test_alter_broker_refused(self):
        a = admin()
        res = ConfigResource(ConfigResource.Type.BROKER, "1", set_config={"num.partitions": "3"})
        err = outcome(a.alter_configs([res])[res])
        self.assertEqual(err[0], KafkaError.INVALID_REQUEST, err)
        self.assertIn("static", err[1])


# ------------------------------------------------------------ raw protocol


class Wire:
    """Builds one request body; compact=True for flexible versions."""

    def __init__(self, compact):
        self.c = compact
        self.b = bytearray()

    def i8(self, v): self.b += struct.pack(">b", v); return self
    def i16(self, v): self.b += struct.pack(">h", v); return self
    def i32(self, v): self.b += struct.pack(">i", v); return self
    def boolean(self, v): return self.i8(1 if v else 0)
    def uuid(self, v): self.b += v; return self

    def uvarint(self, v):
        while v >= 0x80:
            self.b.append((v & 0x7F) | 0x80)
            v >>= 7
        self.b.append(v)
        return self

    def string(self, s):
        if s is None:
            return self.uvarint(0) if self.c else self.i16(-1)
        raw = s.encode()
        (self.uvarint(len(raw) + 1) if self.c else self.i16(len(raw)))
        self.b += raw
        return self

    def array(self, items, put):
        if items is None:
            return self.uvarint(0) if self.c else self.i32(-1)
        (self.uvarint(len(items) + 1) if self.c else self.i32(len(items)))
        for it in items:
            put(self, it)
        return self

    def tags(self):
        return self.uvarint(0) if self.c else self


class Reader:
    def __init__(self, data, compact):
        self.d, self.p, self.c = data, 0, compact

    def _take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def i8(self): return self._take(">b")
    def i16(self): return self._take(">h")
    def i32(self): return self._take(">i")
    def boolean(self): return self.i8() != 0

    def uuid(self):
        v = self.d[self.p:self.p + 16]
        self.p += 16
        return bytes(v)

    def uvarint(self):
        v = shift = 0
        while True:
            byte = self.d[self.p]
            self.p += 1
            v |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return v
            shift += 7

    def string(self):
        n = self.uvarint() - 1 if self.c else self.i16()
        if n < 0:
            return None
        s = bytes(self.d[self.p:self.p + n]).decode()
        self.p += n
        return s

    def array(self, get):
        n = self.uvarint() - 1 if self.c else self.i32()
        return None if n < 0 else [get(self) for _ in range(n)]

    def tags(self):
        if self.c:
            for _ in range(self.uvarint()):
                self.uvarint()
                self.p += self.uvarint()


class RawClient:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=T)
        self.corr = 0

    def close(self):
        self.s.close()

    def call(self, key, version, flexible, body):
        """Sends body (a Wire) and returns a Reader positioned at the response body."""
        self.corr += 1
        hdr = Wire(False).i16(key).i16(version).i32(self.corr).string("raw-admin-test")
        if flexible:
            hdr.uvarint(0)
        frame = bytes(hdr.b) + bytes(body.b)
        self.s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", self._recv(4))[0]
        r = Reader(self._recv(size), flexible)
        assert r.i32() == self.corr
        if flexible:
            r.tags()
        return r

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("brookd closed the connection")
            buf += chunk
        return buf

    # ---- requests (field order from Kafka's message definitions)

    def create_topics(self, topics, validate_only=False, v=7):
        """topics: (name, num_partitions, rf, [(partition, [brokers])], {config: value})."""
        flex = v >= 5
        w = Wire(flex)

        def put_topic(w, t):
            name, nparts, rf, assign, cfg = t
            w.string(name).i32(nparts).i16(rf)
            w.array(assign, lambda w, a: w.i32(a[0]).array(a[1], lambda w, x: w.i32(x)).tags())
            w.array(sorted(cfg.items()), lambda w, kv: w.string(kv[0]).string(kv[1]).tags())
            w.tags()

        w.array(topics, put_topic).i32(10000)
        if v >= 1:
            w.boolean(validate_only)
        w.tags()
        r = self.call(19, v, flex, w)
        if v >= 2:
            r.i32()

        def get_topic(r):
            t = {"name": r.string()}
            if v >= 7:
                t["topic_id"] = r.uuid()
            t["error"] = r.i16()
            if v >= 1:
                t["message"] = r.string()
            if v >= 5:
                t["num_partitions"] = r.i32()
                t["replication_factor"] = r.i16()
                t["configs"] = r.array(lambda r: (r.string(), r.string(), r.boolean(), r.i8(), r.boolean(), r.tags())[:5])
            r.tags()
            return t

        out = r.array(get_topic)
        r.tags()
        return out

    def delete_topics(self, names=None, ids=None, v=6):
        flex = v >= 4
        w = Wire(flex)
        if v >= 6:
            items = [(n, b"\0" * 16) for n in (names or [])] + [(None, i) for i in (ids or [])]
            w.array(items, lambda w, it: w.string(it[0]).uuid(it[1]).tags())
        else:
            w.array(names, lambda w, n: w.string(n))
        w.i32(10000).tags()
        r = self.call(20, v, flex, w)
        r.i32()

        def get(r):
            t = {"name": r.string()}
            if v >= 6:
                t["topic_id"] = r.uuid()
            t["error"] = r.i16()
            if v >= 5:
                t["message"] = r.string()
            r.tags()
            return t

        return r.array(get)

    def create_partitions(self, topics, validate_only=False, v=3):
        """topics: (name, count, assignments or None)."""
        flex = v >= 2
        w = Wire(flex)
        w.array(topics, lambda w, t: w.string(t[0]).i32(t[1]).array(
            t[2], lambda w, a: w.array(a, lambda w, x: w.i32(x)).tags()).tags())
        w.i32(10000).boolean(validate_only).tags()
        r = self.call(37, v, flex, w)
        r.i32()
        return r.array(lambda r: (r.string(), r.i16(), r.string(), r.tags())[:3])

    def describe_configs(self, resources, synonyms=True, docs=True, v=4):
        """resources: (type, name, keys or None). Returns a list of dicts."""
        flex = v >= 4
        w = Wire(flex)
        w.array(resources, lambda w, res: w.i8(res[0]).string(res[1]).array(res[2], lambda w, k: w.string(k)).tags())
        if v >= 1:
            w.boolean(synonyms)
        if v >= 3:
            w.boolean(docs)
        w.tags()
        r = self.call(32, v, flex, w)
        r.i32()

        def get_entry(r):
            e = {"name": r.string(), "value": r.string(), "read_only": r.boolean()}
            e["source"] = r.i8()
            e["sensitive"] = r.boolean()
            e["synonyms"] = r.array(lambda r: (r.string(), r.string(), r.i8(), r.tags())[:3])
            if v >= 3:
                e["type"] = r.i8()
                e["doc"] = r.string()
            r.tags()
            return e

        def get_result(r):
            res = {"error": r.i16(), "message": r.string(), "type": r.i8(), "name": r.string()}
            res["configs"] = {e["name"]: e for e in r.array(get_entry)}
            r.tags()
            return res

        return r.array(get_result)

    def alter_configs(self, resources, validate_only=False, incremental=True):
        """resources: (type, name, [(config, op, value)]) — op ignored when not incremental."""
        key, v = (44, 1) if incremental else (33, 2)
        w = Wire(True)

        def put_cfg(w, c):
            w.string(c[0])
            if incremental:
                w.i8(c[1])
            w.string(c[2]).tags()

        w.array(resources, lambda w, res: w.i8(res[0]).string(res[1]).array(res[2], put_cfg).tags())
        w.boolean(validate_only).tags()
        r = self.call(key, v, True, w)
        r.i32()
        return r.array(lambda r: (r.i16(), r.string(), r.i8(), r.string(), r.tags())[:4])


TOPIC, BROKER_RES = 2, 4
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


class RawProtocol(unittest.TestCase):
    def setUp(self):
        self.c = RawClient(BROKER.port)

    def tearDown(self):
        self.c.close()

    def overrides(self, topic):
        (res,) = self.c.describe_configs([(TOPIC, topic, None)], synonyms=False, docs=False)
        return {n: e["value"] for n, e in res["configs"].items() if e["source"] == DYNAMIC_TOPIC}

    def test_create_topics_v7(self):
        (t,) = self.c.create_topics([("raw-create", 3, -1, [], {"retention.ms": "60000"})])
        self.assertEqual((t["error"], t["message"], t["num_partitions"], t["replication_factor"]),
                         (NONE, None, 3, 1))
        self.assertNotEqual(t["topic_id"], b"\0" * 16)
        cfg = {c[0]: c for c in t["configs"]}
        self.assertEqual(cfg["retention.ms"], ("retention.ms", "60000", False, DYNAMIC_TOPIC, False))
        self.assertEqual(cfg["segment.bytes"][1:4], ("1073741824", False, DEFAULT))
        # validate_only answers like a creation (effective configs) but creates nothing
        (t,) = self.c.create_topics([("raw-vo", -1, -1, [], {"cleanup.policy": "compact"})], validate_only=True)
        self.assertEqual((t["error"], t["num_partitions"], t["topic_id"]), (NONE, 1, b"\0" * 16))
        self.assertEqual({c[0]: c[1] for c in t["configs"]}["cleanup.policy"], "compact")
        (t,) = self.c.create_topics([("raw-vo", 1, 1, [], {})], validate_only=True)
        self.assertEqual(t["error"], NONE, "validate_only created nothing")
        # the same name twice: both refused, nothing created
        ts = self.c.create_topics([("raw-dup", 1, 1, [], {}), ("raw-dup", 2, 1, [], {})])
        self.assertEqual([x["error"] for x in ts], [INVALID_REQUEST, INVALID_REQUEST])
        self.assertIn("multiple entries", ts[0]["message"])
        (t,) = self.c.create_topics([("raw-dup", 1, 1, [], {})])
        self.assertEqual(t["error"], NONE)
        # errors: -1 / empty fields, a message
        (t,) = self.c.create_topics([("raw-create", 1, 1, [], {})])
        self.assertEqual((t["error"], t["message"], t["num_partitions"], t["replication_factor"], t["configs"]),
                         (TOPIC_EXISTS, "Topic 'raw-create' already exists.", -1, -1, []))
        (t,) = self.c.create_topics([("raw-nullcfg", 1, 1, [], {"retention.ms": None})])
        self.assertEqual(t["error"], INVALID_CONFIG)
        (t,) = self.c.create_topics([("raw-both", 2, -1, [(0, [1])], {})])
        self.assertEqual(t["error"], INVALID_REQUEST)
        (t,) = self.c.create_topics([("raw-gap", -1, -1, [(0, [1]), (2, [1])], {})])
        self.assertEqual(t["error"], INVALID_ASSIGNMENT)
        (t,) = self.c.create_topics([("raw-assign", -1, -1, [(1, [1]), (0, [1])], {})])
        self.assertEqual((t["error"], t["num_partitions"]), (NONE, 2))
        (t,) = self.c.create_topics([("bad name", 1, 1, [], {})])
        self.assertEqual(t["error"], INVALID_TOPIC)
        # a partition count no single node can hold is refused, not attempted
        (t,) = self.c.create_topics([("raw-huge", 2147483647, 1, [], {})])
        self.assertEqual(t["error"], INVALID_PARTITIONS)
        self.assertIn("limit", t["message"])

    def test_create_topics_old_versions(self):
        (t,) = self.c.create_topics([("raw-v2", 2, 1, [], {})], v=2)
        self.assertEqual((t["error"], t["message"]), (NONE, None))
        (t,) = self.c.create_topics([("raw-v4", 2, 3, [], {})], v=4)
        self.assertEqual(t["error"], INVALID_RF)

    def test_delete_topics_v6_by_id(self):
        (t,) = self.c.create_topics([("raw-del", 1, 1, [], {})])
        tid = t["topic_id"]
        (d,) = self.c.delete_topics(ids=[tid])
        self.assertEqual((d["name"], d["topic_id"], d["error"], d["message"]), ("raw-del", tid, NONE, None))
        (d,) = self.c.delete_topics(ids=[tid])
        self.assertEqual((d["name"], d["error"]), (None, UNKNOWN_TOPIC_ID))
        (d,) = self.c.delete_topics(names=["raw-del"])
        self.assertEqual((d["error"], d["message"]), (UNKNOWN_TOPIC, "The topic 'raw-del' does not exist."))
        (d,) = self.c.delete_topics(ids=[b"\0" * 16])
        self.assertEqual(d["error"], INVALID_REQUEST)
        # one topic named twice (by name and by id): refused, not deleted
        (t,) = self.c.create_topics([("raw-del2", 1, 1, [], {})])
        ds = self.c.delete_topics(names=["raw-del2"], ids=[t["topic_id"]])
        self.assertEqual([d["error"] for d in ds], [INVALID_REQUEST, INVALID_REQUEST])
        ds = self.c.delete_topics(names=["raw-del2", "raw-del2"], v=5)
        self.assertEqual([d["error"] for d in ds], [INVALID_REQUEST, INVALID_REQUEST])
        (d,) = self.c.delete_topics(names=["raw-del2"], v=1)
        self.assertEqual((d["name"], d["error"]), ("raw-del2", NONE))

    def test_create_partitions_v3(self):
        self.c.create_topics([("raw-cp", 1, 1, [], {})])
        self.assertEqual(self.c.create_partitions([("raw-cp", 3, None)]), [("raw-cp", NONE, None)])
        self.assertEqual(self.c.create_partitions([("raw-cp", 2, None)]),
                         [("raw-cp", INVALID_PARTITIONS, "The topic raw-cp currently has 3 partition(s); 2 would not be an increase.")])
        res = self.c.create_partitions([("raw-cp", 4, None), ("raw-cp", 5, None)])
        self.assertEqual([x[1] for x in res], [INVALID_REQUEST, INVALID_REQUEST])
        self.assertEqual(self.c.create_partitions([("raw-cp", 4, [[1]])], validate_only=True)[0][1], NONE)
        self.assertEqual(self.c.create_partitions([("raw-cp", 4, [[]])])[0][1], INVALID_ASSIGNMENT)
        self.assertEqual(self.c.create_partitions([("raw-cp", 2147483647, None)])[0][1], INVALID_PARTITIONS)

    def test_describe_configs_v4(self):
        self.c.create_topics([("raw-desc", 1, 1, [], {"retention.ms": "1000"})])
        (res,) = self.c.describe_configs([(TOPIC, "raw-desc", None)])
        self.assertEqual((res["error"], res["message"], res["type"], res["name"]), (NONE, None, TOPIC, "raw-desc"))
        e = res["configs"]["retention.ms"]
        self.assertEqual((e["value"], e["source"], e["read_only"], e["sensitive"], e["type"]),
                         ("1000", DYNAMIC_TOPIC, False, False, 5))  # 5 = LONG
        # override, then server.properties' log.retention.hours=24, then the default
        self.assertEqual(e["synonyms"], [("retention.ms", "1000", DYNAMIC_TOPIC),
                                         ("log.retention.hours", "24", STATIC_BROKER),
                                         ("log.retention.hours", "168", DEFAULT)])
        self.assertTrue(e["doc"])
        self.assertEqual(res["configs"]["cleanup.policy"]["type"], 7)  # LIST
        # only the keys asked for; unknown keys are simply absent
        (res,) = self.c.describe_configs([(TOPIC, "raw-desc", ["segment.bytes", "nope"])], synonyms=False, docs=False)
        self.assertEqual(list(res["configs"]), ["segment.bytes"])
        self.assertEqual((res["configs"]["segment.bytes"]["synonyms"], res["configs"]["segment.bytes"]["doc"]), ([], None))
        # broker: static, read-only; "" is the (empty) dynamic-default resource
        (res,) = self.c.describe_configs([(BROKER_RES, "1", ["log.retention.hours", "num.partitions"])])
        self.assertEqual(res["error"], NONE)
        e = res["configs"]["log.retention.hours"]
        self.assertEqual((e["value"], e["source"], e["read_only"]), ("24", STATIC_BROKER, True))
        self.assertEqual(e["synonyms"], [("log.retention.hours", "24", STATIC_BROKER),
                                         ("log.retention.hours", "168", DEFAULT)])
        self.assertEqual(res["configs"]["num.partitions"]["source"], STATIC_BROKER)  # brokerproc sets it
        res = self.c.describe_configs([(BROKER_RES, "", None), (BROKER_RES, "7", None), (BROKER_RES, "x", None),
                                       (TOPIC, "raw-missing", None), (99, "a", None)])
        self.assertEqual([(r["error"], len(r["configs"])) for r in res],
                         [(NONE, 0), (INVALID_REQUEST, 0), (INVALID_REQUEST, 0), (UNKNOWN_TOPIC, 0), (INVALID_REQUEST, 0)])
        self.assertTrue(all(r["message"] for r in res[1:]))

    def test_incremental_alter_configs(self):
        self.c.create_topics([("raw-inc", 1, 1, [], {"retention.ms": "1000", "segment.ms": "60000"})])
        res = self.c.alter_configs([(TOPIC, "raw-inc", [("cleanup.policy", APPEND, "compact"),
                                                        ("retention.ms", DELETE, None),
                                                        ("max.message.bytes", SET, "2000")])])
        self.assertEqual(res, [(NONE, None, TOPIC, "raw-inc")])
        self.assertEqual(self.overrides("raw-inc"), {"cleanup.policy": "delete,compact", "segment.ms": "60000",
                                                     "max.message.bytes": "2000"})
        res = self.c.alter_configs([(TOPIC, "raw-inc", [("cleanup.policy", SUBTRACT, "delete")])])
        self.assertEqual(res[0][0], NONE)
        self.assertEqual(self.overrides("raw-inc")["cleanup.policy"], "compact")
        # errors leave everything as it was
        before = self.overrides("raw-inc")
        for changes, code in [([("segment.ms", APPEND, "1")], INVALID_CONFIG),
                              ([("cleanup.policy", SUBTRACT, "compact")], INVALID_CONFIG),  # would be empty
                              ([("no.such", SET, "1")], INVALID_CONFIG),
                              ([("segment.ms", SET, "-5")], INVALID_CONFIG),
                              ([("segment.ms", SET, "1"), ("segment.ms", DELETE, None)], INVALID_REQUEST),
                              ([("segment.ms", SET, None)], INVALID_REQUEST),
                              ([("segment.ms", 9, "1")], INVALID_REQUEST)]:
            (r,) = self.c.alter_configs([(TOPIC, "raw-inc", changes)])
            self.assertEqual(r[0], code, (changes, r))
            self.assertTrue(r[1])
        res = self.c.alter_configs([(TOPIC, "raw-inc", [("segment.ms", SET, "5")])], validate_only=True)
        self.assertEqual(res[0][0], NONE)
        self.assertEqual(self.overrides("raw-inc"), before)
        # broker configs are static; a resource twice is refused
        res = self.c.alter_configs([(BROKER_RES, "1", [("num.partitions", SET, "3")]),
                                    (TOPIC, "raw-missing", [("segment.ms", SET, "5")]),
                                    (TOPIC, "raw-inc", []), (TOPIC, "raw-inc", [])])
        self.assertEqual([r[0] for r in res], [INVALID_REQUEST, UNKNOWN_TOPIC, INVALID_REQUEST, INVALID_REQUEST])

    def test_alter_configs_v2(self):
        self.c.create_topics([("raw-alter", 1, 1, [], {"retention.ms": "1000"})])
        res = self.c.alter_configs([(TOPIC, "raw-alter", [("segment.ms", SET, "60000")])], incremental=False)
        self.assertEqual(res, [(NONE, None, TOPIC, "raw-alter")])
        self.assertEqual(self.overrides("raw-alter"), {"segment.ms": "60000"})
        res = self.c.alter_configs([(TOPIC, "raw-alter", [("segment.ms", SET, None)])], incremental=False)
        self.assertEqual(res[0][0], INVALID_REQUEST)
        res = self.c.alter_configs([(TOPIC, "raw-alter", [])], incremental=False)
        self.assertEqual(res[0][0], NONE)
        self.assertEqual(self.overrides("raw-alter"), {}, "an empty set clears every override")


class Persistence(unittest.TestCase):
    """Administrative changes survive a restart (a second brookd, own log dir)."""

    def test_restart(self):
        other = brokerproc.BrokerProc().start()
        try:
            c = RawClient(other.port)
            (t,) = c.create_topics([("persist", 2, 1, [], {"retention.ms": "1000"})])
            self.assertEqual(t["error"], NONE)
            self.assertEqual(c.create_partitions([("persist", 4, None)])[0][1], NONE)
            self.assertEqual(c.alter_configs([(TOPIC, "persist", [("segment.ms", SET, "60000")])])[0][0], NONE)
            c.create_topics([("persist-gone", 1, 1, [], {})])
            self.assertEqual(c.delete_topics(names=["persist-gone"])[0]["error"], NONE)
            c.close()
            other.restart()
            c = RawClient(other.port)
            try:
                (res,) = c.describe_configs([(TOPIC, "persist", None)], synonyms=False, docs=False)
                self.assertEqual({n: e["value"] for n, e in res["configs"].items() if e["source"] == DYNAMIC_TOPIC},
                                 {"retention.ms": "1000", "segment.ms": "60000"})
                self.assertEqual(c.create_partitions([("persist", 4, None)])[0][2], "Topic already has 4 partition(s).")
                (t2,) = c.create_topics([("persist", 1, 1, [], {})])
                self.assertEqual(t2["error"], TOPIC_EXISTS)
                (d,) = c.delete_topics(ids=[t["topic_id"]])
                self.assertEqual((d["name"], d["error"]), ("persist", NONE), "the topic id survived the restart")
                (res,) = c.describe_configs([(TOPIC, "persist-gone", None)])
                self.assertEqual(res["error"], UNKNOWN_TOPIC)
            finally:
                c.close()
            self.assertEqual(other.stop(), 0)
        finally:
            other.cleanup()


class DeletionDisabled(unittest.TestCase):
    """A second brookd with delete.topic.enable=false."""

    def test_refused_and_kept(self):
        other = brokerproc.BrokerProc({"delete.topic.enable": "false"}).start()
        try:
            c = RawClient(other.port)
            try:
                (t,) = c.create_topics([("kept", 1, 1, [], {})])
                self.assertEqual(t["error"], NONE)
                (d,) = c.delete_topics(names=["kept"], v=6)
                self.assertEqual(d["error"], 73)  # TOPIC_DELETION_DISABLED
                self.assertIn("delete.topic.enable", d["message"])
                (d,) = c.delete_topics(names=["kept"], v=2)
                self.assertEqual(d["error"], INVALID_REQUEST, "clients before v3 do not know TOPIC_DELETION_DISABLED")
                (t,) = c.create_topics([("kept", 1, 1, [], {})])
                self.assertEqual(t["error"], TOPIC_EXISTS, "the topic is still there")
            finally:
                c.close()
            self.assertEqual(other.stop(), 0)
        finally:
            other.cleanup()


def main():
    global BROKER

    def watchdog(signum, frame):
        sys.stderr.write("FAIL: watchdog: %s ran over %d s\n" % (os.path.basename(__file__), WATCHDOG_SECS))
        if BROKER is not None:
            BROKER.cleanup()
        os._exit(1)

    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(WATCHDOG_SECS)
    BROKER = brokerproc.start_or_skip({"log.retention.hours": "24", "auto.create.topics.enable": "false"})
    try:
        prog = unittest.main(exit=False, verbosity=2)
        ok = prog.result.wasSuccessful()
    finally:
        gc.collect()  # closes the AdminClients before their broker goes away
        rc = BROKER.stop()
        if rc != 0:
            sys.stderr.write("FAIL: brookd exited with %s on SIGTERM\n%s\n" % (rc, BROKER.log_tail()))
            ok = False
        if not ok:
            sys.stderr.write("brookd log tail:\n%s\n" % BROKER.log_tail())
        BROKER.cleanup()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
