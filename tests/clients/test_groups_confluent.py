#!/usr/bin/python3
"""test_groups_confluent.py — confluent-kafka-python consumer groups against brookd.

Design note
-----------
confluent-kafka wraps librdkafka, but drives it through the Python
rebalance callbacks (on_assign / on_revoke / on_lost) a Python application
sees; the three scenarios here are the ones where the coordinator's timing
and bookkeeping decide what the application observes:

  cooperative-sticky   C1 owns all 4 partitions; C2 joins. Incremental
                       rebalance: C1's on_revoke gets exactly the partitions
                       that move to C2 and C1 keeps the rest (never revoked);
                       then every record is read once by the pair, and
                       AdminClient.list_groups shows both members with the
                       assignments (consumer protocol decoded) they hold.
  member SIGKILLed     a consumer in a child process (this file run with
                       --child) commits its partitions up to offset 60, reads
                       on to the end, and is killed by PID with SIGKILL. The
                       survivor must own all partitions within
                       session.timeout.ms + MARGIN_S and read the dead
                       member's partitions from exactly the committed offset
                       (60: nothing committed lost, nothing before it again).
  static membership    two members with group.instance.id; one is closed
                       (librdkafka sends no LeaveGroup for a static member)
                       and a new consumer with the same instance id starts
                       within the session timeout: it gets the same
                       partitions back and the other member sees no
                       rebalance (no on_assign / on_revoke) for a window
                       that outlasts the old member's session. And a second
                       consumer with a LIVE member's instance id: the old one
                       is fenced (FENCED_INSTANCE_ID, fatal in librdkafka),
                       the newcomer takes its partitions, the third member
                       sees no rebalance.

librdkafka runs the group protocol on its own threads, so several consumers
are driven from this one thread by polling each in turn (pump()); the
rebalance callbacks run inside those polls. brookd runs with
group.initial.rebalance.delay.ms=0 and group.min.session.timeout.ms=1000.
Every wait is a poll loop with a deadline; a SIGALRM watchdog bounds the
file. Run with /usr/bin/python3 (Debian's python3-confluent-kafka).
Exit status: 0 pass, 1 fail, 77 skip.
"""

import os
import signal
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brokerproc  # noqa: E402

try:
    import confluent_kafka
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    print("SKIP: confluent-kafka is not importable by %s (%s); install python3-confluent-kafka" % (sys.executable, e))
    sys.exit(brokerproc.SKIP)

WATCHDOG_SECS = 170
T = 20  # seconds for any single future / admin call
NPART = 4
HEARTBEAT_MS = 300
KILL_SESSION_MS = 3000  # session of the member that gets killed
MARGIN_S = 4.0  # takeover bound: its session timeout + this
STATIC_SESSION_MS = 6000
BROKER = None
BROKER_OVERRIDES = {
    "auto.create.topics.enable": "false",
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "5",
}


def admin():
    # log_level 5: not librdkafka's informational notes on destroy
    return AdminClient({"bootstrap.servers": BROKER.bootstrap, "log_level": 5})


def create_topic(topic, partitions):
    a = admin()
    a.create_topics([NewTopic(topic, partitions, 1)], request_timeout=T)[topic].result(timeout=T)


def produce(topic, per_partition, tag):
    """per_partition records on every partition; returns {(partition, offset): value}."""
    acked = {}
    errors = []

    def on_dr(err, msg):
        if err:
            errors.append(err)
        else:
            acked[(msg.partition(), msg.offset())] = msg.value()

    p = Producer({"bootstrap.servers": BROKER.bootstrap, "acks": "all", "linger.ms": 5, "message.timeout.ms": 20000})
    for i in range(per_partition):
        for part in range(NPART):
            p.produce(topic, b"%s-%d-%d" % (tag, part, i), partition=part, on_delivery=on_dr)
    assert p.flush(T) == 0, "records not delivered within %d s" % T
    assert not errors, errors
    return acked


def decode_assignment(buf):
    """Kafka's ConsumerProtocolAssignment (any version: the fields we read
    come first): {topic: [partitions]}."""
    (version,) = struct.unpack_from(">h", buf, 0)
    off = 2
    (ntopics,) = struct.unpack_from(">i", buf, off)
    off += 4
    out = {}
    for _ in range(ntopics):
        (n,) = struct.unpack_from(">h", buf, off)
        off += 2
        topic = buf[off:off + n].decode()
        off += n
        (np_,) = struct.unpack_from(">i", buf, off)
        off += 4
        out[topic] = sorted(struct.unpack_from(">%di" % np_, buf, off))
        off += 4 * np_
    return out


