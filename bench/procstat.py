"""CPU of the whole machine per bench round: busy, iowait and steal (/proc/stat), kernel threads
by name, and each thread of the plugin, summed over the seconds each round lasted.

Run it beside a suite run and stop it with the suite (it ends at the suite's exit):

    .venv/bin/python bench/suite.py --cases mixed --rounds 4 > /tmp/mixed.log 2>&1 &
    .venv/bin/python bench/procstat.py --log /tmp/mixed.log --pid $! --out /tmp/procstat.json

A round is the text after the suite's last progress line matching ``--phase`` (default
"mixed: "), read once a second. Figures are CPU seconds (/proc's clock ticks); steal is the time
the hypervisor ran something else while this machine wanted the CPU.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time

HZ = os.sysconf("SC_CLK_TCK")
KTHREADD = "2"  # parent of every kernel thread


def machine() -> dict[str, float]:
    """Busy (not idle, not iowait), iowait and steal CPU seconds since boot, all CPUs."""
    with open("/proc/stat") as f:
        t = [int(v) for v in f.readline().split()[1:]]
    return {"busy": (sum(t) - t[3] - t[4]) / HZ, "iowait": t[4] / HZ, "steal": t[7] / HZ}


def _stat(path: str) -> tuple[str, list[str]]:
    with open(path) as f:
        s = f.read()
    return s[s.index("(") + 1 : s.rindex(")")], s[s.rindex(")") + 2 :].split()


def threads(plugin: str) -> dict[tuple[str, ...], float]:
    """CPU seconds so far: each kernel thread (keyed by its name before any '/'), and each
    thread of every process whose name starts with ``plugin``."""
    out: dict[tuple[str, ...], float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm, f = _stat(f"/proc/{pid}/stat")
            if f[1] == KTHREADD:
                out[(pid, "kernel " + comm.split("/")[0])] = (int(f[11]) + int(f[12])) / HZ
            elif comm.startswith(plugin):
                for tid in os.listdir(f"/proc/{pid}/task"):
                    tcomm, tf = _stat(f"/proc/{pid}/task/{tid}/stat")
                    out[(pid, tid, "plugin " + tcomm)] = (int(tf[11]) + int(tf[12])) / HZ
        except (OSError, ValueError):
            continue  # gone meanwhile
    return out


def phase(log: str, marker: str) -> str:
    try:
        with open(log) as f:
            lines = [line for line in f if marker in line]
    except OSError:
        return "none"
    return lines[-1].split(marker, 1)[1].strip() if lines else "none"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", required=True, help="the suite's output")
    ap.add_argument("--pid", type=int, required=True, help="the suite's pid: stop when it ends")
    ap.add_argument("--out", required=True, help="JSON written at the end")
    ap.add_argument("--phase", default="mixed: ", help="progress text that starts a round")
    ap.add_argument("--plugin", default="logdriver", help="process name prefix of the plugin")
    args = ap.parse_args()
    totals: dict[str, dict[str, float]] = collections.defaultdict(
        lambda: collections.defaultdict(float))
    prev_m, prev_t = machine(), threads(args.plugin)
    while os.path.exists(f"/proc/{args.pid}"):
        time.sleep(1)
        m, t = machine(), threads(args.plugin)
        c = totals[phase(args.log, args.phase)]
        c["seconds"] += 1
        for k, v in m.items():
            c[k] += v - prev_m[k]
        for key, v in t.items():
            if v > prev_t.get(key, 0.0):
                c[key[-1]] += v - prev_t.get(key, 0.0)
        prev_m, prev_t = m, t
    report = {p: {k: round(v, 2) for k, v in sorted(c.items(), key=lambda kv: -kv[1])}
              for p, c in totals.items()}
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    for p, c in report.items():
        top = [(k, v) for k, v in c.items() if k.startswith(("kernel", "plugin"))][:6]
        print(p, {k: c.get(k, 0) for k in ("seconds", "busy", "iowait", "steal")}, top)


if __name__ == "__main__":
    main()
