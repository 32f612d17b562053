"""The files a delivery worker keeps beside a container's segments: its cursor, its dead letters.

``cursor-<sink>.json`` (``ledger.cursor_path``, read by ``ledger.load_cursor``): the position
after the last frame the sink accepted, as a fixed-size JSON record ``{"seq": N, "off": N, "crc":
N}`` (``ledger.cursor_record``); the store reads it to release spooled segments, a restart
resumes from it. ``deadletter-<sink>.ndjson``
(``ledger.deadletter_path``): one JSON object per event the sink refused for good,
``{"time", "status", "reason", "event_b64"}``, appended up to ``DEADLETTER_MAX_BYTES``.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import logging
import os
import time
import weakref
from collections.abc import Sequence
from os import pwrite
from pathlib import Path

from sinks import Answer

from ..store import Position, cursor_path, cursor_record, load_cursor

log = logging.getLogger("logdriver.delivery")

# The cursor file is written after every accepted request: docs/operators.md promises that at
# most the batch in flight is sent again after a crash. Writing it every 0.5 s instead saved
# about 10% of the shipper's CPU (bench/spy.py: rename and write_json), but a crash then resent
# up to 0.5 s of requests (tests/e2e/test_delivery.py's SIGKILL test saw 4 batches twice).
# So each save is made cheap instead: one pwrite of a fixed-size record over the previous one, on
# a descriptor kept open (bench/spy.py: Cursor.save went from 15.8% of the shipper's busy samples,
# open/write/rename, to under 1%).
DEADLETTER_MAX_BYTES = 64 << 20  # a dead-letter file larger than this is not appended to


class Cursor:
    """Where delivery of one (container, sink) stands; saved after each accepted batch.

    The first save of a Cursor writes the record to a new file and renames it over the cursor
    file (so a file of an older version, or a damaged one, is replaced whole) and keeps that file
    open; every later save overwrites the record in place with one ``pwrite`` at offset 0, of the
    same size, so the file never changes size. Nothing is fsynced: a SIGKILL keeps every write
    the kernel took (a one-page write is copied whole or not at all), and a power loss may leave
    an older record or, rarely, a torn one, which fails its CRC: the cursor is then unreadable,
    and delivery starts over from the oldest kept data while the store releases nothing (sent
    again, never lost)."""

    def __init__(self, container_dir: Path, sink: str) -> None:
        self.path = cursor_path(container_dir, sink)
        self.position: Position = (0, 0)
        self._fd: int | None = None
        self._closer: weakref.finalize[[int], Cursor] | None = None

    def load(self) -> Position | None:
        """The saved position, or None when there is no cursor file yet; raises
        UnreadableCursor when there is one that cannot be read."""
        pos = load_cursor(self.path)
        if pos is not None:
            self.position = pos
        return pos

    def save(self, pos: Position) -> None:
        """Remember ``pos`` and write it (not fsynced: at least once, a crash resends a batch);
        raises OSError with the position kept in memory all the same (the next save then
        replaces the file again)."""
        self.position = pos
        record = cursor_record(pos)
        if self._fd is None:
            self._replace(record)
            return
        try:
            written = pwrite(self._fd, record, 0)
        except OSError:
            self.close()
            raise
        if written != len(record):  # cannot happen over the same bytes; never leave it so
            self.close()
            raise OSError(errno.EIO, "short write of the delivery cursor")

    def close(self) -> None:
        """Close the cursor file (a later save opens it again)."""
        if self._closer is not None:
            self._closer()
        self._fd = self._closer = None

    def _replace(self, record: bytes) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            if os.write(fd, record) != len(record):
                raise OSError(errno.ENOSPC, "short write of the delivery cursor")
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)  # a Cursor dropped unclosed


def append_dead_letters(path: Path, payload: Sequence[bytes], answer: Answer) -> None:
    """Append each refused event with the sink's answer; raises OSError. A file already over
    ``DEADLETTER_MAX_BYTES`` is left as it is."""
    if path.exists() and path.stat().st_size > DEADLETTER_MAX_BYTES:
        return
    with open(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600),
              "a") as f:
        for event in payload:
            f.write(json.dumps({
                "time": time.time(), "status": answer.status, "reason": answer.reason,
                "event_b64": base64.b64encode(event).decode(),
            }) + "\n")
