#!/usr/bin/python3
"""test_groups_kafka_python.py — kafka-python 2.0.2 consumer groups against brookd.

Design note
-----------
kafka-python has its own group client (JoinGroup/SyncGroup/Heartbeat/
LeaveGroup, its own range and roundrobin assignors run by the elected
leader, its own OffsetCommit/OffsetFetch) and its own KafkaAdminClient
(ListGroups, DescribeGroups, OffsetFetch with all partitions, DeleteGroups),
so it checks brookd's group coordinator with an encoder/decoder that shares
nothing with librdkafka.

Lifecycle of one scenario (test_range / test_roundrobin), each on its own
4-partition topic and group:

    A, B join --(both assigned, disjoint, covering)--> produce N
      --> A+B consume: union == produced, intersection empty
      --> commit (A with per-partition metadata strings, B plain)
      --> admin: list / describe (Stable, 2 members, decoded assignment) /
          offsets == end offsets / delete -> NON_EMPTY_GROUP
      --> A, B close (LeaveGroup) --> produce M more
      --> C joins: reads exactly the M new records, from the committed offsets
      --> C closes --> describe: Empty --> delete -> ok --> offsets gone,
          group not listed, describe -> Dead; delete again -> GROUP_ID_NOT_FOUND

Also: test_protocol_both_support (members with different assignor lists:
the coordinator picks the one protocol all support) and LeaveGroupOrder
(raw frames on one connection: the last member's LeaveGroup leaves the group
Empty for the very next request, as in Kafka).

A kafka-python member only rejoins a rebalance from its own poll(), so each
consumer runs in its own thread (Member) that polls in a loop and executes
the calls the test hands it (commit, committed) between polls: a consumer
object is only ever touched by its thread.

brookd runs with group.initial.rebalance.delay.ms=0 and
group.min.session.timeout.ms=1000 so joins are quick; every wait is a poll
with a deadline, and a SIGALRM watchdog bounds the whole file.
Run with /usr/bin/python3 (Debian's python3-kafka).
Exit status: 0 pass, 1 fail, 77 skip (no brookd, or no kafka-python).
"""

import concurrent.futures
import os
import queue
import signal
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brokerproc  # noqa: E402

try:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata
    from kafka import errors as kerr
    from kafka.structs import OffsetAndMetadata
    from kafka.protocol.admin import DescribeGroupsRequest
    from kafka.protocol.api import RequestHeader
    from kafka.protocol.group import JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest
except ImportError as e:
    print("SKIP: kafka-python is not importable by %s (%s); install python3-kafka" % (sys.executable, e))
    sys.exit(brokerproc.SKIP)

WATCHDOG_SECS = 150
REQ_TIMEOUT_MS = 15000
SESSION_MS = 6000
HEARTBEAT_MS = 500
NPART = 4
BROKER = None
BROKER_OVERRIDES = {
    "auto.create.topics.enable": "false",
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "5",
}


