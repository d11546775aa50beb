"""What bench/api/bench_api.py and bench/pop/bench_pop.py share: ports, percentiles, stopping
processes and describing the machine and the ternd under test."""
import glob
import math
import os
import platform
import socket
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (the kernel's choice, checked for both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def pct(xs, p):
    """The p-th percentile (nearest rank)."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(math.ceil(p / 100.0 * len(s))) - 1))]


def stop(proc, timeout=10.0):
    """SIGTERM, then SIGKILL after timeout seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def machine(work_dir=None):
    """Kernel, CPUs and model; with work_dir also the RAM and the file system it is on."""
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    text = "Linux %s, nproc %d (%s)" % (platform.release(), os.cpu_count(), cpu)
    if work_dir is None:
        return text
    with open("/proc/meminfo") as f:
        mem = "%.1f GiB RAM" % (int(f.readline().split()[1]) / 1048576)
    fs = " ".join(subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-T", work_dir],
                                 capture_output=True, text=True).stdout.split())
    return "%s, %s; work directory on %s" % (text, mem, fs or "?")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def ternd_version():
    """The commit measured, and whether src/ differed from it."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD", "--", "src", "meson.build"]).returncode
        return "`%s`%s" % (head, " with uncommitted changes in src/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "(no git)"


class CpuWakeLatency:
    """Holds a PM QoS request for CPU wake-up latency (/dev/cpu_dma_latency, in microseconds) while
    open: with 0, idle CPUs poll instead of halting, as tuned's latency-performance profile does.
    On a virtual machine each halt is an exit to the host, and waking from it costs tens to hundreds
    of microseconds per hand-off between threads, on top of the software being measured. The request
    ends when the file is closed (with the process at the latest). Needs root; held is False (and
    error says why) when the request could not be made."""

    PATH = "/dev/cpu_dma_latency"

    def __init__(self, usec=0):
        self.usec, self.fd, self.error = usec, None, None

    def __enter__(self):
        try:
            self.fd = os.open(self.PATH, os.O_WRONLY)
            os.write(self.fd, int(self.usec).to_bytes(4, "little", signed=True))
        except OSError as e:
            self.error = str(e)
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
        return self

    def __exit__(self, *_):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        return False

    @property
    def held(self):
        return self.fd is not None


def cpu_idle_policy():
    """The cpuidle driver and governor and the guest halt-poll limit, as a report shows them."""
    def read(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return "?"
    base = "/sys/devices/system/cpu/cpuidle/"
    out = "cpuidle driver %s, governor %s" % (read(base + "current_driver"), read(base + "current_governor_ro"))
    poll = read("/sys/module/haltpoll/parameters/guest_halt_poll_ns")
    if poll != "?":
        out += ", guest_halt_poll_ns %s" % poll
    return out


def callgrind_ir(d):
    """Instructions (Ir) summed over the callgrind.out.* files in d (one per process traced)."""
    total = 0
    for path in glob.glob(os.path.join(d, "callgrind.out.*")):
        with open(path) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total += int(line.split()[1])
                    break
    return total
