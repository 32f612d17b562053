"""Every benchmark of issue #5 in one run, on one machine, against Docker's own drivers.

    sudo bench/run.sh [--lines 1000000] [--rounds 3] [--twin compiled|pure|both]
                      [--cases run,hec,sinks,mixed,memory,scale] [--sinks datadog,http]

It starts an isolated dockerd with the busybox image, `logdriver serve` (with its shipper) and a
loopback receiver that only counts (bench/hec_receiver.py), then runs, each case ROUNDS times in
alternating driver order:

  run     a container printing LINES lines of 100 bytes: its run time (StartedAt -> FinishedAt)
          under logdriver, `local` and `json-file`; then `docker logs` of the whole history and
          `--tail 10` under logdriver and `local` (the CLI, and dockerd's API over its socket
          without the CLI: bench/run.py api_logs); the plugin's (+ shipper's) CPU per million lines
  hec     time from `docker run` until the receiver holds every line, logdriver vs Docker's
          `splunk` (splunk-verify-connection=false); and the no-sink floor (bench/hec.py)
  sinks   the same for logdriver's Datadog, HTTP (ndjson), Loki and OTLP sinks (no Docker peer
          exists)
  mixed   20 containers at once, each printing LINES/20 lines of 10 B to 20 KB (lines over 16 KiB
          arrive as partial entries): wall time until all have exited, logdriver vs `local`;
          beside it the CPU of dockerd + plugin, and of the whole machine (/proc/stat), each
          vs `local`'s round
  memory  20 containers x 100,000 lines with the HEC sink down the whole run: peak memory of the
          plugin and its shipper (fresh processes; VmHWM sum, PSS beside it), and that the
          backlog is on disk (scale.py)
  scale   100 containers x 20,000 lines at once to HEC: run time vs `local`, every line
          delivered, peak memory; CPU per line and memory at 1, 20 and 100 containers (scale.py)

--twin runs the cases with the plugin's compiled kernels, its pure-Python twins
(LOGDRIVER_NO_EXTENSIONS=1 in the plugin's environment, which its shipper inherits), or both
one after the other; the results say which twin ran (env and `logdriver status --json`).

Prints a progress line per step, then a table of medians and ratios against the targets, and
writes bench/results/suite-<time>.json and a PNG chart next to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import hec
import run as history
import scale
from common import (
    REPO,
    TWIN_ENV,
    Docker,
    PluginProcess,
    awk_program,
    children,
    cpu_and_rss,
    environment,
    parse_ts,
    twin_of,
)
from cpu import print_cpu

# Issue #17's targets (ratios to the peer measured in the same run).
TARGETS = {"run vs local": 1.1, "hec vs splunk": 0.9, "logs vs local": 1.0, "mixed vs local": 1.1,
           "sinks vs splunk": 1.0, "scale vs local": scale.SCALE_RATIO}
TAIL_LIMIT_S = 0.05
HEC_CPU_LIMIT = 2.0  # plugin + shipper CPU seconds per million lines stored and shipped to HEC
MIXED_CONTAINERS = 20
SIZES = (10, 100, 1000, 5000, 20000)  # bytes per line, newline included


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def mixed_program(lines: int) -> str:
    sizes = " ".join(map(str, SIZES))
    return ('BEGIN{s=sprintf("%20000s","");gsub(/ /,"x",s);'
            f'n=split("{sizes}",L," ");'
            f'for(i=0;i<{lines};i++){{k=L[i%n+1];printf "%06d %s\\n",i,substr(s,1,k-8)}}}}')


def wait_all(docker: Docker, names: list[str]) -> None:
    for name in names:
        docker.wait(name, timeout=1800)


def case_run(docker: Docker, plugin: PluginProcess, lines: int, rounds: int,
             out: dict[str, Any]) -> None:
    drivers = [plugin.name, "local", "json-file"]
    raw: dict[str, list[dict[str, float]]] = {d: [] for d in drivers}
    cpu = 0.0
    for r in range(rounds):
        for driver in drivers[r % 3:] + drivers[: r % 3]:
            progress(f"run: round {r + 1}/{rounds}, {driver}")
            name = f"bench-{driver}-{r}"
            c0, _ = cpu_and_rss(plugin.pid)
            res = _run_only(docker, driver, lines, name)
            if driver == plugin.name:
                cpu += cpu_and_rss(plugin.pid)[0] - c0  # storing only: no docker logs yet
            if driver != "json-file":
                res["logs"] = history.timed(docker, "logs", name)
                res["tail"] = statistics.median(
                    history.timed(docker, "logs", "--tail", "10", name) for _ in range(5))
                res["tail api"] = statistics.median(
                    history.api_logs(docker, name) for _ in range(9))
            docker("rm", "-f", name, timeout=120)
            raw[driver].append(res)
    ours, local, jf = raw[plugin.name], raw["local"], raw["json-file"]
    out["run"] = {
        "seconds": {d: [x["run"] for x in raw[d]] for d in drivers},
        "ratio vs local": statistics.median(o["run"] / lo["run"] for o, lo in zip(ours, local,
                                                                                  strict=True)),
        "ratio vs json-file": statistics.median(o["run"] / j["run"] for o, j in zip(ours, jf,
                                                                                   strict=True)),
        "logs seconds": {d: [x["logs"] for x in raw[d]] for d in (plugin.name, "local")},
        "logs ratio": statistics.median(o["logs"] / lo["logs"] for o, lo in zip(ours, local,
                                                                               strict=True)),
        "tail10 seconds": {d: [x["tail"] for x in raw[d]] for d in (plugin.name, "local")},
        "tail10 api seconds": {d: [x["tail api"] for x in raw[d]]
                               for d in (plugin.name, "local")},
        "plugin cpu seconds per million lines": cpu / rounds / (lines / 1e6),
    }


def _run_only(docker: Docker, driver: str, lines: int, name: str) -> dict[str, float]:
    """Run the container (history kept whole: max-size=100m) and return its run time."""
    docker("run", "-d", "--name", name, "--network", "none", "--log-driver", driver,
           "--log-opt", "max-size=100m", "--log-opt", "max-file=5", docker.image, "awk",
           awk_program(lines), timeout=60)
    docker.wait(name, timeout=900)
    state = docker.inspect(name)["State"]
    run_s = (parse_ts(state["FinishedAt"]) - parse_ts(state["StartedAt"])) / 1e9
    return {"run": run_s}


def case_hec(docker: Docker, plugin: PluginProcess, url: str, receiver_pid: int, lines: int,
             rounds: int, out: dict[str, Any]) -> None:
    times: dict[str, list[float]] = {"splunk": [], plugin.name: []}
    floors: list[float] = []
    details: dict[str, list[dict[str, Any]]] = {"splunk": [], plugin.name: [], "no sink": []}
    for r in range(rounds):
        names = {plugin.pid: "plugin", receiver_pid: "receiver",
                 **{pid: "shipper" for pid in children(plugin.pid)}}
        for driver in (["splunk", plugin.name] if r % 2 == 0 else [plugin.name, "splunk"]):
            progress(f"hec: round {r + 1}/{rounds}, {driver}")
            details[driver].append({})
            times[driver].append(hec.one(docker, driver, url, lines, r + 1, details[driver][-1],
                                         names))
        progress(f"hec: round {r + 1}/{rounds}, no-sink floor")
        details["no sink"].append({})
        floors.append(hec.floor(docker, plugin.name, lines, r + 1, details["no sink"][-1], names))
    ratios = [o / s for o, s in zip(times[plugin.name], times["splunk"], strict=True)]
    floor_ratios = [f / s for f, s in zip(floors, times["splunk"], strict=True)]
    out["hec"] = {
        "seconds": times, "no sink seconds": floors,
        "ratios": ratios, "floor ratios": floor_ratios,
        "ratio vs splunk": statistics.median(ratios),
        "floor ratio": statistics.median(floor_ratios),
        "rounds": details,
    }


def deliver(docker: Docker, driver: str, url: str, opts: dict[str, str], key: str, lines: int,
            name: str, details: dict[str, Any] | None = None,
            names: dict[int, str] | None = None) -> float:
    """Seconds from `docker run` until the receiver holds all ``lines`` (counted under
    ``key``); with ``details``, also the CPU of every process meanwhile (as ``hec.one``)."""
    hec.call(url + "/reset", "POST")
    args = ["run", "-d", "--name", name, "--network", "none", "--log-driver", driver]
    for k, v in opts.items():
        args += ["--log-opt", f"{k}={v}"]
    with hec.account(details, names) as acct:
        t0 = time.perf_counter()
        docker(*args, docker.image, "awk", awk_program(lines), timeout=60)
        while (got := hec.call(url + "/count")[key]) < lines:
            if time.perf_counter() - t0 > hec.TIMEOUT_S:
                raise RuntimeError(f"{driver}/{key}: only {got} of {lines} lines arrived")
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
    if details is not None and acct is not None:
        details["cpu"] = acct.result()
    docker("rm", "-f", name, timeout=300)
    return elapsed


def case_sinks(docker: Docker, plugin: PluginProcess, url: str, receiver_pid: int, lines: int,
               rounds: int, out: dict[str, Any], only: str = "") -> None:
    sinks = {
        "datadog": {"datadog-url": url, "datadog-api-key": "bench"},
        "http": {"http-url": url + "/in", "http-format": "ndjson"},
        "loki": {"loki-url": url + "/loki/api/v1/push"},
        "otlp": {"otlp-endpoint": url},  # http/protobuf, gzip: the defaults
        # only when named in ``only``: Datadog without gzip (encoding and requests alone)
        "datadog-plain": {"datadog-url": url, "datadog-api-key": "bench", "datadog-gzip": "false"},
    }
    sinks = ({k: v for k, v in sinks.items() if k in only.split(",")} if only
             else {k: v for k, v in sinks.items() if k != "datadog-plain"})
    res: dict[str, list[float]] = {k: [] for k in sinks}
    details: dict[str, list[dict[str, Any]]] = {k: [] for k in sinks}
    for r in range(rounds):
        names = {plugin.pid: "plugin", receiver_pid: "receiver",
                 **{pid: "shipper" for pid in children(plugin.pid)}}
        for key, opts in sinks.items():
            progress(f"sinks: round {r + 1}/{rounds}, {key}")
            details[key].append({})
            res[key].append(deliver(docker, plugin.name, url, opts, key.split("-")[0], lines,
                                    f"sink-{key}-{r}", details[key][-1], names))
    out["sinks"] = {"seconds": res, "rounds": details}


def _cpu(docker: Docker, plugin: PluginProcess) -> tuple[float, float]:
    """CPU seconds so far of dockerd alone (its log copiers; Docker's own drivers run in it)
    and of the plugin with its shipper."""
    return (cpu_and_rss(docker.dockerd_pid, with_children=False)[0],  # type: ignore[attr-defined]
            cpu_and_rss(plugin.pid)[0])


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all CPUs, /proc/stat: not idle, not
    iowait). The mixed case's rounds also cost CPU outside dockerd and the plugin: the
    containers' shims and awk processes, and the kernel's writeback of what is stored."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def case_mixed(docker: Docker, plugin: PluginProcess, lines: int, rounds: int,
               out: dict[str, Any]) -> None:
    per = max(lines // MIXED_CONTAINERS, 1)
    times: dict[str, list[float]] = {"local": [], plugin.name: []}
    cpu: dict[str, list[tuple[float, float]]] = {"local": [], plugin.name: []}
    busy: dict[str, list[float]] = {"local": [], plugin.name: []}
    for r in range(rounds):
        for driver in (["local", plugin.name] if r % 2 == 0 else [plugin.name, "local"]):
            progress(f"mixed: round {r + 1}/{rounds}, {driver}, {MIXED_CONTAINERS} containers")
            names = [f"mixed-{driver}-{r}-{i}" for i in range(MIXED_CONTAINERS)]
            t0, cpu0, busy0 = time.perf_counter(), _cpu(docker, plugin), machine_busy()
            for name in names:
                docker("run", "-d", "--name", name, "--network", "none", "--log-driver", driver,
                       "--log-opt", "max-size=100m", docker.image, "awk", mixed_program(per),
                       timeout=60)
            wait_all(docker, names)
            times[driver].append(time.perf_counter() - t0)
            busy[driver].append(machine_busy() - busy0)
            cpu1 = _cpu(docker, plugin)
            cpu[driver].append((cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]))
            docker.remove(*names)
    out["mixed"] = {
        "lines per container": per, "seconds": times,
        "cpu seconds (dockerd, plugin + shipper)": cpu,
        "cpu ratio vs local": statistics.median(
            sum(o) / sum(lo) for o, lo in zip(cpu[plugin.name], cpu["local"], strict=True)),
        "machine busy cpu seconds": busy,
        "machine cpu ratio vs local": statistics.median(
            o / lo for o, lo in zip(busy[plugin.name], busy["local"], strict=True)),
        "ratio vs local": statistics.median(o / lo for o, lo in zip(times[plugin.name],
                                                                    times["local"], strict=True)),
    }


def med(values: Iterable[float]) -> float:
    return statistics.median(values)


def tail_rows(r: dict[str, Any], ours: str) -> list[tuple[str, str, str, bool | None]]:
    """The ``--tail 10`` rows. Judged through dockerd's API when measured: the CLI's own
    start-up (a Go binary that asks the daemon its version and the container's config before
    the logs) is the same for every driver, and on this machine often over the target by
    itself; the CLI row shows it, ours beside ``local``'s."""
    cli = f"{med(r['tail10 seconds'][ours]):.3f} s vs {med(r['tail10 seconds']['local']):.3f} s"
    if "tail10 api seconds" not in r:
        return [("docker logs --tail 10", cli, f"< {TAIL_LIMIT_S} s",
                 med(r["tail10 seconds"][ours]) < TAIL_LIMIT_S)]
    api = med(r["tail10 api seconds"][ours])
    return [("docker logs --tail 10, dockerd's API", f"{api:.3f} s vs "
             f"{med(r['tail10 api seconds']['local']):.3f} s", f"< {TAIL_LIMIT_S} s",
             api < TAIL_LIMIT_S),
            ("  the same with the CLI", cli, "", None)]


def chart(report: dict[str, Any], path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars: list[tuple[str, float, float | None]] = []
    if "run" in report:
        bars += [("run vs local", report["run"]["ratio vs local"], TARGETS["run vs local"]),
                 ("run vs json-file", report["run"]["ratio vs json-file"], None),
                 ("logs vs local", report["run"]["logs ratio"], TARGETS["logs vs local"])]
    if "hec" in report:
        bars += [("hec vs splunk", report["hec"]["ratio vs splunk"], TARGETS["hec vs splunk"]),
                 ("hec floor", report["hec"]["floor ratio"], None)]
    if "mixed" in report:
        bars.append(("20 mixed vs local", report["mixed"]["ratio vs local"],
                     TARGETS["mixed vs local"]))
    if "scale" in report:
        bars.append((f"{report['scale']['containers']} to HEC vs local",
                     report["scale"]["ratio vs local"], TARGETS["scale vs local"]))
    if not bars:
        return False
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar([b[0] for b in bars], [b[1] for b in bars], color="#4477aa")
    for i, (_, _, target) in enumerate(bars):
        if target is not None:
            ax.hlines(target, i - 0.4, i + 0.4, colors="#cc3311", linestyles="dashed")
    ax.axhline(1.0, color="grey", linewidth=0.5)
    ax.set_ylabel("logdriver / peer (lower is better; dashed: target)")
    ax.set_title(f"logdriver bench {report['when']} ({report['lines']:,} lines, "
                 f"{report['rounds']} rounds)")
    fig.autofmt_xdate(rotation=20)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def run_cases(docker: Docker, plugin: PluginProcess, url: str, receiver_pid: int,
              args: argparse.Namespace, section: dict[str, Any]) -> None:
    """Run ``args.cases`` in order with ``plugin`` as it runs now, results into ``section``."""
    mem_count, mem_lines = map(int, args.memory.split("x"))
    scale_count, scale_lines = map(int, args.scale.split("x"))
    lines, rounds = args.lines, args.rounds
    steps: dict[str, Callable[[], None]] = {
        "run": lambda: case_run(docker, plugin, lines, rounds, section),
        "hec": lambda: case_hec(docker, plugin, url, receiver_pid, lines, rounds, section),
        "sinks": lambda: case_sinks(docker, plugin, url, receiver_pid, lines, rounds, section,
                                   args.sinks),
        "mixed": lambda: case_mixed(docker, plugin, lines, rounds, section),
        "memory": lambda: scale.case_memory(docker, plugin, mem_count, mem_lines, section),
        "scale": lambda: scale.case_scale(docker, plugin, url, scale_count, scale_lines, rounds,
                                          section),
    }
    for case in args.cases.split(","):
        steps[case]()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cases", default="run,hec,sinks,mixed,memory,scale")
    ap.add_argument("--sinks", default="", metavar="A,B",
                    help="the sinks case's sinks (default datadog,http,loki,otlp; also "
                         "datadog-plain: Datadog without gzip)")
    ap.add_argument("--twin", choices=("compiled", "pure", "both"), default="compiled")
    ap.add_argument("--memory", default="20x100000", metavar="COUNTxLINES",
                    help="the memory case's containers x lines each (default 20x100000)")
    ap.add_argument("--scale", default="100x20000", metavar="COUNTxLINES",
                    help="the scale case's containers x lines each (default 100x20000)")
    ap.add_argument("--name", default="logdriver-bench", help="the plugin's name (its socket)")
    args = ap.parse_args()
    twins = ["compiled", "pure"] if args.twin == "both" else [args.twin]
    report: dict[str, Any] = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                              "lines": args.lines, "rounds": args.rounds, "twins": {}}
    proc, url = hec.receiver()
    try:
        with environment(args.name, TWIN_ENV[twins[0]]) as (docker, plugin):
            for twin in twins:
                if plugin.extra_env != TWIN_ENV[twin]:
                    plugin.stop()
                    plugin.extra_env = TWIN_ENV[twin]
                    plugin.start()
                section: dict[str, Any] = {"twin": twin_of(plugin)}
                report["twins"][twin] = section
                progress(f"twin {twin}: {section['twin']}; warm-up")
                hec.one(docker, plugin.name, url, 10_000, 0)
                hec.one(docker, "splunk", url, 10_000, 0)
                run_cases(docker, plugin, url, proc.pid, args, section)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    stem = out / f"suite-{report['when'].replace(':', '')}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2))
    ok = True
    for twin, section in report["twins"].items():
        print(f"\n== {twin} twin: {section['twin']}")
        ok = summarize({**report, **section}, stem.with_name(f"{stem.name}-{twin}")) and ok
    print(f"\nwritten: {stem.with_suffix('.json')}")
    return 0 if ok else 1


def summarize(report: dict[str, Any], stem: Path) -> bool:
    """Print the table of one twin's cases and write its chart; whether every target was met."""
    rows: list[tuple[str, str, str, bool | None]] = []
    if "run" in report:
        r = report["run"]
        s = r["seconds"]
        names = list(s)
        rows += [
            ("run time vs local", f"{med(s[names[0]]):.2f} s vs {med(s['local']):.2f} s",
             f"{r['ratio vs local']:.2f} (<= {TARGETS['run vs local']})",
             r["ratio vs local"] <= TARGETS["run vs local"]),
            ("run time vs json-file", f"{med(s[names[0]]):.2f} s vs {med(s['json-file']):.2f} s",
             f"{r['ratio vs json-file']:.2f}", None),
            ("docker logs, whole history", "",
             f"{r['logs ratio']:.2f} (<= {TARGETS['logs vs local']})",
             r["logs ratio"] <= TARGETS["logs vs local"]),
            *tail_rows(r, names[0]),
            ("plugin CPU per million lines", f"{r['plugin cpu seconds per million lines']:.2f} s",
             "", None),
        ]
    if "hec" in report:
        h = report["hec"]
        names = list(h["seconds"])
        target = TARGETS["hec vs splunk"]
        rows += [("HEC delivery vs splunk", f"{med(h['seconds'][names[1]]):.2f} s vs "
                  f"{med(h['seconds']['splunk']):.2f} s",
                  f"{h['ratio vs splunk']:.2f} (<= {target})", h["ratio vs splunk"] <= target),
                 ("  floor (no sink)", "", f"{h['floor ratio']:.2f}", None)]
        ours = h.get("rounds", {}).get(names[1], [])
        if ours and "cpu" in ours[0]:
            cpu = med((d["cpu"]["cpu seconds"]["plugin"] + d["cpu"]["cpu seconds"]["shipper"])
                      for d in ours) / (report["lines"] / 1e6)
            rows.append(("  plugin + shipper CPU per million lines", f"{cpu:.2f} s",
                         f"<= {HEC_CPU_LIMIT} s", cpu <= HEC_CPU_LIMIT))
            shipper = med(d["cpu"]["cpu seconds"]["shipper"] for d in ours) / (report["lines"]
                                                                               / 1e6)
            rows.append(("  shipper CPU per million lines", f"{shipper:.2f} s", "", None))
        if "ratios" in h:
            spread, floors = h["ratios"], h["floor ratios"]
            rows += [("  rounds (min-max)", "", f"{min(spread):.2f}-{max(spread):.2f}", None),
                     ("  floor rounds (min-max)", "", f"{min(floors):.2f}-{max(floors):.2f}",
                      None)]
    if "sinks" in report:
        splunk = med(report["hec"]["seconds"]["splunk"]) if "hec" in report else None
        target = TARGETS["sinks vs splunk"]
        per_million = report["lines"] / 1e6
        for k, v in report["sinks"]["seconds"].items():
            if splunk is not None and k in ("datadog", "http"):
                ratio = med(v) / splunk
                rows.append((f"{k} delivery vs splunk to HEC", f"{med(v):.2f} s",
                             f"{ratio:.2f} (<= {target})", ratio <= target))
            else:
                rows.append((f"{k} delivery", f"{med(v):.2f} s", "", None))
            ours = report["sinks"].get("rounds", {}).get(k, [])
            if ours:
                cpu = med(d["cpu"]["cpu seconds"]["shipper"] for d in ours) / per_million
                rows.append(("  shipper CPU per million lines", f"{cpu:.2f} s", "", None))
    if "mixed" in report:
        m = report["mixed"]
        target = TARGETS["mixed vs local"]
        rows.append((f"{MIXED_CONTAINERS} containers, 10 B-20 KB lines", "",
                     f"{m['ratio vs local']:.2f} (<= {target})", m["ratio vs local"] <= target))
        if "cpu ratio vs local" in m:  # dockerd + plugin + shipper against dockerd with local
            rows.append(("  their CPU (dockerd + plugin) vs local", "",
                         f"{m['cpu ratio vs local']:.2f}", None))
        if "machine cpu ratio vs local" in m:  # every process and the kernel, all CPUs
            rows.append(("  the machine's busy CPU vs local", "",
                         f"{m['machine cpu ratio vs local']:.2f}", None))
    rows += scale.rows(report)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'case':{width}}  {'medians':28}  {'ratio (target)':16}  met")
    for name, medians, shown, ok in rows:
        mark = "" if ok is None else ("yes" if ok else "NO")
        print(f"{name:{width}}  {medians:28}  {shown:16}  {mark}")
    if "rounds" in report.get("hec", {}):
        print_cpu(report["hec"]["rounds"])
    if "rounds" in report.get("sinks", {}):
        print_cpu(report["sinks"]["rounds"], "Sinks case")
    try:
        if chart(report, stem.with_suffix(".png")):
            print(f"chart: {stem.with_suffix('.png')}")
    except ImportError:
        print("no chart: matplotlib missing")
    return all(ok is not False for *_, ok in rows)


if __name__ == "__main__":
    sys.exit(main())
