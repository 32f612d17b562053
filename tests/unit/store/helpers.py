"""Feeding a container's store as a FIFO reader does, and reading it back."""

from __future__ import annotations

from pathlib import Path

from logdriver.framing import Scanner, decode_frames
from logdriver.store import ContainerLog

CID = "a" * 64


def write(clog: ContainerLog, data: bytes, chunk: int = 1 << 16) -> None:
    """Feed ``data`` as a new FIFO reader would, in chunks (continuing an orphaned pending
    frame, as a reader re-opened after a restart does)."""
    sc = clog.adopt_tail() or Scanner()
    for i in range(0, len(data), chunk):
        clog.ingest(sc, data[i : i + chunk])


def lines(clog: ContainerLog, pos: tuple[int, int] | None = None) -> list[bytes]:
    out = []
    for data in clog.iter_frames(pos or clog.start):
        out.extend(bytes(m.line) for _o, _l, m in decode_frames(data))
    return out


def open_log(tmp_path: Path, **kw: int) -> ContainerLog:
    clog = ContainerLog.open(tmp_path / CID, CID)
    for k, v in kw.items():
        setattr(clog, k, v)
    return clog
