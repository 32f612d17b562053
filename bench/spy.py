"""Profiles the plugin and its shipper with py-spy during one delivery (issue #17).

Starts the bench environment (bench/common.py) and the counting receiver, runs one container of
LINES lines of 100 B to SINK (HEC unless --sink says datadog or http, with the log-opts of
suite.py's sinks case) under logdriver, and records both processes with `py-spy record
--native` (RATE Hz; --native stops the process for each sample) from `docker run` until the
receiver holds every line. Writes each process's samples (py-spy's collapsed "raw" format) to
bench/results/ and prints, for each, the functions with the most busy samples, own and inclusive
(samples waiting in epoll_wait or wait4, and the idle executor thread, left out).

    sudo .venv/bin/python bench/spy.py [--lines 1000000] [--rate 100] [--top 40] [--name N]
                                       [--sink hec|datadog|http]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import time
from pathlib import Path

from common import REPO, awk_program, children, environment
from hec import TOKEN, call, receiver

IDLE = ("epoll_wait", "wait4", "_worker")  # waiting: the loop's poll, a child, idle executor


def sink_opts(sink: str, url: str) -> tuple[list[str], str]:
    """(the --log-opt arguments, the receiver's count key) of ``sink``: HEC as hec.py, Datadog
    (gzip, its default) and HTTP (ndjson) as suite.py's sinks case."""
    opts = {"hec": {"splunk-url": url, "splunk-token": TOKEN},
            "datadog": {"datadog-url": url, "datadog-api-key": "bench"},
            "http": {"http-url": url + "/in", "http-format": "ndjson"}}[sink]
    key = {"hec": "events"}.get(sink, sink)
    return [a for k, v in opts.items() for a in ("--log-opt", f"{k}={v}")], key


def top(raw: Path, n: int) -> str:
    """The ``n`` functions with the most busy samples in a py-spy ``raw`` (collapsed) file:
    own (the leaf) and inclusive (anywhere on the stack), as shares of the busy samples."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, text = line.rpartition(" ")
        count = int(text)
        frames = [frame.split(" (")[0] for frame in stack.split(";")]
        if any(mark in frame for frame in frames for mark in IDLE):
            idle += count
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    busy = max(total, 1)
    rows = [f"{c / busy:6.1%}  {name}" for name, c in own.most_common(n)]
    incl = [f"{c / busy:6.1%}  {name}" for name, c in inclusive.most_common(n)]
    return (f"{total} busy samples ({idle} idle)\n-- own\n" + "\n".join(rows)
            + "\n-- inclusive\n" + "\n".join(incl))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--name", default="logdriver-profile", help="the plugin's name (its socket)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    ap.add_argument("--sink", choices=("hec", "datadog", "http"), default="hec")
    args = ap.parse_args()
    args.out.mkdir(exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    proc, url = receiver()
    try:
        with environment(args.name) as (docker, plugin):
            opts, key = sink_opts(args.sink, url)
            # warm-up: starts the shipper
            docker("run", "--rm", "--network", "none", "--log-driver", plugin.name, *opts,
                   docker.image, "awk", awk_program(10_000), timeout=120)
            while call(url + "/count")[key] < 10_000:
                time.sleep(0.05)
            call(url + "/reset", "POST")
            shipper = children(plugin.pid)[0]
            stamp = time.strftime("%Y%m%dT%H%M%S")
            outs = {name: args.out / f"profile-{stamp}-{args.sink}-{name}.txt"
                    for name in ("plugin", "shipper")}
            spies = [subprocess.Popen([spy, "record", "--native", "-r",
                                       str(args.rate), "-f", "raw", "-o", str(outs[name]),
                                       "-p", str(pid)], stdout=subprocess.DEVNULL,
                                      stderr=open(outs[name].with_suffix(".log"), "wb"))
                     for name, pid in (("plugin", plugin.pid), ("shipper", shipper))]
            time.sleep(1.0)
            t0 = time.perf_counter()
            docker("run", "-d", "--network", "none", "--log-driver", plugin.name, *opts,
                   docker.image, "awk", awk_program(args.lines), timeout=120)
            while call(url + "/count")[key] < args.lines:
                time.sleep(0.05)
            print(f"delivered {args.lines} lines in {time.perf_counter() - t0:.2f} s", flush=True)
            for s in spies:
                s.send_signal(2)
            for s in spies:
                s.wait(timeout=60)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for name, path in outs.items():
        print(f"\n== {name}: {path}\n{top(path, args.top)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
