"""Idle memory of the two processes after their imports: what each costs before any container.

```sh
.venv/bin/python bench/idle.py [--rounds 5]
```

Starts, at the same time, one Python importing ``logdriver.app`` (what ``logdriver serve``, the
plugin, imports) and one importing ``logdriver.delivery.process`` (the shipper), each then
waiting; reads each one's VmRSS, RssAnon and RssFile (/proc/PID/status) and Pss
(/proc/PID/smaps_rollup), and ends them. Medians of ROUNDS, in MiB, as one JSON document, with
the sums: the RSS sum counts the shared libraries both map (RssFile) twice, the PSS sum once.
Lists the modules each process imports that the other does not need to (``--modules``).
No dockerd, no root.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROCESSES = {"plugin": "logdriver.app", "shipper": "logdriver.delivery.process"}
STATUS_KEYS = ("VmRSS", "RssAnon", "RssFile")


def measure(pid: int) -> dict[str, float]:
    """MiB of ``pid``: VmRSS, RssAnon, RssFile and Pss."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in STATUS_KEYS:
                out[key] = int(line.split()[1]) / 1024
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                out["Pss"] = int(line.split()[1]) / 1024
    return out


def one_round(repo: Path) -> dict[str, dict[str, float]]:
    procs = {name: subprocess.Popen(
        [sys.executable, "-c", f"import sys, {module}; print(flush=True); sys.stdin.read()"],
        cwd=repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for name, module in PROCESSES.items()}
    try:
        for p in procs.values():
            assert p.stdout is not None
            p.stdout.readline()  # imported
        return {name: measure(p.pid) for name, p in procs.items()}
    finally:
        for p in procs.values():
            p.communicate("")


def modules(module: str, repo: Path) -> set[str]:
    res = subprocess.run([sys.executable, "-c", f"import sys, {module}; print(*sys.modules)"],
                         cwd=repo, capture_output=True, text=True, check=True)
    return set(res.stdout.split())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--modules", action="store_true")
    ap.add_argument("--repo", type=Path, default=REPO,
                    help="import from this checkout (e.g. an older commit's, to compare)")
    args = ap.parse_args()
    rounds = [one_round(args.repo) for _ in range(args.rounds)]
    report: dict[str, object] = {
        name: {k: round(statistics.median(r[name][k] for r in rounds), 1)
               for k in (*STATUS_KEYS, "Pss")} for name in PROCESSES}
    report["sum"] = {k: round(statistics.median(sum(r[n][k] for n in PROCESSES) for r in rounds), 1)
                     for k in ("VmRSS", "Pss")}
    if args.modules:
        for name, module in PROCESSES.items():
            found = modules(module, args.repo)
            report[f"{name} imports"] = sorted({m.split(".")[0] for m in found
                                                if not m.startswith("_")})
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