def wait_until(pred, secs, what):
    """Polls pred every 50 ms until it is true; fails naming `what` after secs."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    if not pred():
        raise AssertionError("not within %.0f s: %s" % (secs, what))


def admin():
    return KafkaAdminClient(bootstrap_servers=BROKER.bootstrap, client_id="kpg-admin",
                            request_timeout_ms=REQ_TIMEOUT_MS)


def create_topic(topic, partitions):
    a = admin()
    try:
        resp = a.create_topics([NewTopic(topic, partitions, 1)], timeout_ms=REQ_TIMEOUT_MS)
        for t in resp.topic_errors:
            assert t[1] == 0, "create_topics %r" % (t,)
    finally:
        a.close()


def produce(topic, n, tag):
    """n records round-robin over the partitions; returns {(partition, offset): value}."""
    p = KafkaProducer(bootstrap_servers=BROKER.bootstrap, acks="all", linger_ms=5,
                      request_timeout_ms=REQ_TIMEOUT_MS)
    try:
        futs = [(p.send(topic, value=b"%s-%d" % (tag, i), partition=i % NPART), b"%s-%d" % (tag, i))
                for i in range(n)]
        p.flush(timeout=30)
        return {(f.get(timeout=30).partition, f.get(timeout=30).offset): v for f, v in futs}
    finally:
        p.close(timeout=10)


def end_offsets(topic):
    c = KafkaConsumer(bootstrap_servers=BROKER.bootstrap, group_id=None, request_timeout_ms=REQ_TIMEOUT_MS + 1000)
    try:
        got = c.end_offsets([TopicPartition(topic, p) for p in range(NPART)])
        return {tp.partition: off for tp, off in got.items()}
    finally:
        c.close()


class Member(threading.Thread):
    """One KafkaConsumer subscribed to `topic` in `group`, polled by its own
    thread. Records every (partition, offset, value) it receives and its
    current assignment; call(fn) runs fn(consumer) on this thread between
    two polls and returns its result."""

    def __init__(self, name, group, topic, **cfg):
        super().__init__(name=name, daemon=True)
        self.topic = topic
        self.consumer = KafkaConsumer(
            bootstrap_servers=BROKER.bootstrap, group_id=group, client_id=name,
            enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=SESSION_MS, heartbeat_interval_ms=HEARTBEAT_MS,
            max_poll_interval_ms=30000,
            request_timeout_ms=REQ_TIMEOUT_MS + 16000,  # kafka-python: must exceed session & max_poll
            fetch_max_wait_ms=100, **cfg)
        self.lock = threading.Lock()
        self.seen = []  # (partition, offset, value) in arrival order
        self.assigned = frozenset()
        self.error = None
        self.calls = queue.Queue()
        self.stopping = threading.Event()

    def run(self):
        c = self.consumer
        try:
            c.subscribe([self.topic])
            while not self.stopping.is_set():
                while True:
                    try:
                        fn, fut = self.calls.get_nowait()
                    except queue.Empty:
                        break
                    try:
                        fut.set_result(fn(c))
                    except BaseException as e:  # handed back to the caller
                        fut.set_exception(e)
                recs = c.poll(timeout_ms=100)
                with self.lock:
                    for tp, rs in recs.items():
                        self.seen.extend((r.partition, r.offset, r.value) for r in rs)
                    self.assigned = frozenset(tp.partition for tp in c.assignment())
        except Exception as e:
            self.error = e
        finally:
            c.close(autocommit=False)  # sends LeaveGroup

    def call(self, fn, secs=30):
        fut = concurrent.futures.Future()
        self.calls.put((fn, fut))
        return fut.result(timeout=secs)

    def snapshot(self):
        with self.lock:
            return self.assigned, list(self.seen)

    def stop(self, secs=30):
        self.stopping.set()
        self.join(secs)
        assert not self.is_alive(), "%s did not close within %d s" % (self.name, secs)
        assert self.error is None, "%s failed: %r" % (self.name, self.error)


class Groups(unittest.TestCase):
    def _scenario(self, name, assignor_cfg, protocol, expected_pairs):
        topic, group = "kpg-%s" % name, "kpg-group-%s" % name
        create_topic(topic, NPART)
        a = Member("kpg-%s-a" % name, group, topic, **assignor_cfg)
        b = Member("kpg-%s-b" % name, group, topic, **assignor_cfg)
        members = [a, b]
        adm = admin()
        try:
            a.start()
            b.start()

            def split():
                sa, sb = a.snapshot()[0], b.snapshot()[0]
                return sa and sb and not (sa & sb) and (sa | sb) == set(range(NPART))

            wait_until(split, 30, "two members share the %d partitions (a=%s b=%s)"
                       % (NPART, sorted(a.snapshot()[0]), sorted(b.snapshot()[0])))
            for m in members:
                self.assertIsNone(m.error, m.name)
            # the broker chose the protocol both asked for, and the leader ran that assignor
            self.assertEqual({a.snapshot()[0], b.snapshot()[0]}, set(map(frozenset, expected_pairs)),
                             "%s assignment of %d partitions to 2 members" % (protocol, NPART))

            # -- every record exactly once across the group
            produced = produce(topic, 200, b"first")
            self.assertEqual(len(produced), 200)

            def seen_pairs():
                return [(p, o) for m in members for (p, o, _) in m.snapshot()[1]]

            wait_until(lambda: len(set(seen_pairs())) >= len(produced), 30,
                       "the group consumes all %d records" % len(produced))
            sa, seen_a = a.snapshot()
            sb, seen_b = b.snapshot()
            pa = [(p, o) for (p, o, _) in seen_a]
            pb = [(p, o) for (p, o, _) in seen_b]
            self.assertEqual(len(pa), len(set(pa)), "a received a record twice")
            self.assertEqual(len(pb), len(set(pb)), "b received a record twice")
            self.assertEqual(set(pa) & set(pb), set(), "records received by both members")
            self.assertEqual(set(pa) | set(pb), set(produced), "union of what the members received")
            for (p, o, v) in seen_a + seen_b:
                self.assertEqual(produced[(p, o)], v, "value at %d/%d" % (p, o))
            self.assertTrue({p for p, _ in pa} <= sa and {p for p, _ in pb} <= sb,
                            "each member reads only its own partitions")

            # -- commit: a with metadata strings, b with plain positions
            ends = end_offsets(topic)
            self.assertEqual(sum(ends.values()), len(produced))
            a.call(lambda c: c.commit({TopicPartition(topic, p): OffsetAndMetadata(ends[p], "a-meta-%d" % p)
                                       for p in sa}))
            b.call(lambda c: c.commit())
            for m, mine in ((a, sa), (b, sb)):
                got = m.call(lambda c: {p: c.committed(TopicPartition(topic, p)) for p in range(NPART)})
                self.assertEqual(got, ends, "%s: committed() for every partition of the group" % m.name)
            offs = adm.list_consumer_group_offsets(group)
            self.assertEqual({tp.partition: om.offset for tp, om in offs.items() if tp.topic == topic}, ends,
                             "admin list_consumer_group_offsets")
            self.assertEqual({tp.partition: om.metadata for tp, om in offs.items()},
                             {p: ("a-meta-%d" % p if p in sa else "") for p in range(NPART)},
                             "committed metadata strings kept")

            # -- admin view of the live group
            self.assertIn((group, "consumer"), adm.list_consumer_groups(), "list_consumer_groups")
            (desc,) = adm.describe_consumer_groups([group])
            self.assertEqual((desc.error_code, desc.group, desc.state, desc.protocol_type, desc.protocol),
                             (0, group, "Stable", "consumer", protocol), "describe_consumer_groups")
            self.assertEqual(sorted(mi.client_id for mi in desc.members), [a.name, b.name])
            for mi in desc.members:
                mine = a if mi.client_id == a.name else b
                self.assertTrue(mi.member_id, "member id assigned by the coordinator")
                self.assertTrue(mi.client_host, "client host filled in by the coordinator")
                self.assertIsInstance(mi.member_metadata, ConsumerProtocolMemberMetadata)
                self.assertEqual(list(mi.member_metadata.subscription), [topic], "decoded subscription")
                self.assertIsInstance(mi.member_assignment, ConsumerProtocolMemberAssignment)
                self.assertEqual(sorted(tp.partition for tp in mi.member_assignment.partitions()
                                        if tp.topic == topic),
                                 sorted(mine.snapshot()[0]), "decoded assignment of %s" % mine.name)
            (res,) = adm.delete_consumer_groups([group])
            self.assertEqual(res, (group, kerr.NonEmptyGroupError), "delete_consumer_groups on a live group")

            # -- a third member after both left resumes from the commits
            a.stop()
            b.stop()
            members = []
            # Kafka empties the group while answering the last LeaveGroup: no wait
            (desc,) = adm.describe_consumer_groups([group])
            self.assertEqual((desc.state, len(desc.members)), ("Empty", 0), "after both LeaveGroup")
            second = produce(topic, 40, b"second")
            self.assertTrue(all(o >= ends[p] for p, o in second))
            c = Member("kpg-%s-c" % name, group, topic, **assignor_cfg)
            members = [c]
            c.start()
            wait_until(lambda: set(second) <= {(p, o) for p, o, _ in c.snapshot()[1]}, 30,
                       "the third member reads the %d new records" % len(second))
            sc, seen_c = c.snapshot()
            self.assertEqual(sc, set(range(NPART)), "the only member has every partition")
            self.assertEqual([(p, o) for p, o, _ in seen_c if (p, o) not in second], [],
                             "records before the committed offsets read again")
            self.assertEqual(sorted((p, o) for p, o, _ in seen_c), sorted(second), "each new record once")
            self.assertEqual(c.call(lambda k: {p: k.committed(TopicPartition(topic, p)) for p in range(NPART)}),
                             ends, "committed() as seen by the new member")
            c.stop()
            members = []

            # -- delete the empty group: offsets go with it
            (desc,) = adm.describe_consumer_groups([group])
            self.assertEqual((desc.state, len(desc.members)), ("Empty", 0))
            (res,) = adm.delete_consumer_groups([group])
            self.assertEqual(res, (group, kerr.NoError), "delete_consumer_groups on an empty group")
            self.assertNotIn(group, [g for g, _ in adm.list_consumer_groups()], "deleted group still listed")
            self.assertEqual(adm.list_consumer_group_offsets(group), {}, "offsets of a deleted group")
            self.assertEqual(adm.list_consumer_group_offsets(group, partitions=[TopicPartition(topic, 0)]),
                             {TopicPartition(topic, 0): OffsetAndMetadata(-1, "")},
                             "asked-for partition of a deleted group: -1")
            (desc,) = adm.describe_consumer_groups([group])
            self.assertEqual((desc.error_code, desc.state, desc.members), (0, "Dead", []),
                             "describe an unknown group: Kafka answers state Dead, no error")
            (res,) = adm.delete_consumer_groups([group])
            self.assertEqual(res, (group, kerr.GroupIdNotFoundError), "delete a group that does not exist")
        finally:
            for m in members:
                if m.is_alive():
                    m.stopping.set()
                    m.join(30)
            adm.close()

    def test_range(self):
        # kafka-python's default strategies are (range, roundrobin): range is the first choice
        self._scenario("range", {}, "range", [{0, 1}, {2, 3}])

    def test_roundrobin(self):
        self._scenario("roundrobin", {"partition_assignment_strategy": [RoundRobinPartitionAssignor]},
                       "roundrobin", [{0, 2}, {1, 3}])

    def test_protocol_both_support(self):
        """One member prefers roundrobin, the other accepts range and
        roundrobin: the coordinator must pick the one protocol both support."""
        topic, group = "kpg-mixed", "kpg-group-mixed"
        create_topic(topic, NPART)
        a = Member("kpg-mixed-a", group, topic, partition_assignment_strategy=[RoundRobinPartitionAssignor])
        b = Member("kpg-mixed-b", group, topic,
                   partition_assignment_strategy=[RangePartitionAssignor, RoundRobinPartitionAssignor])
        adm = admin()
        try:
            a.start()
            b.start()
            wait_until(lambda: a.snapshot()[0] and b.snapshot()[0]
                       and len(a.snapshot()[0]) + len(b.snapshot()[0]) == NPART
                       and not (a.snapshot()[0] & b.snapshot()[0]), 30, "two members share the partitions")
            (desc,) = adm.describe_consumer_groups([group])
            self.assertEqual((desc.state, desc.protocol, len(desc.members)), ("Stable", "roundrobin", 2))
            self.assertEqual({a.snapshot()[0], b.snapshot()[0]}, {frozenset({0, 2}), frozenset({1, 3})})
        finally:
            for m in (a, b):
                m.stop()
            adm.close()


class LeaveGroupOrder(unittest.TestCase):
    """Requests on one connection are answered in order, each seeing the
    effects of the ones before. Raw frames (kafka-python's protocol structs
    over a socket) make the order exact: no client timing involved."""

    def _conn(self):
        s = socket.create_connection(("127.0.0.1", BROKER.port), timeout=15)
        self.addCleanup(s.close)
        return s

    @staticmethod
    def _frame(req, corr):
        hdr = RequestHeader(req, corr, "kpg-raw")  # kept alive: kafka-python's encode() is a weak method
        body = hdr.encode() + req.encode()
        return struct.pack(">i", len(body)) + body

    @staticmethod
    def _recv(s, req):
        def exactly(n):
            buf = b""
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    raise AssertionError("connection closed by brookd")
                buf += chunk
            return buf
        (n,) = struct.unpack(">i", exactly(4))
        return req.RESPONSE_TYPE.decode(exactly(n)[4:])  # after the correlation id

    def test_last_leave_empties_group_at_once(self):
        """The only member of a Stable group leaves: Kafka's prepareRebalance
        completes the join at once (all zero members have joined), so the
        group is Empty before the LeaveGroup answer goes out. A DescribeGroups
        pipelined behind the LeaveGroup must see Empty; so must an admin
        that acts right after the consumer closed (kafkajs setOffsets refuses
        a group that is not Empty, DeleteGroups answers NON_EMPTY_GROUP)."""
        group = "kpg-raw-leave"
        s = self._conn()
        meta = b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # consumer protocol v0: no topics, no user data
        join = JoinGroupRequest[0](group, 6000, "", "consumer", [("range", meta)])
        s.sendall(self._frame(join, 1))
        j = self._recv(s, join)
        self.assertEqual(j.error_code, 0, j)
        sync = SyncGroupRequest[0](group, j.generation_id, j.member_id, [(j.member_id, b"")])
        s.sendall(self._frame(sync, 2))
        self.assertEqual(self._recv(s, sync).error_code, 0)
        desc = DescribeGroupsRequest[0]([group])
        s.sendall(self._frame(desc, 3))
        self.assertEqual(self._recv(s, desc).groups[0][2], "Stable")
        leave = LeaveGroupRequest[0](group, j.member_id)
        s.sendall(self._frame(leave, 4) + self._frame(desc, 5))  # one write: served back to back
        self.assertEqual(self._recv(s, leave).error_code, 0)
        g = self._recv(s, desc).groups[0]
        self.assertEqual((g[2], g[5]), ("Empty", []),
                         "DescribeGroups right behind the last member's LeaveGroup (Kafka: Empty)")


def main():
    global BROKER
    try:
        BROKER = brokerproc.BrokerProc(BROKER_OVERRIDES).start()
    except brokerproc.BrokerUnavailable as e:
        print("SKIP: %s" % e)
        return brokerproc.SKIP

    def watchdog(sig, frame):
        sys.stderr.write("watchdog: test file exceeded %d s; stopping brookd pid %s\n" % (WATCHDOG_SECS, BROKER.pid))
        BROKER.cleanup()
        os._exit(1)

    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(WATCHDOG_SECS)
    print("kafka-python groups against brookd at %s (pid %d)" % (BROKER.bootstrap, BROKER.pid))
    # test names on the command line (e.g. Groups.test_range) run just those
    names = sys.argv[1:]
    loader = unittest.defaultTestLoader
    suite = loader.loadTestsFromNames(names, sys.modules[__name__]) if names else loader.loadTestsFromModule(
        sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    signal.alarm(0)
    return brokerproc.finish(BROKER, res, "kafka-python groups")


if __name__ == "__main__":
    sys.exit(main())
