"""brokerproc.py — start, stop, restart and kill a real brookd for client tests.

Design note
-----------
Lifecycle of one BrokerProc (every transition bounded by a timeout):

    new --start()--> running --stop()----> stopped --start()--> running ...
                        |   \\--kill9()---> stopped (log dir kept, unclean)
                        \\---restart() = stop() + start() on the SAME log dir
    any --cleanup()--> gone (stopped, temp dir removed)

* brookd comes from the environment variable BROOKD (meson sets it with
  `env:`); without it the tests skip (exit code 77), they do not fail.
* It listens on PLAINTEXT://127.0.0.1:0 (the kernel picks a free port) and
  we learn the port from the log line "listening on PLAINTEXT://127.0.0.1:N".
  Only loopback is ever used.
* Its stdout/stderr go to a file in the temp dir, not to a pipe: a pipe we
  stopped reading would eventually block a chatty broker.
* It is stopped by PID only: SIGTERM, wait, SIGKILL after a timeout, and
  always reaped. An atexit hook does the same if a test forgets.

Also a command-line wrapper for tests written in other languages:

    brokerproc.py run [--override k=v]... -- CMD ARGS...

starts brookd, runs CMD with BROOK_BOOTSTRAP=127.0.0.1:PORT in its
environment (bounded by --timeout), stops brookd and exits with CMD's exit
status (77 if brookd is unavailable).
"""

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77  # meson's "test skipped" exit status

_LISTEN_RE = re.compile(r"listening on PLAINTEXT://127\.0\.0\.1:(\d+)")
_live = set()


class BrokerUnavailable(Exception):
    """BROOKD is not set or not executable: tests should skip, not fail."""


class BrokerError(Exception):
    """brookd was given but did not start (that is a failure)."""


def _cleanup_all():
    for b in list(_live):
        try:
            b.cleanup()
        except Exception:  # never mask the real exit status at exit
            pass


atexit.register(_cleanup_all)


class BrokerProc:
    def __init__(self, overrides=None, brookd=None, start_timeout=20.0, stop_timeout=15.0):
        self.brookd = brookd or os.environ.get("BROOKD", "")
        if not self.brookd:
            raise BrokerUnavailable("BROOKD is not set (run through meson test, or export BROOKD=path/to/brookd)")
        if not (os.path.isfile(self.brookd) and os.access(self.brookd, os.X_OK)):
            raise BrokerUnavailable("BROOKD=%s is not an executable file (not built yet?)" % self.brookd)
        self.overrides = dict(overrides or {})
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.tmpdir = tempfile.mkdtemp(prefix="brook-clienttest-")
        self.logdir = os.path.join(self.tmpdir, "data")
        self.proc = None
        self.port = None
        self.bootstrap = None
        self.starts = 0
        self.last_exit = None
        _live.add(self)

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        assert self.proc is None, "already running"
        self.starts += 1
        props = os.path.join(self.tmpdir, "server.properties")
        with open(props, "w") as f:
            f.write("listeners=PLAINTEXT://127.0.0.1:0\n")
            f.write("log.dirs=%s\n" % self.logdir)
            f.write("num.partitions=1\n")
            f.write("auto.create.topics.enable=true\n")
        argv = [self.brookd, props]
        for k, v in self.overrides.items():
            argv += ["--override", "%s=%s" % (k, v)]
        self.logpath = os.path.join(self.tmpdir, "brookd-%d.log" % self.starts)
        log = open(self.logpath, "wb")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                raise BrokerError("brookd exited with %s during startup:\n%s" % (rc, self.log_tail()))
            m = _LISTEN_RE.search(self._read_log())
            if m and int(m.group(1)) > 0:
                self.port = int(m.group(1))
                self.bootstrap = "127.0.0.1:%d" % self.port
                return self
            time.sleep(0.02)
        self._terminate()
        raise BrokerError(
            "brookd did not log 'listening on PLAINTEXT://127.0.0.1:<port>' within %.0f s:\n%s"
            % (self.start_timeout, self.log_tail())
        )

    def stop(self):
        """SIGTERM, wait stop_timeout, then SIGKILL. Returns the exit status
        (negative: killed by that signal)."""
        return self._terminate()

    def kill9(self):
        """Unclean stop: SIGKILL at once (crash simulation). Log dir kept."""
        if self.proc is None:
            return None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.last_exit = self.proc.wait(timeout=self.stop_timeout)
        self.proc = None
        return self.last_exit

    def restart(self):
        """Stop cleanly and start again on the same log dir (new port)."""
        self.stop()
        return self.start()

    def cleanup(self):
        self._terminate()
        if self.tmpdir and os.environ.get("BROOK_KEEP_TMP") != "1":
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        _live.discard(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # -- helpers -----------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _terminate(self):
        if self.proc is None:
            return self.last_exit
        pid = self.proc.pid
        if self.proc.poll() is None:
            os.kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                sys.stderr.write("brookd pid %d ignored SIGTERM for %.0f s: SIGKILL\n" % (pid, self.stop_timeout))
                os.kill(pid, signal.SIGKILL)
                self.proc.wait(timeout=self.stop_timeout)
        self.last_exit = self.proc.returncode
        self.proc = None
        return self.last_exit

    def _read_log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=4000):
        return self._read_log()[-n:]


