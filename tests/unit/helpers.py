"""Builders shared by the unit tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from logdriver.app import Plugin, Settings
from logdriver.framing import Entry, encode_entry

T0 = 1_700_000_000_000_000_000  # ns


def entry(
    i: int, *, source: str = "stdout", t: int | None = None, line: bytes | None = None
) -> Entry:
    return Entry(source=source, time_nano=T0 + i * 1000 if t is None else t,
                 line=b"line %06d" % i if line is None else line)


def frames(n: int, start: int = 0, **kw: object) -> bytes:
    return b"".join(encode_entry(entry(i, **kw)) for i in range(start, start + n))  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def metrics_plugin(tmp_path: Path) -> AsyncIterator[int]:
    """A started plugin (its shipper process too) in ``tmp_path``, serving /metrics and /status
    on a free loopback port (yielded); shut down on exit."""
    port = free_port()
    fifos = tmp_path / "logging"
    fifos.mkdir()
    plugin = Plugin(Settings(state_dir=tmp_path / "state", socket=tmp_path / "p.sock",
                             fifo_root=str(fifos), metrics_port=port))
    await plugin.startup()
    try:
        yield port
    finally:
        await plugin.shutdown()
