#!/usr/bin/python3
"""test_kcat.py — the kcat command-line tool against a real brookd.

Design note
-----------
kcat is what people type first at a new broker, so its four modes are
driven exactly as a user would, through the binary, and their printed
output is checked:

  -P -z CODEC -K: -H k=v   produce lines (snappy as asked; gzip, lz4 and
                           zstd too since kcat's librdkafka has them all)
  -C -e -o beginning -f    consume with kcat's simple (group-less)
                           consumer, compare keys/values/headers/offsets,
                           timestamps within the produce window
  -C -o s@TS -e            start consuming at a timestamp
  -L -J [-t]               metadata as JSON: one broker 127.0.0.1:<port>,
                           controller, partitions with leader/replicas/isrs
  -Q -t T:P:TS             offsets for times: mid-point, before all, after all

kcat cannot set record timestamps, so time-based checks take their
timestamps around two produce runs separated by a pause.

Bounds: each kcat run has a subprocess timeout (and is killed by its PID if
it overruns, by subprocess.run); brookd is stopped by PID at the end.
Exit status: 0 pass, 1 fail, 77 skip (no brookd or no kcat).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brokerproc  # noqa: E402

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
RUN_TIMEOUT = 40
BROKER = None


def kcat(args, stdin=None, timeout=RUN_TIMEOUT):
    """Runs kcat against BROKER; returns (stdout, stderr); fails the test on
    a non-zero exit. Connection-close chatter is switched off."""
    argv = [KCAT, "-b", BROKER.bootstrap, "-X", "log.connection.close=false", "-m", "15"] + args
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        raise AssertionError("kcat %s exited %d\nstdout: %s\nstderr: %s" % (" ".join(args), p.returncode, out, err))
    return out, err


def now_ms():
    return int(time.time() * 1000)


def produce(topic, lines, codec, headers=()):
    args = ["-P", "-t", topic, "-p", "0", "-K", ":", "-z", codec]
    for h in headers:
        args += ["-H", h]
    out, err = kcat(args, stdin=("\n".join(lines) + "\n").encode())
    for bad in ("Delivery failed", "ERROR", "Failed"):
        assert bad not in err, "kcat -P reported %r:\n%s" % (bad, err)


def consume(topic, extra=()):
    out, _ = kcat(["-C", "-t", topic, "-p", "0", "-e", "-f", "%p|%o|%k|%s|%h|%T\\n"] + list(extra))
    rows = []
    for line in out.splitlines():
        if not line:
            continue
        p, o, k, s, h, ts = line.split("|")
        rows.append({"partition": int(p), "offset": int(o), "key": k, "value": s, "headers": h, "ts": int(ts)})
    return rows


class Kcat(unittest.TestCase):
    def _codec(self, codec):
        topic = "kcat-%s" % codec
        lines = ["key-%d:value-%d-%s" % (i, i, "y" * (i % 40)) for i in range(500)]
        t0 = now_ms()
        produce(topic, lines, codec, headers=("src=kcat", "codec=%s" % codec))
        t1 = now_ms()
        rows = consume(topic, ["-o", "beginning"])
        self.assertEqual(len(rows), len(lines), "consumed %d of %d" % (len(rows), len(lines)))
        for i, (r, line) in enumerate(zip(rows, lines)):
            k, v = line.split(":", 1)
            self.assertEqual((r["partition"], r["offset"], r["key"], r["value"]), (0, i, k, v))
            self.assertEqual(r["headers"], "src=kcat,codec=%s" % codec)
            self.assertTrue(t0 - 1000 <= r["ts"] <= t1 + 1000, "timestamp %d outside [%d, %d]" % (r["ts"], t0, t1))

    def test_snappy(self):
        self._codec("snappy")

    def test_gzip(self):
        self._codec("gzip")

    def test_lz4(self):
        self._codec("lz4")

    def test_zstd(self):
        self._codec("zstd")

    def test_none(self):
        self._codec("none")

    def test_metadata(self):
        topic = "kcat-meta"
        produce(topic, ["a:1"], "none")
        out, _ = kcat(["-L", "-J"])
        md = json.loads(out)
        self.assertEqual(len(md["brokers"]), 1, md)
        b = md["brokers"][0]
        self.assertEqual(b["name"], BROKER.bootstrap)
        self.assertEqual(md["controllerid"], b["id"])
        names = [t["topic"] for t in md["topics"]]
        self.assertIn(topic, names)
        out, _ = kcat(["-L", "-J", "-t", topic])
        md = json.loads(out)
        self.assertEqual([t["topic"] for t in md["topics"]], [topic])
        (t,) = md["topics"]
        self.assertNotIn("error", t, t)
        self.assertEqual(len(t["partitions"]), 1, "num.partitions=1 for an auto-created topic")
        p = t["partitions"][0]
        self.assertEqual((p["partition"], p["leader"]), (0, b["id"]))
        self.assertEqual([r["id"] for r in p["replicas"]], [b["id"]])
        self.assertEqual([r["id"] for r in p["isrs"]], [b["id"]])

    def test_query_offsets_by_time(self):
        topic = "kcat-times"
        produce(topic, ["a%d:first-%d" % (i, i) for i in range(5)], "snappy")
        time.sleep(0.05)
        mid = now_ms()
        time.sleep(0.05)
        produce(topic, ["b%d:second-%d" % (i, i) for i in range(5)], "snappy")
        rows = consume(topic, ["-o", "beginning"])
        self.assertEqual(len(rows), 10)
        self.assertTrue(all(r["ts"] < mid for r in rows[:5]) and all(r["ts"] >= mid for r in rows[5:]),
                        "timestamps %r around %d" % ([r["ts"] for r in rows], mid))

        def q(ts):
            out, _ = kcat(["-Q", "-t", "%s:0:%d" % (topic, ts)])
            m = re.search(r"^%s \[0\] offset (-?\d+)(: .*)?$" % re.escape(topic), out, re.M)
            self.assertIsNotNone(m, "kcat -Q output: %r" % out)
            self.assertIsNone(m.group(2), "kcat -Q error: %s" % m.group(2))
            return int(m.group(1))

        def first_at_or_after(ts):
            return next(r["offset"] for r in rows if r["ts"] >= ts)

        self.assertEqual(q(mid), 5, "first offset with timestamp >= mid")
        self.assertEqual(q(rows[0]["ts"] - 10000), 0)
        # records 5..9 may share a millisecond: the answer is the FIRST one
        self.assertEqual(q(rows[7]["ts"]), first_at_or_after(rows[7]["ts"]))
        self.assertEqual(q(now_ms() + 3600 * 1000), -1, "after every record: -1 (end)")

        # consuming from a timestamp
        rows2 = consume(topic, ["-o", "s@%d" % mid])
        self.assertEqual([r["offset"] for r in rows2], [5, 6, 7, 8, 9])

    def test_consume_offsets(self):
        topic = "kcat-offsets"
        produce(topic, ["k%d:v%d" % (i, i) for i in range(20)], "gzip")
        self.assertEqual([r["offset"] for r in consume(topic, ["-o", "15"])], [15, 16, 17, 18, 19])
        self.assertEqual([r["offset"] for r in consume(topic, ["-o", "-3"])], [17, 18, 19], "-o -3: last three")


def main():
    global BROKER
    if not KCAT:
        print("SKIP: kcat is not installed (apt-get install kcat)")
        return brokerproc.SKIP
    try:
        BROKER = brokerproc.BrokerProc().start()
    except brokerproc.BrokerUnavailable as e:
        print("SKIP: %s" % e)
        return brokerproc.SKIP
    ver = subprocess.run([KCAT, "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10).stdout.decode()
    print("%s against brookd at %s (pid %d)" % (ver.splitlines()[3] if len(ver.splitlines()) > 3 else KCAT,
                                                BROKER.bootstrap, BROKER.pid))
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    return brokerproc.finish(BROKER, res, "kcat")


if __name__ == "__main__":
    sys.exit(main())
