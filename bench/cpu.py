"""CPU seconds of every process on the machine while a benchmark step runs, by process name.

On a small machine the delivery figure is decided by who else needs the CPU: dockerd, the
containerd shim copying the container's output, the container itself, the receiver. ``Account``
samples ``/proc`` in a thread (every ``INTERVAL_S``) and sums, per name, the CPU each process
used during the step; the plugin, its shipper and the receiver are named by pid. A process that
exits between two samples loses at most its last interval. ``/proc/stat`` gives the machine's
busy and steal time (another tenant of the host running on our CPUs) over the same span.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

INTERVAL_S = 0.2
TICK = os.sysconf("SC_CLK_TCK")
GROUPS = ("dockerd", "containerd-shim", "container", "plugin", "shipper", "receiver")


def _processes() -> dict[int, tuple[str, float]]:
    out: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        out[int(entry)] = (comm, (int(fields[11]) + int(fields[12])) / TICK)
    return out


def _machine() -> tuple[float, float]:
    """(busy, steal) CPU seconds since boot, all CPUs together: busy is user, nice, system, irq
    and softirq time; steal is another tenant of the host running on our CPUs."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq) / TICK, steal / TICK


class Account:
    """``with Account({pid: name}, container="awk") as a: ...``; then ``a.result()``."""

    def __init__(self, names: Mapping[int, str], container: str) -> None:
        self.names = dict(names)
        self.container = container
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0
        self._wall = 0.0
        self._m0 = self._m1 = (0.0, 0.0)

    def __enter__(self) -> Account:
        start = _processes()
        self._first = {pid: cpu for pid, (_, cpu) in start.items()}
        self._last = start
        self._m0 = _machine()
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._wall = time.perf_counter() - self._t0
        self._m1 = _machine()

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            self._sample()

    def _sample(self) -> None:
        self._last.update(_processes())

    def _group(self, pid: int, comm: str) -> str:
        if pid in self.names:
            return self.names[pid]
        if comm == self.container:
            return "container"
        return comm if comm in GROUPS else "other"

    def result(self) -> dict[str, Any]:
        """CPU seconds per group, the machine's busy and steal seconds, the CPU seconds the
        span offered (wall time x CPUs) and the wall time."""
        groups = dict.fromkeys(GROUPS, 0.0) | {"other": 0.0}
        for pid, (comm, cpu) in self._last.items():
            used = cpu - self._first.get(pid, 0.0)
            if used > 0:
                key = self._group(pid, comm)
                groups[key] = groups.get(key, 0.0) + used
        busy = self._m1[0] - self._m0[0]
        return {
            "cpu seconds": {k: round(v, 2) for k, v in groups.items()},
            "machine busy seconds": round(busy, 2),
            "steal seconds": round(self._m1[1] - self._m0[1], 2),
            "offered seconds": round(self._wall * (os.cpu_count() or 1), 2),
            "wall seconds": round(self._wall, 2),
        }


def print_cpu(rounds: dict[str, list[dict[str, Any]]], case: str = "HEC case") -> None:
    """Where the CPU went during a case (the HEC case unless ``case`` names another): medians
    over the rounds, per process group."""
    med = statistics.median
    cols = list(rounds)

    def cell(col: str, pick: Callable[[dict[str, Any]], float | None]) -> str:
        values = [v for v in map(pick, rounds[col]) if v is not None]
        return f"{med(values):.2f}" if values else "-"

    def group(name: str) -> Callable[[dict[str, Any]], float | None]:
        return lambda d: d["cpu"]["cpu seconds"][name]

    table = [(name, group(name)) for name in (*GROUPS, "other")]
    table += [
        ("all processes", lambda d: sum(d["cpu"]["cpu seconds"].values())),
        ("machine busy", lambda d: d["cpu"]["machine busy seconds"]),
        ("machine offered", lambda d: d["cpu"]["offered seconds"]),
        ("steal", lambda d: d["cpu"]["steal seconds"]),
        ("container exited at (s)", lambda d: d.get("container exited after seconds")),
    ]
    print(f"\n{case}, CPU seconds by process (medians; offered = wall time x CPUs):")
    print(f"{'':24}" + "".join(f"{c:>17}" for c in cols))
    for label, pick in table:
        print(f"{label:24}" + "".join(f"{cell(c, pick):>17}" for c in cols))
