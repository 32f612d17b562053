"""What both benchmarks share: an isolated dockerd with the busybox image and the plugin running
(the end-to-end suite's harness), and the plugin's CPU and memory figures."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.e2e.daemon import Daemon, build_image  # noqa: E402
from tests.e2e.helpers import Docker, PluginProcess, parse_ts, plugin_command  # noqa: E402

__all__ = ["REPO", "TWIN_ENV", "Docker", "PeakPss", "PluginProcess", "awk_program", "children",
           "cpu_and_rss", "environment", "parse_ts", "pss", "twin_of"]

# The plugin's environment for each twin (sinks/util/twin.py): the shipper inherits it.
NO_EXTENSIONS = "LOGDRIVER_NO_EXTENSIONS"
TWIN_ENV: dict[str, dict[str, str]] = {"compiled": {NO_EXTENSIONS: "0"},
                                       "pure": {NO_EXTENSIONS: "1"}}


def awk_program(lines: int) -> str:
    """busybox awk printing ``lines`` lines of 100 bytes: "%06d " + 92 x, plus the newline."""
    return ('BEGIN{s=sprintf("%92s","");gsub(/ /,"x",s);'
            f'for(i=0;i<{lines};i++)printf "%06d %s\\n",i,s}}')


@contextlib.contextmanager
def environment(plugin_name: str, env: dict[str, str] | None = None,
                ) -> Iterator[tuple[Docker, PluginProcess]]:
    """An isolated dockerd, the image, and ``logdriver serve`` as ``plugin_name`` (``env``:
    added to its environment, e.g. TWIN_ENV["pure"])."""
    root = Path(tempfile.mkdtemp(prefix="ld-bench-", dir="/tmp"))
    daemon = Daemon(root)
    (root / "client-config").mkdir()
    docker = Docker(daemon.host, root / "client-config")
    daemon.start(docker)
    assert daemon.proc is not None
    docker.dockerd_pid = daemon.proc.pid  # type: ignore[attr-defined]  # for the CPU figures
    plugin = PluginProcess(plugin_name, root / "state", root / "plugin.log", env)
    try:
        docker.image = build_image(docker)
        plugin.start()
        yield docker, plugin
    finally:
        try:
            docker.remove_all_containers()
        finally:
            plugin.stop()
            daemon.stop()
            daemon.cleanup()


def twin_of(plugin: PluginProcess) -> dict[str, object]:
    """Which twin the running plugin uses: its ``LOGDRIVER_NO_EXTENSIONS`` and what ``logdriver
    status --json`` says (its ``twin`` and ``kernels``, when the plugin reports them)."""
    out: dict[str, object] = {NO_EXTENSIONS: plugin.extra_env.get(NO_EXTENSIONS, "")}
    res = subprocess.run([*plugin_command(), "status", "--json", "--socket",
                          str(plugin.socket_path)], capture_output=True, timeout=30)
    if res.returncode == 0:
        doc = json.loads(res.stdout)
        out |= {k: doc[k] for k in ("twin", "kernels", "why") if k in doc}
        for part in ("plugin", "shipper"):
            if isinstance(doc.get(part), dict) and "twin" in doc[part]:
                out[part] = doc[part]["twin"]
    else:
        out["status error"] = res.stderr.decode(errors="replace")[-300:]
    return out


def _one(pid: int) -> tuple[float, int]:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) * 1024
    return cpu, rss


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def cpu_and_rss(pid: int, *, with_children: bool = True) -> tuple[float, int]:
    """CPU seconds used so far by process ``pid`` and its live children (the plugin and its
    shipper), and the sum of their peak resident memory (bytes)."""
    cpu, rss = 0.0, 0
    for p in [pid, *(children(pid) if with_children else [])]:
        with contextlib.suppress(OSError):
            c, r = _one(p)
            cpu, rss = cpu + c, rss + r
    return cpu, rss


def pss(pid: int, *, with_children: bool = True) -> int:
    """Proportional set size (bytes, /proc/PID/smaps_rollup ``Pss``) of ``pid`` and its live
    children, summed: a page shared by N processes counts 1/N in each, so the shared libraries
    both processes map count once in the sum, where the VmRSS/VmHWM sum counts them twice."""
    total = 0
    for p in [pid, *(children(pid) if with_children else [])]:
        with contextlib.suppress(OSError), open(f"/proc/{p}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total


class PeakPss:
    """The highest ``pss`` sum of a process and its children while in use (``with``), sampled
    every ``every`` seconds: the kernel keeps a peak RSS (VmHWM) but no peak PSS."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, pss(self.pid))
            if self._stop.wait(self.every):
                return

    def start(self) -> PeakPss:
        self._thread.start()
        return self

    def stop(self) -> int:
        """Stop sampling; the peak (bytes)."""
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, pss(self.pid))
        return self.peak

    def __enter__(self) -> PeakPss:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
