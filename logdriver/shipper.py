"""StoreView: a container's segment files as the shipper process reads them (see
logdriver/delivery/ for the shipper itself)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .ring import READ_BYTES, Waiters, _whole_frames
from .spool import Dropped, Position, load_ledger, lost_between


class StoreView:
    """A container's history as the shipper sees it: the plugin's segment files, read up to the
    sizes it was told. Offers what ``Delivery`` uses of a ``ContainerLog``."""

    def __init__(self, container_id: str, path: Path) -> None:
        self.id = container_id
        self.path = path
        self.running = True
        self.segments: list[tuple[int, int]] = []  # (seq, size of whole frames), spool first
        self._sizes: dict[int, int] = {}  # every segment's last known size, kept after removal
        self.ledger: dict[int, Dropped] = {}  # undelivered segments the store dropped
        self._waiters = Waiters()

    def update(self, segments: Sequence[Sequence[int]], running: bool,
               dropped: Sequence[Any] | None = None) -> None:
        self.segments = [(int(seq), int(size)) for seq, size in segments]
        self._sizes.update(self.segments)
        if dropped is not None:
            self.ledger = load_ledger(list(dropped))
        self.running = running
        self._notify()

    @property
    def end(self) -> Position:
        if not self.segments and self.ledger:
            return (max(self.ledger) + 1, 0)
        return self.segments[-1] if self.segments else (0, 0)

    @property
    def start(self) -> Position:
        return (self.segments[0][0], 0) if self.segments else (0, 0)

    @property
    def oldest(self) -> Position:
        if not self.segments and self.ledger:
            return (max(self.ledger) + 1, 0)
        return self.start

    def _size(self, seq: int) -> int | None:
        if self.segments and 0 <= seq - self.segments[0][0] < len(self.segments):
            return self.segments[seq - self.segments[0][0]][1]
        return None

    def read(self, pos: Position, limit: int = READ_BYTES) -> tuple[bytes, Position, Position]:
        """Whole frames from ``pos``, as ``ContainerLog.read``: ``(data, start, next)``."""
        seq, off = pos
        while True:
            size = self._size(seq)
            if size is None:
                oldest = self.oldest
                if (seq, off) < oldest:
                    seq, off = oldest  # dropped: go on from the oldest kept
                    if self._size(seq) is not None:
                        continue
                return b"", (seq, off), (seq, off)
            if off >= size:
                if seq == self.segments[-1][0]:
                    return b"", (seq, off), (seq, off)
                seq, off = seq + 1, 0
                continue
            try:
                fd = os.open(self.path / f"{seq:010d}.log", os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                # Removed before we were told: the plugin's next state message (sent right
                # after) drops it from the view with the ledger entry saying why; wait for it.
                return b"", (seq, off), (seq, off)
            try:
                data = os.pread(fd, min(size - off, limit), off)
            finally:
                os.close(fd)
            if off + len(data) < size:
                data = data[: _whole_frames(data)]
            return data, (seq, off), (seq, off + len(data))

    def bytes_between(self, a: Position, b: Position) -> int:
        total = 0
        for seq in range(a[0], b[0] + 1):
            size = self._sizes.get(seq, 0)
            lo = a[1] if seq == a[0] else 0
            hi = b[1] if seq == b[0] else size
            total += max(hi - lo, 0)
        return total

    def lost_between(
        self, a: Position, b: Position, entries_before_a: int | None
    ) -> dict[str, tuple[int, int]]:
        """What a reader lost jumping from ``a`` to ``b``: (bytes, entries) by cause."""
        return lost_between(a, b, self.ledger, self._sizes, entries_before_a)

    async def wait_change(self, timeout: float | None = None) -> None:
        await self._waiters.wait(timeout)

    def _notify(self) -> None:
        self._waiters.wake()
