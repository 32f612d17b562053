"""The plugin's own share of `docker logs`: ReadLogs timed on the plugin's socket, no dockerd.

```sh
.venv/bin/python bench/readlogs.py [--lines 1000000] [--rounds 5] [--state DIR] [--profile]
```

Stores LINES lines of 100 B (99 B plus the newline Docker's copier cuts off, stdout, one entry
per line, 1,000 lines per FIFO read) in a container's store under DIR (kept and reused: a second
run skips the writing), with the run case's options (max-size=100m, max-file=5). Then it serves
the plugin's API (``build_app`` over a ``Driver``, as ``logdriver serve`` does) on a unix socket
in a child process and, from this process, times each ReadLogs call from the request's first byte
to the answer's last: the whole history and ``Tail`` 10 (medians of ROUNDS), as dockerd asks for
them. With ``--profile`` the child's pid is printed and the script waits for Enter before
measuring (attach ``py-spy record --pid N``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from logdriver.api import build_app  # noqa: E402
from logdriver.delivery import InProcessDelivery  # noqa: E402
from logdriver.driver import Driver  # noqa: E402
from logdriver.framing import Entry, Scanner, encode_entry  # noqa: E402
from logdriver.store import Store  # noqa: E402

CID = "b" * 64
T0 = 1_700_000_000_000_000_000
ZERO = "0001-01-01T00:00:00Z"


def fill(state: Path, lines: int) -> None:
    """Store ``lines`` entries the way the plugin stores a FIFO's output."""
    store = Store(state, disk_budget=1 << 40)
    store.open()
    clog = store.get(CID)
    clog.configure(max_size=100_000_000, max_file=5, sinks=(), spool_max_size=None,
                   when_full="drop-oldest")
    scanner = Scanner()
    per_read = 1000
    for start in range(0, lines, per_read):
        chunk = b"".join(
            encode_entry(Entry("stdout", T0 + i * 1000, b"%09d " % i + b"x" * 89))
            for i in range(start, min(start + per_read, lines)))
        clog.ingest(scanner, chunk)
    clog.sync(wait=True)
    clog.close()
    store.close()
    (state / "filled").write_text(str(lines))


def serve(state: Path, sock_path: str, ready: multiprocessing.synchronize.Event) -> None:
    from aiohttp import web

    async def main() -> None:
        driver = Driver(Store(state, disk_budget=1 << 40), delivery=InProcessDelivery(),
                        fifo_root=str(state))
        await driver.start()
        runner = web.AppRunner(build_app(driver), handle_signals=False, access_log=None)
        await runner.setup()
        await web.UnixSite(runner, sock_path).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def read_logs(sock_path: str, tail: int) -> tuple[float, int]:
    """One ReadLogs call as dockerd makes it: (seconds to the last byte, bytes received)."""
    body = json.dumps({"Info": {"ContainerID": CID}, "Config": {
        "Since": ZERO, "Until": ZERO, "Tail": tail, "Follow": False}}).encode()
    req = (b"POST /LogDriver.ReadLogs HTTP/1.1\r\nHost: plugin\r\nConnection: close\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    t0 = time.perf_counter()
    s.sendall(req)
    total = 0
    buf = bytearray(1 << 20)
    while True:
        n = s.recv_into(buf)
        if not n:
            break
        total += n
    took = time.perf_counter() - t0
    s.close()
    return took, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--state", type=Path, default=Path(tempfile.gettempdir()) / "readlogs-bench")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    state: Path = args.state
    marker = state / "filled"
    if not (marker.exists() and marker.read_text() == str(args.lines)):
        import shutil
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir(parents=True)
        t0 = time.perf_counter()
        fill(state, args.lines)
        print(f"stored {args.lines} lines in {time.perf_counter() - t0:.1f} s", flush=True)
    sock_path = str(state / "plugin.sock")
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    ready = multiprocessing.get_context("fork").Event()
    proc = multiprocessing.get_context("fork").Process(target=serve,
                                                       args=(state, sock_path, ready))
    proc.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("the plugin did not start")
        if args.profile:
            input(f"plugin pid {proc.pid}; press Enter to measure ")
        read_logs(sock_path, 10)  # first call: connection set-up, lazy imports
        whole = [read_logs(sock_path, -1) for _ in range(args.rounds)]
        tail = [read_logs(sock_path, 10) for _ in range(max(args.rounds, 5) * 4)]
        print(json.dumps({
            "lines": args.lines,
            "whole seconds": [round(t, 3) for t, _ in whole],
            "whole median s": round(statistics.median(t for t, _ in whole), 3),
            "whole bytes": whole[0][1],
            "tail10 median ms": round(statistics.median(t for t, _ in tail) * 1000, 2),
            "tail10 min ms": round(min(t for t, _ in tail) * 1000, 2),
            "tail10 bytes": tail[0][1],
        }, indent=1))
    finally:
        proc.terminate()
        proc.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
