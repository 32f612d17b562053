"""The files a delivery worker keeps beside a container's segments: its cursor, its dead letters.

``cursor-<sink>.json`` (``ledger.cursor_path``, read by ``ledger.load_cursor``): ``{"seq": N,
"off": N}``, the position after the last frame the sink accepted, written within
``SAVE_SECONDS`` of a move; the store reads it to release spooled segments, a restart resumes
from it. ``deadletter-<sink>.ndjson``
(``ledger.deadletter_path``): one JSON object per event the sink refused for good,
``{"time", "status", "reason", "event_b64"}``, appended up to ``DEADLETTER_MAX_BYTES``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sinks import Answer

from ..store import Position, cursor_path, load_cursor, write_json

log = logging.getLogger("logdriver.delivery")

# The cursor file trails the cursor by at most this long (the store reads it about once a second
# to release spooled segments, ten times a second while its container is blocked; a restart
# resumes from it). 0: written after every accepted request, as docs/operators.md promises ("at
# most the batch in flight" sent again after a crash). 0.5 saved about 10% of the shipper's CPU
# (bench/spy.py: rename and write_json), but a crash then resends up to 0.5 s of requests
# (tests/e2e/test_delivery.py's SIGKILL test saw 4 batches twice): the promise wins.
SAVE_SECONDS = 0.0
DEADLETTER_MAX_BYTES = 64 << 20  # a dead-letter file larger than this is not appended to


class Cursor:
    """Where delivery of one (container, sink) stands, and its file: written at most
    ``SAVE_SECONDS`` after the cursor moves (``advance``), at once by ``flush``."""

    def __init__(self, container_dir: Path, sink: str,
                 on_error: Callable[[OSError], None] | None = None) -> None:
        self.path = cursor_path(container_dir, sink)
        self.position: Position = (0, 0)
        self.on_error = on_error  # told when a write fails (the position is kept in memory)
        self._saved_at = 0.0  # monotonic time of the last write
        self._unsaved = False  # moved since the last write
        self._timer: asyncio.TimerHandle | None = None

    def load(self) -> Position | None:
        """The saved position, or None when there is no cursor file yet; raises
        UnreadableCursor when there is one that cannot be read."""
        pos = load_cursor(self.path)
        if pos is not None:
            self.position = pos
        return pos

    def save(self, pos: Position) -> None:
        """Remember ``pos`` and write it (not fsynced: at least once, a crash resends a batch);
        raises OSError with the position kept in memory all the same."""
        self.position = pos
        self._unsaved = False
        self._saved_at = time.monotonic()
        write_json(self.path, {"seq": pos[0], "off": pos[1]}, durable=False)

    def advance(self, pos: Position, *, now: bool = False) -> None:
        """Move to ``pos`` (called in the event loop): written now if ``now`` or if the last
        write is ``SAVE_SECONDS`` old, else by a timer once it is."""
        self.position = pos
        self._unsaved = True
        wait = self._saved_at + SAVE_SECONDS - time.monotonic()
        if now or wait <= 0:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self.flush)

    def flush(self) -> None:
        """Write the position if it moved since the last write (an error goes to
        ``on_error``)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._unsaved:
            return
        try:
            self.save(self.position)
        except OSError as exc:
            if self.on_error is None:
                raise
            self.on_error(exc)


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
