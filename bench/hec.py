"""Delivery benchmark: 1,000,000 lines of 100 bytes from one container to a loopback HEC.

The figure is the time from `docker run` until the receiver holds every line, under logdriver
(splunk-* log-opts) divided by the same under Docker's built-in `splunk` driver
(splunk-verify-connection=false) against the same receiver, measured in the same run, in
alternating order over ROUNDS rounds. Goal (issue #3): at most 1.0.

    sudo .venv/bin/python bench/hec.py [--lines 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

from common import REPO, Docker, awk_program, cpu_and_rss, environment, parse_ts
from cpu import Account

TOKEN = "bench-token"
TIMEOUT_S = 900.0
CONTAINER_COMM = "awk"  # the benchmark container's process (busybox awk)


def receiver() -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "hec_receiver.py")],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


def call(url: str, method: str = "GET") -> dict[str, int]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with opener.open(req, timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def one(docker: Docker, driver: str, url: str, lines: int, n: int,
        details: dict[str, Any] | None = None, names: Mapping[int, str] | None = None) -> float:
    """Seconds from `docker run` until the receiver holds all ``lines``. With ``details``, also
    fills in when the container exited (seconds after `docker run`) and, by process, the CPU
    every process on the machine used meanwhile (``cpu.Account``; ``names``: pid -> name)."""
    call(url + "/reset", "POST")
    name = f"hec-{driver}-{n}"
    opts = {"splunk-url": url, "splunk-token": TOKEN, "splunk-verify-connection": "false"}
    args = ["run", "-d", "--name", name, "--network", "none", "--log-driver", driver]
    for k, v in opts.items():
        args += ["--log-opt", f"{k}={v}"]
    with account(details, names) as acct:
        t0, wall0 = time.perf_counter(), time.time()
        docker(*args, docker.image, "awk", awk_program(lines), timeout=60)
        deadline = t0 + TIMEOUT_S
        while (got := call(url + "/count")["events"]) < lines:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{driver}: only {got} of {lines} lines arrived")
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
    if details is not None and acct is not None:
        details.update(_exited(docker, name, wall0), cpu=acct.result())
    docker("rm", "-f", name, timeout=300)
    return elapsed


def account(details: dict[str, Any] | None,
             names: Mapping[int, str] | None) -> contextlib.AbstractContextManager[Account | None]:
    return nullcontext() if details is None else Account(names or {}, CONTAINER_COMM)


def _exited(docker: Docker, name: str, wall0: float) -> dict[str, float]:
    docker("wait", name, timeout=TIMEOUT_S)
    state = docker.inspect(name)["State"]
    return {"container exited after seconds": parse_ts(state["FinishedAt"]) / 1e9 - wall0,
            "container ran seconds": (parse_ts(state["FinishedAt"])
                                      - parse_ts(state["StartedAt"])) / 1e9}


def floor(docker: Docker, driver: str, lines: int, n: int,
          details: dict[str, Any] | None = None, names: Mapping[int, str] | None = None) -> float:
    """The same container under logdriver with no sink: from `docker run` until it has exited.
    Delivery cannot end before the container's last line is stored, so this is the figure a
    shipper costing nothing would reach. ``details`` and ``names`` as for ``one``."""
    name = f"floor-{n}"
    with account(details, names) as acct:
        t0 = time.perf_counter()
        docker("run", "-d", "--name", name, "--network", "none", "--log-driver", driver,
               docker.image, "awk", awk_program(lines), timeout=60)
        docker("wait", name, timeout=TIMEOUT_S)
        elapsed = time.perf_counter() - t0
    if details is not None and acct is not None:
        details["cpu"] = acct.result()
    docker("rm", "-f", name, timeout=300)
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    proc, url = receiver()
    try:
        with environment("logdriver-bench") as (docker, plugin):
            one(docker, plugin.name, url, 10_000, 0)  # warm-up
            one(docker, "splunk", url, 10_000, 0)
            times: dict[str, list[float]] = {"splunk": [], plugin.name: []}
            cpu = 0.0
            floors: list[float] = []
            for r in range(args.rounds):
                order = ["splunk", plugin.name] if r % 2 == 0 else [plugin.name, "splunk"]
                for driver in order:
                    c0, _ = cpu_and_rss(plugin.pid)
                    t = one(docker, driver, url, args.lines, r + 1)
                    c1, _ = cpu_and_rss(plugin.pid)
                    cpu += c1 - c0
                    times[driver].append(t)
                    print(f"round {r + 1} {driver:>16}: every line at the receiver after "
                          f"{t:.2f} s", flush=True)
                floors.append(floor(docker, plugin.name, args.lines, r + 1))
                print(f"round {r + 1} {'no sink':>16}: the container ran {floors[-1]:.2f} s "
                      "(the floor)", flush=True)
            _, rss = cpu_and_rss(plugin.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ratio = statistics.median(o / s for o, s in zip(times[plugin.name], times["splunk"],
                                                      strict=True))
    floor_ratio = statistics.median(f / s for f, s in zip(floors, times["splunk"], strict=True))
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "lines": args.lines,
        "rounds": args.rounds, "seconds": times, "ratio": ratio,
        "no_sink_seconds": floors, "floor_ratio": floor_ratio,
        "plugin_cpu_seconds_per_run": cpu / args.rounds, "plugin_peak_rss_bytes": rss,
    }
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"hec-{report['when'].replace(':', '')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nmedian seconds: splunk {statistics.median(times['splunk']):.2f}, logdriver "
          f"{statistics.median(times[plugin.name]):.2f}; ratio (median of per-round ratios) "
          f"{ratio:.2f} (goal <= 1.0); floor (no sink) {floor_ratio:.2f}\n"
          f"plugin + shipper CPU per delivery run "
          f"{report['plugin_cpu_seconds_per_run']:.2f} s, peak RSS {rss / 2**20:.0f} MiB\n"
          f"written to {path}")
    return 0 if ratio <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
