"""Drives bench/poll.c (dnspoll) from Python: builds it, starts it against some servers, registers
each change just before it is made and collects when every server first served it. The C process
does the polling and the time-stamping (CLOCK_MONOTONIC, the clock of time.monotonic_ns()), so
Python's pauses never enter a change -> served figure. Used by bench/pop and bench/api."""
import os
import subprocess
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
POLL_C = os.path.join(os.path.dirname(HERE), "poll.c")


def build(out):
    """Compiles bench/poll.c into out with cc -O2; returns out."""
    subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", out, POLL_C], check=True)
    return out


class Poller:
    """dnspoll polling name (rtype) at servers ["addr@port", ...] every interval_us (with dnssec,
    DO=1 queries, and a value counts only beside its RRSIG). A thread reads its output; expect() registers a change, wait() returns what each server did with it."""

    def __init__(self, binary, name, servers, rtype="A", timeout_ms=30000, interval_us=1000, track=None,
                 dnssec=False):
        self.servers = list(servers)
        self.proc = subprocess.Popen([binary, "-i", str(interval_us), "-w", str(timeout_ms), "-n", name, "-t", rtype]
                                     + (["-d"] if dnssec else []) + self.servers, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1, start_new_session=True)
        if track:
            track(self.proc)
        self.cv = threading.Condition()
        self.ready = False
        self.polling = {}  # id -> ns
        self.served = {}  # id -> {server index: (ns, id of the value seen)}
        self.timeouts = {}  # id -> {server index}
        self.stats = {}
        self.closed = False
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()
        with self.cv:
            if not self.cv.wait_for(lambda: self.ready or self.closed, 10) or not self.ready:
                raise RuntimeError("dnspoll did not start: %s" % self.proc.stderr.read())

    def read(self):
        for line in self.proc.stdout:
            w = line.split()
            with self.cv:
                if w == ["ready"]:
                    self.ready = True
                elif w[0] == "polling":
                    self.polling[int(w[1])] = int(w[2])
                elif w[0] == "served":
                    self.served.setdefault(int(w[1]), {})[int(w[2])] = (int(w[3]), int(w[4]))
                elif w[0] == "timeout":
                    self.timeouts.setdefault(int(w[1]), set()).add(int(w[2]))
                elif w[0] == "stats":
                    self.stats[int(w[1])] = {k: int(v) for k, v in (f.split("=") for f in w[2:])}
                self.cv.notify_all()
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def anchor(self, t_ns):
        """Moves the poll grid so that its ticks fall t_ns + k intervals (t_ns: when a change was
        sent, time.monotonic_ns()): every change is then polled 1, 2, 3 ... intervals after it was
        sent, whatever the client did before. Does not wait."""
        self.proc.stdin.write("anchor %d\n" % t_ns)

    def expect(self, cid, value, name=None):
        """Registers change cid (increasing) that makes the name answer value; returns once the
        poller has it, with the poller's time of registration (ns)."""
        self.proc.stdin.write("expect %d %s%s\n" % (cid, value, " " + name if name else ""))
        with self.cv:
            if not self.cv.wait_for(lambda: cid in self.polling or self.closed, 10) or cid not in self.polling:
                raise RuntimeError("dnspoll did not take change %d: %s" % (cid, self.proc.stderr.read()))
            return self.polling[cid]

    def done(self, cid):
        return len(self.served.get(cid, {})) + len(self.timeouts.get(cid, ())) == len(self.servers)

    def wait(self, cid, timeout):
        """({server index: (ns served, id of the value seen)}, {server indexes that timed out}) once
        every server has served cid or timed out; raises after timeout seconds."""
        with self.cv:
            if not self.cv.wait_for(lambda: self.done(cid) or self.closed, timeout) or not self.done(cid):
                raise RuntimeError("dnspoll: change %d neither served nor timed out after %.0f s" % (cid, timeout))
            return dict(self.served.get(cid, {})), set(self.timeouts.get(cid, ()))

    def quit(self):
        """Stops the poller; returns its per-server stats {index: {sent, answers, bad}}."""
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(10)
        self.reader.join(10)
        if self.proc.returncode != 0:
            raise RuntimeError("dnspoll exited with %d: %s" % (self.proc.returncode, self.proc.stderr.read()))
        return self.stats

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
