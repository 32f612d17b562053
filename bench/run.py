"""Benchmark: logdriver against Docker's `local` driver, measured in the same run.

A container prints LINES lines of 100 bytes (99 characters and a newline) as fast as busybox awk
can. For each driver, in alternating order over ROUNDS rounds, it records:
  - run: the container's own run time (State.StartedAt -> State.FinishedAt from `docker inspect`);
  - logs: wall time of `docker logs` of the whole history (max-size=100m: every line is kept);
  - tail: wall time of `docker logs --tail 10` (median of 5).
Medians and ratios (logdriver / local) go to stdout and to bench/results/<time>.json, with the
plugin's CPU seconds and peak RSS. It starts its own isolated dockerd and plugin (the end-to-end
suite's harness), so any root shell on a machine set up by tools/setup.sh can rerun it:

    sudo .venv/bin/python bench/run.py [--lines 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time

from common import REPO, Docker, PeakPss, awk_program, cpu_and_rss, environment, parse_ts

from tests.e2e.helpers import UnixHTTPConnection

TARGETS = {"run": 1.25, "logs": 1.5}  # ratio limits from issue #2
TAIL_LIMIT_S = 0.1


def timed(docker: Docker, *args: str) -> float:
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = docker.popen(*args, stdout=null, stderr=null)
        rc = proc.wait(timeout=600)
    if rc != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed with {rc}")
    return time.perf_counter() - t0


def api_logs(docker: Docker, name: str, tail: str = "10") -> float:
    """Seconds for dockerd's API to answer ``GET /containers/NAME/logs?tail=TAIL`` (stdout and
    stderr) over its unix socket, body read to the end: `docker logs` without the CLI's own
    start-up (a Go binary that first asks the daemon its version)."""
    assert docker.host.startswith("unix://"), docker.host
    conn = UnixHTTPConnection(docker.host.removeprefix("unix://"), timeout=600)
    try:
        t0 = time.perf_counter()
        conn.request("GET", f"/containers/{name}/logs?stdout=1&stderr=1&tail={tail}")
        resp = conn.getresponse()
        resp.read()
        elapsed = time.perf_counter() - t0
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET logs of {name} answered {resp.status}")
    return elapsed


def one(docker: Docker, driver: str, lines: int, n: int) -> dict[str, float]:
    name = f"bench-{driver}-{n}"
    # Room for the whole history under both drivers, so `docker logs` returns every line.
    docker("run", "-d", "--name", name, "--network", "none", "--log-driver", driver,
           "--log-opt", "max-size=100m", "--log-opt", "max-file=5",
           docker.image, "awk", awk_program(lines), timeout=60)
    docker.wait(name, timeout=900)
    state = docker.inspect(name)["State"]
    run_s = (parse_ts(state["FinishedAt"]) - parse_ts(state["StartedAt"])) / 1e9
    logs_s = timed(docker, "logs", name)
    tail_s = statistics.median(timed(docker, "logs", "--tail", "10", name) for _ in range(5))
    count = len(docker("logs", "--tail", "all", name, timeout=600).stdout.splitlines())
    docker("rm", "-f", name, timeout=120)
    return {"run": run_s, "logs": logs_s, "tail": tail_s, "lines_kept": count}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    with environment("logdriver-bench") as (docker, plugin):
        results: dict[str, list[dict[str, float]]] = {"local": [], plugin.name: []}
        one(docker, plugin.name, 10_000, 0)  # warm-up
        one(docker, "local", 10_000, 0)
        cpu0, _ = cpu_and_rss(plugin.pid)
        pss = PeakPss(plugin.pid).start()
        for r in range(args.rounds):
            order = ["local", plugin.name] if r % 2 == 0 else [plugin.name, "local"]
            for driver in order:
                res = one(docker, driver, args.lines, r + 1)
                results[driver].append(res)
                print(f"round {r + 1} {driver:>16}: run {res['run']:.2f} s, logs "
                      f"{res['logs']:.2f} s, tail {res['tail']:.3f} s, "
                      f"{int(res['lines_kept'])} lines kept", flush=True)
        cpu1, rss = cpu_and_rss(plugin.pid)
        pss.stop()

    med = {d: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for d, rs in results.items()}
    ours, local = med[plugin.name], med["local"]
    # Each round runs both drivers back to back: the median of the per-round ratios cancels most of
    # the machine's drift between rounds.
    ratios = {k: statistics.median(o[k] / lo[k] for o, lo in zip(results[plugin.name],
                                                                 results["local"], strict=True))
              for k in ("run", "logs", "tail")}
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "lines": args.lines, "rounds": args.rounds, "median": med, "ratio": ratios,
        "plugin_cpu_seconds_per_run": (cpu1 - cpu0) / (2 * args.rounds),
        "plugin_peak_rss_bytes": rss, "plugin_peak_pss_bytes": pss.peak, "rounds_raw": results,
    }
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{report['when'].replace(':', '')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\n{'median':8}{'local':>10}{'logdriver':>12}{'ratio':>8}{'target':>10}"
          "   (ratio: median of the per-round ratios)")
    for k in ("run", "logs", "tail"):
        target = f"<= {TARGETS[k]}x" if k in TARGETS else f"< {TAIL_LIMIT_S} s"
        print(f"{k:8}{local[k]:>9.3f}s{ours[k]:>11.3f}s{ratios[k]:>8.2f}{target:>10}")
    print(f"plugin CPU per run {report['plugin_cpu_seconds_per_run']:.2f} s, peak RSS "
          f"{rss / 2**20:.0f} MiB (PSS {pss.peak / 2**20:.0f}); lines kept: local "
          f"{int(local['lines_kept'])}, "
          f"logdriver {int(ours['lines_kept'])}\nwritten to {path}")
    ok = (ratios["run"] <= TARGETS["run"] and ratios["logs"] <= TARGETS["logs"]
          and ours["tail"] < TAIL_LIMIT_S)
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