def finish(broker, result, name):
    """For test scripts: stops broker (SIGTERM, expecting a clean exit 0),
    prints its log tail when something failed and a one-line summary, removes
    its data, and returns the script's exit code."""
    rc = broker.stop()
    clean = rc == 0
    if not clean:
        print("FAIL: brookd exited with status %s after SIGTERM (expected 0); log tail:\n%s" % (rc, broker.log_tail()))
    elif not result.wasSuccessful():
        print("---- brookd log tail ----\n%s" % broker.log_tail())
    broker.cleanup()
    print("SUMMARY %s: %d run, %d failures, %d errors, %d skipped%s"
          % (name, result.testsRun, len(result.failures), len(result.errors), len(result.skipped),
             "" if clean else ", brookd did not exit cleanly"))
    for t, why in result.skipped:
        print("  skipped %s: %s" % (t.id().split(".", 1)[-1], why))
    return 0 if result.wasSuccessful() and clean else 1


def start_or_skip(overrides=None):
    """For test scripts: a started BrokerProc, or exit 77 with the reason if
    there is no brookd to run."""
    try:
        return BrokerProc(overrides).start()
    except BrokerUnavailable as e:
        print("SKIP: %s" % e)
        sys.exit(SKIP)


def _main(argv):
    import argparse

    ap = argparse.ArgumentParser(description="run a command against a fresh brookd")
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--override", action="append", default=[], metavar="K=V")
    run.add_argument("--timeout", type=float, default=300.0, help="bound on CMD's runtime")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command")
    overrides = dict(kv.split("=", 1) for kv in args.override)
    try:
        broker = BrokerProc(overrides).start()
    except BrokerUnavailable as e:
        print("SKIP: %s" % e)
        return SKIP
    env = dict(os.environ, BROOK_BOOTSTRAP=broker.bootstrap)
    child = subprocess.Popen(cmd, env=env, start_new_session=True)
    try:
        rc = child.wait(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        sys.stderr.write("command exceeded %.0f s: killing pid %d\n" % (args.timeout, child.pid))
        os.killpg(child.pid, signal.SIGKILL)  # its own session: only its processes
        child.wait()
        rc = 1
    brc = broker.stop()
    if brc not in (0, None):
        sys.stderr.write("brookd exited with %s after SIGTERM (expected 0)\n%s\n" % (brc, broker.log_tail()))
    if rc != 0 and rc != SKIP:
        sys.stderr.write("---- brookd log tail ----\n%s\n" % broker.log_tail())
    broker.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