class Member:
    """A subscribed Consumer that records its rebalance callbacks
    (events: [("assign"|"revoke"|"lost", [partitions])]) and the records it
    reads ([(partition, offset, value)])."""

    def __init__(self, name, group, topic, client_id=None, **conf):
        self.name = name
        self.events = []
        self.seen = []
        self.errors = []
        cfg = {
            "bootstrap.servers": BROKER.bootstrap, "group.id": group, "client.id": client_id or name,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000, "heartbeat.interval.ms": HEARTBEAT_MS,
            "fetch.wait.max.ms": 100, "topic.metadata.refresh.interval.ms": 5000,
        }
        cfg.update(conf)
        self.c = Consumer(cfg)
        self.c.subscribe([topic], on_assign=self._cb("assign"), on_revoke=self._cb("revoke"),
                         on_lost=self._cb("lost"))
        self.closed = False

    def _cb(self, kind):
        def cb(consumer, parts):
            self.events.append((kind, sorted(p.partition for p in parts)))
        return cb

    def pump(self, secs=0.05):
        for m in self.c.consume(num_messages=500, timeout=secs):
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    self.errors.append(m.error())
            else:
                self.seen.append((m.partition(), m.offset(), m.value()))

    def assigned(self):
        return frozenset(p.partition for p in self.c.assignment())

    def close(self):
        if not self.closed:
            self.closed = True
            self.c.close()


def pump_until(members, pred, secs, what):
    """Polls every member in turn until pred() holds; fails after secs."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        for m in members:
            m.pump()
        if pred():
            return time.monotonic()
    raise AssertionError("not within %.0f s: %s; events %s"
                         % (secs, what, {m.name: m.events for m in members}))


def split_between(a, b):
    return lambda: (a.assigned() and b.assigned() and not (a.assigned() & b.assigned())
                    and (a.assigned() | b.assigned()) == set(range(NPART)))


class Cooperative(unittest.TestCase):
    def test_incremental_revocation(self):
        topic, group = "ckg-coop", "ckg-coop-group"
        create_topic(topic, NPART)
        conf = {"partition.assignment.strategy": "cooperative-sticky"}
        c1 = Member("ckg-coop-1", group, topic, **conf)
        c2 = None
        try:
            pump_until([c1], lambda: c1.assigned() == set(range(NPART)), 20, "c1 owns every partition")
            self.assertEqual(c1.events, [("assign", [0, 1, 2, 3])])
            before = c1.assigned()

            c2 = Member("ckg-coop-2", group, topic, **conf)
            pump_until([c1, c2], split_between(c1, c2), 30, "c1 and c2 share the partitions")
            moved = c2.assigned()
            kept = c1.assigned()
            self.assertEqual(len(moved), NPART // 2, "sticky balance: each gets half")
            revoked = [p for kind, ps in c1.events if kind == "revoke" for p in ps]
            self.assertEqual(sorted(revoked), sorted(moved),
                             "c1's on_revoke gets exactly the partitions that moved (incremental)")
            self.assertEqual(kept, before - moved, "c1 keeps the rest without revoking them")
            self.assertFalse([e for e in c1.events if e[0] == "lost"], "nothing lost")
            # incremental on_assign: after the first, c1 is only told about additions (none)
            self.assertEqual([ps for kind, ps in c1.events[1:] if kind == "assign" and ps], [],
                             "c1 assigned nothing new: %s" % c1.events)
            self.assertEqual(sorted(p for kind, ps in c2.events if kind == "assign" for p in ps), sorted(moved))
            self.assertFalse([e for e in c2.events if e[0] != "assign"], c2.events)

            # each record exactly once, each member from its own partitions
            print("    c1 %s, c2 %s" % (c1.events, c2.events))
            produced = produce(topic, 50, b"coop")
            pump_until([c1, c2], lambda: len(c1.seen) + len(c2.seen) >= len(produced), 30,
                       "the pair reads all %d records" % len(produced))
            got = [(p, o) for m in (c1, c2) for p, o, _ in m.seen]
            self.assertEqual(sorted(got), sorted(produced), "every record exactly once")
            self.assertTrue({p for p, _, _ in c1.seen} <= kept and {p for p, _, _ in c2.seen} <= moved)
            self.assertEqual(c1.errors + c2.errors, [])

            # AdminClient.list_groups: the group, both members, their assignments
            a = admin()
            (gm,) = a.list_groups(group, timeout=T)
            self.assertIsNone(gm.error)
            self.assertEqual((gm.id, gm.state, gm.protocol_type, gm.protocol),
                             (group, "Stable", "consumer", "cooperative-sticky"))
            self.assertEqual(sorted(m.client_id for m in gm.members), [c1.name, c2.name])
            for m in gm.members:
                self.assertTrue(m.id.startswith(m.client_id + "-"), "member id %s from client id" % m.id)
                owner = c1 if m.client_id == c1.name else c2
                self.assertEqual(decode_assignment(m.assignment), {topic: sorted(owner.assigned())},
                                 "assignment of %s as the coordinator holds it" % owner.name)
            self.assertIn(group, [g.id for g in a.list_groups(timeout=T)], "list_groups() without a name")
        finally:
            for m in (c1, c2):
                if m:
                    m.close()


CHILD_COMMIT_UPTO = 60
CHILD_MAX_SECS = 90
CHILDREN = []  # live child Popen objects, for the watchdog
PER_PARTITION = 100


def child_main(bootstrap, group, topic):
    """--child: a group member that commits each record below
    CHILD_COMMIT_UPTO synchronously and only reads the ones after, printing
    ASSIGNED / COMMITTED p next / SEEN p off. Runs until killed (or its
    parent is gone, or CHILD_MAX_SECS)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": "ckg-doomed",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "partition.assignment.strategy": "range",
                  "session.timeout.ms": KILL_SESSION_MS, "heartbeat.interval.ms": HEARTBEAT_MS,
                  "fetch.wait.max.ms": 100})

    def on_assign(consumer, parts):
        print("ASSIGNED %s" % ",".join(str(p.partition) for p in parts), flush=True)

    c.subscribe([topic], on_assign=on_assign)
    parent = os.getppid()
    give_up = time.monotonic() + CHILD_MAX_SECS
    # bounded even if nobody kills it: the parent gone, or CHILD_MAX_SECS
    while os.getppid() == parent and time.monotonic() < give_up:
        m = c.poll(0.1)
        if m is None or m.error():
            continue
        if m.offset() < CHILD_COMMIT_UPTO:
            c.commit(message=m, asynchronous=False)
            print("COMMITTED %d %d" % (m.partition(), m.offset() + 1), flush=True)
        else:
            print("SEEN %d %d" % (m.partition(), m.offset()), flush=True)


