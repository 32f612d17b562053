"""What one `docker logs --tail 10` of a stopped container costs inside the plugin, call by call.

```sh
sudo .venv/bin/python bench/logs_calls.py [--lines 1000000] [--calls 20]
.venv/bin/python bench/logs_calls.py --in-process [--calls 200] [--sink]
```

dockerd answers `docker logs` of a stopped container by starting a logger for it and closing it
after the stream (moby daemon/logs.go: a container not running gets ``StartLogger``; the plugin
adapter's ``Close`` is StopLogging): the plugin sees StartLogging (a fresh FIFO nothing is written
to), ReadLogs, then StopLogging for every call (docs PROTOCOL.md). In one isolated dockerd
(bench/common.py; the engine of $LOGDRIVER_E2E_ENGINE) a container prints LINES lines of 100 B
under the plugin and one under `local`; then CALLS times each, ``GET /containers/NAME/logs?tail=10``
through dockerd's API (bench/run.py ``api_logs``). The plugin's own answer time per call comes from
its /metrics (``logdriver_api_request_duration_seconds``, sum / count over the CALLS calls, read
before and after on its socket). Prints one JSON document.

``--in-process`` needs neither dockerd nor root, and is steadier on a busy machine: it calls the
driver's StartLogging and StopLogging as dockerd does for `docker logs` (a fresh FIFO held open
read-write, nothing written) on a container that has a store already, CALLS times, and prints
the median of each in ms (``--sink``: with a Splunk sink in the log-opts, built but not reached).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import awk_program, environment
from run import api_logs

from tests.e2e.helpers import UnixHTTPConnection

ENDPOINTS = ("/LogDriver.StartLogging", "/LogDriver.ReadLogs", "/LogDriver.StopLogging")
_SAMPLE = re.compile(r'^logdriver_api_request_duration_seconds_(sum|count)\{endpoint="([^"]+)"\}'
                     r" (\S+)$", re.M)


def api_totals(socket_path: str) -> dict[str, tuple[float, float]]:
    """endpoint -> (seconds, calls) so far, from the plugin's /metrics on its socket."""
    conn = UnixHTTPConnection(socket_path, timeout=30)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for kind, endpoint, value in _SAMPLE.findall(text):
        (sums if kind == "sum" else counts)[endpoint] = float(value)
    return {e: (sums.get(e, 0.0), counts.get(e, 0.0)) for e in sums}


async def in_process(calls: int, sink: bool) -> dict[str, float]:
    """Median ms of StartLogging and StopLogging of `docker logs` on a stopped container."""
    from logdriver.delivery import InProcessDelivery
    from logdriver.driver import Driver
    from logdriver.store import Store

    root = Path(tempfile.mkdtemp(prefix="ld-calls-", dir="/var/tmp"))
    fifo_root = root / "logging"
    fifo_root.mkdir()
    config = {"max-size": "100m", "max-file": "5"}
    if sink:
        config |= {"splunk-url": "https://127.0.0.1:9", "splunk-verify-connection": "false",
                   "splunk-token": "00000000-0000-0000-0000-000000000000"}
    info = {"ContainerID": "c" * 64, "ContainerName": "/calls", "Config": config,
            "ContainerEnv": None, "ContainerLabels": None, "DaemonName": "docker"}
    driver = Driver(Store(root / "state", disk_budget=1 << 30), delivery=InProcessDelivery(),
                    fifo_root=str(fifo_root), env={}, stop_eof_timeout=0.01)
    await driver.start()
    times: dict[str, list[float]] = {"StartLogging": [], "StopLogging": []}
    try:
        for i in range(calls + 1):  # the first is the container's own start
            path = str(fifo_root / f"{i:064x}")
            os.mkfifo(path, 0o700)
            held = os.open(path, os.O_RDWR | os.O_NONBLOCK)
            t0 = time.perf_counter()
            await driver.start_logging(path, info)
            t1 = time.perf_counter()
            driver.stop_logging(path)
            t2 = time.perf_counter()
            os.close(held)
            os.unlink(path)
            await asyncio.sleep(0.02)  # the reader sees EOF and goes
            if i:
                times["StartLogging"].append(t1 - t0)
                times["StopLogging"].append(t2 - t1)
    finally:
        await driver.close()
    return {k: round(statistics.median(v) * 1e3, 3) for k, v in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--sink", action="store_true")
    args = ap.parse_args()
    if args.in_process:
        print(json.dumps(asyncio.run(in_process(args.calls, args.sink))))
        return 0
    out: dict[str, object] = {"lines": args.lines, "calls": args.calls}
    with environment("logdriver-bench") as (docker, plugin):
        for driver in (plugin.name, "local"):
            name = f"calls-{driver}"
            docker("run", "-d", "--name", name, "--network", "none", "--log-driver", driver,
                   "--log-opt", "max-size=100m", "--log-opt", "max-file=5",
                   docker.image, "awk", awk_program(args.lines), timeout=60)
            docker.wait(name, timeout=900)
            api_logs(docker, name)  # warm-up
            before = api_totals(str(plugin.socket_path))
            times = [api_logs(docker, name) for _ in range(args.calls)]
            after = api_totals(str(plugin.socket_path))
            key = "logdriver" if driver == plugin.name else driver
            out[f"{key}_api_tail10_ms"] = round(statistics.median(times) * 1e3, 2)
            if driver == plugin.name:
                per_call = {}
                for e in ENDPOINTS:
                    s1, c1 = after.get(e, (0.0, 0.0))
                    s0, c0 = before.get(e, (0.0, 0.0))
                    per_call[e.removeprefix("/LogDriver.")] = (
                        round((s1 - s0) / (c1 - c0) * 1e3, 2) if c1 > c0 else None)
                out["plugin_ms_per_call"] = per_call
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
