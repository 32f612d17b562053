"""The many-container cases of bench/suite.py (issue #17): ``scale`` and ``memory``.

scale   COUNT containers at once (default 100), each printing LINES lines of 100 bytes (default
        20,000), to HEC. All are started first, waiting on a FIFO, then let go together. Per
        round: their run time (let go until the last has exited) under logdriver against
        `local`; every line at the receiver (its count checked);
        the peak memory of a fresh plugin + shipper. Then the growth report: the same at 1, 20
        and COUNT containers under logdriver, CPU per line (plugin + shipper) and peak memory.
memory  COUNT containers x LINES lines (default 20 x 100,000) with the HEC sink down the whole
        run: peak memory of a fresh plugin and its shipper, and that the backlog is on disk.

Peak memory is VmHWM (/proc/PID/status) of the plugin plus that of its shipper, each fresh.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import hec
from common import Docker, PeakPss, PluginProcess, awk_program, children, cpu_and_rss

SCALE_LIMIT = 150 * 2**20  # issue #17: plugin + shipper under 150 MiB with 100 containers
SCALE_RATIO = 1.2  # run time at most 1.2x local
MEMORY_LIMIT = 100 * 2**20  # issue #17: under 100 MiB with the sink down
GROWTH_POINTS = (1, 20)  # plus the case's own count
STALL_SECONDS = 60.0  # delivery that moved no line for this long is reported as incomplete


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _peaks(plugin: PluginProcess) -> dict[str, int]:
    """VmHWM in bytes of the plugin and of each child (its shipper)."""
    return {("plugin" if i == 0 else "shipper" if i == 1 else f"child {i}"):
            cpu_and_rss(pid, with_children=False)[1]
            for i, pid in enumerate([plugin.pid, *children(plugin.pid)])}


def _start(docker: Docker, driver: str, names: list[str], lines: int,
           opts: dict[str, str], gate: Path | None = None) -> None:
    """``docker run -d`` each; with ``gate`` (a folder holding the FIFO ``go``) each waits,
    reading the FIFO, until ``_open_gate``: then all log at once, however long starting 100
    containers one by one took."""
    for name in names:
        args = ["run", "-d", "--name", name, "--network", "none", "--log-driver", driver]
        for k, v in opts.items():
            args += ["--log-opt", f"{k}={v}"]
        if gate is None:
            docker(*args, docker.image, "awk", awk_program(lines), timeout=120)
        else:
            docker(*args, "-v", f"{gate}:/gate:ro", docker.image, "sh", "-c",
                   f"cat /gate/go >/dev/null; exec awk '{awk_program(lines)}'", timeout=120)


def _open_gate(gate: Path) -> None:
    """Open the FIFO for writing (every waiting reader's open completes) and close it (EOF)."""
    os.close(os.open(gate / "go", os.O_WRONLY))


def _wait(docker: Docker, names: list[str]) -> None:
    for name in names:
        docker.wait(name, timeout=1800)


def one_scale(docker: Docker, driver: str, url: str, count: int, lines: int, tag: str,
              plugin: PluginProcess | None) -> dict[str, Any]:
    """Run ``count`` containers of ``lines`` lines under ``driver``; with ``plugin`` (a fresh
    one), to HEC, until the receiver holds every line, with its CPU and peak memory."""
    names = [f"scale-{tag}-{i}" for i in range(count)]
    gate = Path(tempfile.mkdtemp(prefix="ld-scale-", dir="/tmp"))
    os.mkfifo(gate / "go")
    opts = {} if plugin is None else {"splunk-url": url, "splunk-token": hec.TOKEN,
                                      "splunk-verify-connection": "false"}
    cpu0 = 0.0
    if plugin is not None:
        plugin.stop()
        plugin.start()
        hec.call(url + "/reset", "POST")
        time.sleep(2)  # the shipper has started: its imports are not counted per line
        cpu0 = cpu_and_rss(plugin.pid)[0]
    _start(docker, driver, names, lines, opts, gate)
    t0 = time.perf_counter()
    _open_gate(gate)
    with PeakPss(plugin.pid if plugin is not None else os.getpid()) as sampler:
        _wait(docker, names)  # (under `local`: the bench's own, unused)
    shutil.rmtree(gate)
    res: dict[str, Any] = {"containers": count, "lines": lines,
                           "run seconds": time.perf_counter() - t0}
    if plugin is not None:
        want = count * lines
        got, moved = 0, time.perf_counter()
        with PeakPss(plugin.pid) as after_run:
            while got < want and time.perf_counter() - moved < STALL_SECONDS:
                now = hec.call(url + "/count")["events"]
                got, moved = now, (time.perf_counter() if now != got else moved)
                time.sleep(0.1)
        if got < want:
            progress(f"scale: only {got} of {want} lines arrived, none for {STALL_SECONDS} s")
        res["delivered seconds"] = time.perf_counter() - t0
        time.sleep(0.5)  # a duplicate would show now
        res["received events"] = hec.call(url + "/count")["events"]
        cpu = cpu_and_rss(plugin.pid)[0] - cpu0
        peaks = _peaks(plugin)
        res |= {"cpu seconds": cpu, "cpu us per line": cpu / want * 1e6,
                "peak rss bytes": sum(peaks.values()), "peak rss by process": peaks,
                "peak pss bytes": max(sampler.peak, after_run.peak)}
    docker.remove(*names)
    return res


def case_scale(docker: Docker, plugin: PluginProcess, url: str, count: int, lines: int,
               rounds: int, out: dict[str, Any]) -> None:
    runs: dict[str, list[dict[str, Any]]] = {"local": [], plugin.name: []}
    for r in range(rounds):
        for driver in (["local", plugin.name] if r % 2 == 0 else [plugin.name, "local"]):
            progress(f"scale: round {r + 1}/{rounds}, {driver}, {count} containers x {lines}")
            runs[driver].append(one_scale(docker, driver, url, count, lines, f"{driver}-{r}",
                                          plugin if driver == plugin.name else None))
    growth = []
    for n in (p for p in GROWTH_POINTS if p < count):
        progress(f"scale: growth, {n} containers x {lines}")
        growth.append(one_scale(docker, plugin.name, url, n, lines, f"growth-{n}", plugin))
    growth.append(runs[plugin.name][0])
    ours, local = runs[plugin.name], runs["local"]
    out["scale"] = {
        "containers": count, "lines per container": lines, "runs": runs, "growth": growth,
        "ratio vs local": statistics.median(o["run seconds"] / lo["run seconds"]
                                            for o, lo in zip(ours, local, strict=True)),
        "every line delivered": all(o["received events"] == count * lines for o in ours),
        "peak rss bytes": max(o["peak rss bytes"] for o in ours),
        "peak pss bytes": max(o["peak pss bytes"] for o in ours),
    }


def case_memory(docker: Docker, plugin: PluginProcess, count: int, lines: int,
                out: dict[str, Any]) -> None:
    progress(f"memory: fresh plugin, sink down, {count} containers x {lines} lines")
    plugin.stop()
    plugin.start()
    names = [f"mem-{i}" for i in range(count)]
    with PeakPss(plugin.pid) as sampler:
        _start(docker, plugin.name, names, lines, {
            "splunk-url": "http://127.0.0.1:9", "splunk-token": "t",
            "splunk-verify-connection": "false"})
        _wait(docker, names)
        time.sleep(3)  # let the shipper retry with everything stored
    peaks = _peaks(plugin)
    ids = [docker.inspect(n)["Id"] for n in names]
    store = sum(p.stat().st_size for cid in ids
                for p in (plugin.state_dir / "containers" / cid).glob("*.log"))
    docker.remove(*names)
    # The plugin keeps their backlog for the sink (removed containers too): a fresh state, so
    # the cases after this one start without 20 workers retrying to a closed port.
    plugin.stop()
    shutil.rmtree(plugin.state_dir)
    plugin.start()
    out["memory"] = {"containers": count, "lines": lines,
                     "peak rss bytes (plugin + shipper)": sum(peaks.values()),
                     "peak rss by process": peaks, "store bytes": store,
                     "peak pss bytes (plugin + shipper)": sampler.peak,
                     "written bytes": count * lines * 100}


def rows(report: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """The summary table's rows of these two cases."""
    out: list[tuple[str, str, str, bool | None]] = []
    if "scale" in report:
        s = report["scale"]
        med = statistics.median
        names = list(s["runs"])
        ours = s["runs"][names[1]]
        out.append((f"{s['containers']} containers x {s['lines per container']} to HEC, run",
                    f"{med(o['run seconds'] for o in ours):.2f} s vs "
                    f"{med(o['run seconds'] for o in s['runs']['local']):.2f} s",
                    f"{s['ratio vs local']:.2f} (<= {SCALE_RATIO})",
                    s["ratio vs local"] <= SCALE_RATIO))
        out.append(("  every line delivered", f"{med(o['delivered seconds'] for o in ours):.2f} s",
                    "", s["every line delivered"]))
        out.append(("  peak memory", f"{s['peak rss bytes'] / 2**20:.0f} MiB (PSS "
                    f"{s.get('peak pss bytes', 0) / 2**20:.0f})", "< 150 MiB",
                    s["peak rss bytes"] < SCALE_LIMIT))
        for g in s["growth"]:
            out.append((f"  growth: {g['containers']} containers",
                        f"{g['cpu us per line']:.2f} us/line, "
                        f"{g['peak rss bytes'] / 2**20:.0f} MiB (PSS "
                        f"{g.get('peak pss bytes', 0) / 2**20:.0f})", "", None))
    if "memory" in report:
        m = report["memory"]
        rss = m["peak rss bytes (plugin + shipper)"]
        by = ", ".join(f"{k} {v / 2**20:.0f}" for k, v in m.get("peak rss by process", {}).items())
        pss = m.get("peak pss bytes (plugin + shipper)", 0)
        out.append(("peak memory, sink down",
                    f"{rss / 2**20:.0f} MiB ({by}; PSS {pss / 2**20:.0f})", "< 100 MiB",
                    rss < MEMORY_LIMIT))
        out.append(("  backlog on disk", f"{m['store bytes'] / 1e6:.0f} MB", "", None))
    return out