class Child:
    """The child process and what it printed (read by a thread)."""

    def __init__(self, group, topic):
        self.proc = subprocess.Popen([sys.executable, "-u", os.path.abspath(__file__), "--child",
                                      BROKER.bootstrap, group, topic],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self.lock = threading.Lock()
        self.assigned = None
        self.committed = {}
        self.seen = {}
        CHILDREN.append(self.proc)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            w = line.split()
            with self.lock:
                if w[0] == "ASSIGNED":
                    self.assigned = frozenset(int(x) for x in w[1].split(",")) if len(w) > 1 else frozenset()
                elif w[0] == "COMMITTED":
                    self.committed[int(w[1])] = int(w[2])
                elif w[0] == "SEEN":
                    self.seen[int(w[1])] = max(self.seen.get(int(w[1]), -1), int(w[2]))

    def state(self):
        with self.lock:
            return self.assigned, dict(self.committed), dict(self.seen)

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.reader.join(10)
        if self.proc in CHILDREN:
            CHILDREN.remove(self.proc)


class KilledMember(unittest.TestCase):
    def test_sigkill_takeover_from_committed(self):
        topic, group = "ckg-kill", "ckg-kill-group"
        create_topic(topic, NPART)
        s = Member("ckg-survivor", group, topic, **{"partition.assignment.strategy": "range"})
        child = None
        try:
            pump_until([s], lambda: s.assigned() == set(range(NPART)), 20, "survivor owns every partition")
            child = Child(group, topic)
            pump_until([s], lambda: child.state()[0] and s.assigned() and not (child.state()[0] & s.assigned())
                       and (child.state()[0] | s.assigned()) == set(range(NPART)), 30,
                       "survivor and child share the partitions (child %s)" % (child.state(),))
            theirs = child.state()[0]
            mine = s.assigned()
            produced = produce(topic, PER_PARTITION, b"kill")
            # the child commits up to 60 and reads to the end; the survivor reads its own share
            pump_until([s], lambda: all(child.state()[2].get(p) == PER_PARTITION - 1 for p in theirs)
                       and len(s.seen) >= PER_PARTITION * len(mine), 30,
                       "child read its partitions to the end (%s)" % (child.state(),))
            self.assertEqual(child.state()[1], {p: CHILD_COMMIT_UPTO for p in theirs}, "child's commits")
            # the survivor commits its own progress, so that after the
            # (eager) rebalance it resumes its own partitions at the end too
            s.c.commit(asynchronous=False)
            seen_before = len(s.seen)
            child.kill()
            t_kill = time.monotonic()
            # what the dead member committed is what the coordinator has
            committed = s.c.committed([TopicPartition(topic, p) for p in sorted(theirs)], timeout=T)
            self.assertEqual({tp.partition: tp.offset for tp in committed}, {p: CHILD_COMMIT_UPTO for p in theirs},
                             "committed offsets of the killed member")
            t_took = pump_until([s], lambda: s.assigned() == set(range(NPART)),
                                KILL_SESSION_MS / 1000 + MARGIN_S + 10,
                                "survivor takes over the dead member's partitions")
            took = t_took - t_kill
            print("    takeover %.2f s after SIGKILL (session.timeout.ms=%d)" % (took, KILL_SESSION_MS))
            self.assertLessEqual(took, KILL_SESSION_MS / 1000 + MARGIN_S,
                                 "takeover within session.timeout.ms + %.0f s" % MARGIN_S)
            self.assertGreater(took, KILL_SESSION_MS / 1000 * 0.5,
                               "a member is not dropped long before its session runs out")
            want = {(p, o) for p in theirs for o in range(CHILD_COMMIT_UPTO, PER_PARTITION)}
            pump_until([s], lambda: want <= {(p, o) for p, o, _ in s.seen[seen_before:]}, 20,
                       "survivor reads the dead member's partitions from the committed offset")
            after = [(p, o) for p, o, _ in s.seen[seen_before:]]
            self.assertEqual(sorted(after), sorted(want),
                             "from exactly the committed offset to the end, once each")
            for p, o, v in s.seen:
                self.assertEqual(produced[(p, o)], v)
            self.assertEqual(s.errors, [])
        finally:
            if child:
                child.kill()
            s.close()


class StaticMembership(unittest.TestCase):
    def test_restart_without_rebalance(self):
        topic, group = "ckg-static", "ckg-static-group"
        create_topic(topic, NPART)
        conf = {"partition.assignment.strategy": "range", "session.timeout.ms": STATIC_SESSION_MS}
        m1 = Member("ckg-static-1", group, topic, **{"group.instance.id": "inst-1"}, **conf)
        m2 = Member("ckg-static-2", group, topic, **{"group.instance.id": "inst-2"}, **conf)
        m1b = None
        try:
            pump_until([m1, m2], split_between(m1, m2), 30, "two static members share the partitions")
            a = admin()
            (gm,) = a.list_groups(group, timeout=T)
            self.assertEqual((gm.state, len(gm.members)), ("Stable", 2))
            ids_before = sorted(m.id for m in gm.members)
            self.assertTrue(all(i.startswith("inst-") for i in ids_before), "static member ids: %s" % ids_before)
            old = m1.assigned()
            m2_events = len(m2.events)
            m2_assigned = m2.assigned()

            m1.close()  # a static member: no LeaveGroup
            t_close = time.monotonic()
            # the same instance restarted: same instance id, same client id
            m1b = Member("ckg-static-1b", group, topic, client_id="ckg-static-1", **{"group.instance.id": "inst-1"},
                         **conf)
            t_back = pump_until([m1b, m2], lambda: m1b.assigned(), STATIC_SESSION_MS / 1000,
                                "restarted static member is assigned within the session timeout")
            self.assertEqual(m1b.assigned(), old, "the same partitions come back")
            self.assertEqual(m1b.events, [("assign", sorted(old))])
            print("    static member back %.2f s after close" % (t_back - t_close))
            # Watch the other member until after the old session would have
            # expired: a coordinator that kept the old member id would drop it
            # then and rebalance.
            deadline = t_close + STATIC_SESSION_MS / 1000 + 2.0
            while time.monotonic() < deadline:
                m2.pump()
                m1b.pump()
                self.assertEqual(m2.events[m2_events:], [], "the other member saw a rebalance")
            self.assertEqual(m2.assigned(), m2_assigned)
            self.assertEqual(m1b.events, [("assign", sorted(old))], "restarted member: one assignment only")
            (gm,) = a.list_groups(group, timeout=T)
            self.assertEqual((gm.state, len(gm.members)), ("Stable", 2))
            ids_after = sorted(m.id for m in gm.members)
            self.assertEqual(len(set(ids_after) & set(ids_before)), 1, "one member id replaced: %s -> %s"
                             % (ids_before, ids_after))
            self.assertEqual(sorted(m.client_id for m in gm.members), ["ckg-static-1", "ckg-static-2"])
            for m in gm.members:
                owner = m1b if m.id.startswith("inst-1-") else m2
                self.assertEqual(decode_assignment(m.assignment), {topic: sorted(owner.assigned())})
            # and the group still works: records reach the two members once each
            produced = produce(topic, 20, b"static")
            pump_until([m1b, m2], lambda: len(m1b.seen) + len(m2.seen) >= len(produced), 20, "all records read")
            self.assertEqual(sorted((p, o) for m in (m1b, m2) for p, o, _ in m.seen), sorted(produced))
        finally:
            for m in (m1, m2, m1b):
                if m:
                    m.close()

    def test_duplicate_instance_id_fences_the_old_member(self):
        """A second consumer with a live member's group.instance.id takes its
        place: the coordinator answers the old member FENCED_INSTANCE_ID
        (KIP-345; librdkafka raises it as a fatal error), the newcomer gets
        the old member's partitions, and the third member sees no rebalance."""
        topic, group = "ckg-fence", "ckg-fence-group"
        create_topic(topic, NPART)
        conf = {"partition.assignment.strategy": "range", "session.timeout.ms": STATIC_SESSION_MS}
        old = Member("ckg-fence-old", group, topic, **{"group.instance.id": "fence-1"}, **conf)
        other = Member("ckg-fence-other", group, topic, **{"group.instance.id": "fence-2"}, **conf)
        new = None
        try:
            pump_until([old, other], split_between(old, other), 30, "two static members share the partitions")
            theirs = old.assigned()
            other_events = len(other.events)
            new = Member("ckg-fence-new", group, topic, **{"group.instance.id": "fence-1"}, **conf)

            def fenced():
                return any(e.code() in (KafkaError._FATAL, KafkaError.FENCED_INSTANCE_ID) for e in old.errors)

            # the old member learns it at its next heartbeat
            pump_until([old, other, new], lambda: new.assigned() and fenced(), 10,
                       "newcomer assigned and the old member fenced")
            self.assertEqual(new.assigned(), theirs, "the newcomer takes the fenced member's partitions")
            # librdkafka's text for FENCED_INSTANCE_ID, wrapped in its _FATAL error
            self.assertIn("Static consumer fenced", " ".join(str(e) for e in old.errors), old.errors)
            self.assertEqual(other.events[other_events:], [], "the third member saw a rebalance")
        finally:
            for m in (old, other, new):
                if m:
                    m.close()


def main():
    global BROKER
    if sys.argv[1:2] == ["--child"]:
        child_main(*sys.argv[2:5])
        return 0
    try:
        BROKER = brokerproc.BrokerProc(BROKER_OVERRIDES).start()
    except brokerproc.BrokerUnavailable as e:
        print("SKIP: %s" % e)
        return brokerproc.SKIP

    def watchdog(sig, frame):
        sys.stderr.write("watchdog: test file exceeded %d s; stopping brookd pid %s\n" % (WATCHDOG_SECS, BROKER.pid))
        for p in CHILDREN:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
        BROKER.cleanup()
        os._exit(1)

    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(WATCHDOG_SECS)
    print("confluent-kafka %s (librdkafka %s) groups against brookd at %s (pid %d)"
          % (confluent_kafka.version()[0], confluent_kafka.libversion()[0], BROKER.bootstrap, BROKER.pid))
    names = sys.argv[1:]  # e.g. StaticMembership.test_restart_without_rebalance
    loader = unittest.defaultTestLoader
    suite = loader.loadTestsFromNames(names, sys.modules[__name__]) if names else loader.loadTestsFromModule(
        sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    signal.alarm(0)
    return brokerproc.finish(BROKER, res, "confluent-kafka groups")


if __name__ == "__main__":
    sys.exit(main())
