#!/usr/bin/python3
"""/proc figures of a server's process tree (the process and every descendant, all threads).

  procs.py cpu PID   utime+stime of the tree in clock ticks (one number)
  procs.py mem PID   one JSON line: summed VmRSS and Pss (kB), the largest VmHWM, process count
  procs.py tree PID  the PIDs of the tree, one a line
  procs.py affinity PID  the CPU lists the tree's threads may run on (Cpus_allowed_list), sorted
  procs.py busy CPU  busy clock ticks of one CPU so far (/proc/stat: all but idle and iowait)
"""

import json
import os
import sys


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()  # fields from 3 (state) on


def tree(root):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                children.setdefault(int(stat_fields(d)[1]), []).append(int(d))
            except OSError:
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu(root):
    total = 0
    for p in tree(root):
        try:
            f = stat_fields(p)
            total += int(f[11]) + int(f[12])  # utime, stime: fields 14 and 15 of /proc/PID/stat
        except OSError:
            pass
    return total


def threads(pid):
    """{thread name (comm): utime+stime clock ticks summed over the threads of that name} of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pss_kb(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def mem(root):
    rss = pss = hwm = n = 0
    for p in tree(root):
        try:
            rss += status_kb(p, "VmRSS")
            pss += pss_kb(p)
            hwm = max(hwm, status_kb(p, "VmHWM"))
            n += 1
        except OSError:
            pass
    return {"rss_kb": rss, "pss_kb": pss, "hwm_kb": hwm, "procs": n}


def affinity(root):
    lists = set()
    for p in tree(root):
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/status") as f:
                    for line in f:
                        if line.startswith("Cpus_allowed_list:"):
                            lists.add(line.split()[1])
        except OSError:
            pass
    return " ".join(sorted(lists))


def busy(cpu_no):
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu_no} "):
                v = [int(x) for x in line.split()[1:]]
                return sum(v[:8]) - v[3] - v[4]  # user nice system idle iowait irq softirq steal
    return 0


def main():
    what, pid = sys.argv[1], int(sys.argv[2])
    if what == "cpu":
        print(cpu(pid))
    elif what == "mem":
        print(json.dumps(mem(pid)))
    elif what == "tree":
        print("\n".join(map(str, tree(pid))))
    elif what == "affinity":
        print(affinity(pid))
    elif what == "busy":
        print(busy(pid))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()


def thread_stats(pid):
    """{thread name: [CPU ns (schedstat: exact, not in clock ticks), context switches (voluntary and
    not), of them involuntary (preempted)]} summed over the threads of that name of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
            switches = preempted = 0
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        switches += int(line.split()[1])
                    if line.startswith("nonvoluntary_ctxt_switches:"):
                        preempted += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
        v = out.setdefault(name, [0, 0, 0])
        v[0] += ns
        v[1] += switches
        v[2] += preempted
    return out
