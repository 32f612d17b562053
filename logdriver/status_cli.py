"""``logdriver status``: the plugin's /status as a table (or JSON), from its socket.

The socket is found by plugin name for either install mode: ``logdriver serve`` listens on
``/run/docker/plugins/NAME.sock``; a managed plugin's socket is
``/run/docker/plugins/<plugin id>/logdriver.sock`` (the id from ``docker plugin inspect``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

PLUGIN_SOCKET_DIR = Path("/run/docker/plugins")
MANAGED_SOCKET_NAME = "logdriver.sock"  # plugin/config.json's interface.socket


def find_socket(name: str, socket: str | None = None) -> Path:
    """The plugin's socket, or SystemExit naming every place that was tried."""
    if socket:
        return Path(socket)
    tried = [PLUGIN_SOCKET_DIR / f"{name}.sock"]
    if tried[0].exists():
        return tried[0]
    docker = shutil.which("docker")
    if docker:
        try:
            out = subprocess.run([docker, "plugin", "inspect", "--format", "{{.Id}}", name],
                                 capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            out = None
        if out is not None and out.returncode == 0 and out.stdout.strip():
            managed = PLUGIN_SOCKET_DIR / out.stdout.strip() / MANAGED_SOCKET_NAME
            if managed.exists():
                return managed
            tried.append(managed)
    raise SystemExit(f"logdriver status: no socket for plugin {name!r} (tried "
                     f"{', '.join(map(str, tried))}; is it running? --socket names one)")


def fetch(sock: Path) -> dict[str, Any]:
    transport = httpx.HTTPTransport(uds=str(sock))
    with httpx.Client(transport=transport, timeout=10, trust_env=False) as client:
        resp = client.get("http://plugin/status")
        resp.raise_for_status()
        doc: dict[str, Any] = resp.json()
        return doc


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


SHORT_ID = 12  # hex digits of a short container ID, as `docker ps` prints it


def _dropped(sink: dict[str, Any]) -> str:
    """Lines the store dropped before the sink had them (and why), else bytes, else 0."""
    by_cause = sink.get("dropped") or {}
    lines = sum(int(v[0]) for v in by_cause.values())
    if lines:
        return f"{lines} ({', '.join(sorted(by_cause))})"
    return _size(sink["dropped_bytes"]) if sink.get("dropped_bytes") else "0"


def _kernels_line(reports: dict[str, Any]) -> str:
    """``kernels: plugin compiled (2), shipper pure (5; LOGDRIVER_NO_EXTENSIONS is set)``:
    which twin of the compiled kernels each process runs, and why one runs pure Python."""
    parts = []
    for process, rep in reports.items():
        if not rep:
            parts.append(f"{process} ?")
            continue
        kernels = rep.get("kernels") or {}
        why = sorted(set((rep.get("why") or {}).values()))
        detail = "; ".join([str(len(kernels)), *why]) if rep.get("twin") != "compiled" \
            else str(len(kernels))
        parts.append(f"{process} {rep.get('twin')} ({detail})")
    return f"kernels: {', '.join(parts)}" if parts else ""


def render(doc: dict[str, Any], out: TextIO) -> None:
    """The table: one row per (container, sink), the container by short ID and name (names are
    reused by later containers, IDs are not), then the store line and the warnings."""
    header = ("CONTAINER ID", "NAME", "SINK", "STATE", "DELIVERED", "BACKLOG", "OLDEST",
              "RETRIES", "DROPPED", "DEAD", "LAST ERROR")
    rows: list[tuple[str, ...]] = []
    for c in doc.get("containers", []):
        short = str(c["id"])[:SHORT_ID]
        name = (c.get("name") or "-") + ("" if c.get("running") else " (stopped)")
        sinks = c.get("sinks") or []
        if not sinks:
            rows.append((short, name, "-", "-", "-", "-", "-", "-", "-", "-", ""))
        for s in sinks:
            oldest = s.get("oldest_undelivered_seconds") or 0
            rows.append((short, name, str(s["sink"]), str(s["state"]), str(s["delivered_events"]),
                         f"{s['backlog_events']} ({_size(s['backlog_bytes'])})",
                         f"{oldest:.0f}s" if oldest else "-", str(s["retries"]),
                         _dropped(s),
                         str(s["dead_letters"]), str(s.get("last_error") or "")[:60]))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        out.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() + "\n")
    store = doc.get("store") or {}
    left = store.get("seconds_to_full")
    out.write(f"\nstore {_size(store.get('bytes', 0))} of {_size(store.get('disk_budget', 0))}"
              f" (spool {_size(store.get('spool_bytes', 0))})"
              + (f", full in {_duration(left)} at {_size(store.get('growth_bytes_per_second', 0))}"
                 "/s" if left is not None else "")
              + f", shipper {doc.get('shipper', '?')}\n")
    line = _kernels_line(doc.get("kernels") or {})
    if line:
        out.write(line + "\n")
    for w in doc.get("warnings") or []:
        out.write(f"WARNING: {w}\n")
    if doc.get("shipper") == "down":
        out.write("WARNING: delivery counters are stale: the shipper process is not reporting\n")


def main(name: str, socket: str | None, as_json: bool, watch: float | None) -> int:
    """Print the status once (or every ``watch`` s); 0, or 1 when the plugin cannot be asked.
    A closed output (``logdriver status | head``) ends it quietly with 0."""
    try:
        return _main(name, socket, as_json, watch)
    except BrokenPipeError:
        # The reader is gone. Python flushes stdout again at exit, which would fail the same
        # way and print a traceback: point stdout at /dev/null first.
        _stdout_to_devnull()
        return 0
    except OSError as exc:  # the output cannot be written (a full disk: > /dev/full)
        _stdout_to_devnull()
        print(f"logdriver status: cannot write the output: {exc.strerror}", file=sys.stderr)
        return 1


def _stdout_to_devnull() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _main(name: str, socket: str | None, as_json: bool, watch: float | None) -> int:
    sock = find_socket(name, socket)
    while True:
        try:
            doc = fetch(sock)
        except (httpx.HTTPError, OSError) as exc:
            print(f"logdriver status: cannot ask {sock}: {exc}", file=sys.stderr)
            return 1
        if watch:
            sys.stdout.write("\033[H\033[2J")  # clear the terminal, as watch(1) does
        if as_json:
            json.dump(doc, sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            render(doc, sys.stdout)
        sys.stdout.flush()
        if not watch:
            return 0
        time.sleep(watch)
