"""The files a delivery worker keeps beside a container's segments: its cursor, its dead letters.

``cursor-<sink>.json`` (``ledger.cursor_path``, read by ``ledger.load_cursor``): ``{"seq": N,
"off": N}``, the position after the last frame the sink accepted; the store reads it to release
spooled segments, a restart resumes from it. ``deadletter-<sink>.ndjson``
(``ledger.deadletter_path``): one JSON object per event the sink refused for good,
``{"time", "status", "reason", "event_b64"}``, appended up to ``DEADLETTER_MAX_BYTES``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from sinks import Answer

from ..store import Position, cursor_path, load_cursor, write_json

log = logging.getLogger("logdriver.delivery")

# The cursor file is written after every accepted request: docs/operators.md promises that at
# most the batch in flight is sent again after a crash. Writing it every 0.5 s instead saved
# about 10% of the shipper's CPU (bench/spy.py: rename and write_json), but a crash then resent
# up to 0.5 s of requests (tests/e2e/test_delivery.py's SIGKILL test saw 4 batches twice).
DEADLETTER_MAX_BYTES = 64 << 20  # a dead-letter file larger than this is not appended to


class Cursor:
    """Where delivery of one (container, sink) stands; saved after each accepted batch."""

    def __init__(self, container_dir: Path, sink: str) -> None:
        self.path = cursor_path(container_dir, sink)
        self.position: Position = (0, 0)

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
        write_json(self.path, {"seq": pos[0], "off": pos[1]}, durable=False)


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
