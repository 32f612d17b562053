"""A container's store as the shipper process sees it: its segment files up to the told sizes.

The plugin tells the shipper each container's kept segments (``[seq, size]``, spool then history,
whole frames only) and its drop ledger; ``StoreView`` reads those files with the store's one
``Reader``, never past a told size (the plugin never rewrites below it). It offers what a delivery
worker uses of a ``ContainerLog``: ``read``, ``oldest``, ``end``, ``lost_between``,
``bytes_between``, ``running``, ``wait_change``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .ledger import Dropped, Position, load_ledger
from .reader import Reader
from .segment import Kept, Segment, segment_path


class StoreView(Reader):
    """A container's history as the shipper sees it: the plugin's segment files, read up to the
    sizes it was told. Offers what ``Delivery`` uses of a ``ContainerLog``."""

    def __init__(self, container_id: str, path: Path) -> None:
        self.id = container_id
        self.path = path
        self.running = True
        self.blocked = False  # the plugin reads no more until delivery makes room
        # Every told segment is in ``history`` (the view does not tell spool from history).
        # ``gone_sizes`` keeps every segment's last told size, after it left too.
        super().__init__(Kept())

    def update(self, segments: Sequence[Sequence[int]], running: bool,
               dropped: Sequence[Any] | None = None, *, blocked: bool = False) -> None:
        """A ``state`` message: the kept segments as ``[seq, size]``, whether the container runs,
        (when it changed) the drop ledger ``[[seq, size, entries, cause], ...]``, and whether
        the plugin waits for delivery before it reads more."""
        told = [Segment(int(seq), segment_path(self.path, int(seq)), int(size))
                for seq, size in segments]
        self.files.history = told
        self.files.gone_sizes.update((s.seq, s.size) for s in told)
        if dropped is not None:
            self.files.ledger = load_ledger(list(dropped))
        self.running = running
        self.blocked = blocked
        self.wake()

    @property
    def segments(self) -> list[tuple[int, int]]:
        """The told segments as ``(seq, size)``, spool first."""
        return [(s.seq, s.size) for s in self.files.history]

    @property
    def ledger(self) -> dict[int, Dropped]:
        """Undelivered segments the store dropped, as last told."""
        return self.files.ledger

    @property
    def end(self) -> Position:
        if not self.files.history and self.files.ledger:
            return (max(self.files.ledger) + 1, 0)
        return super().end
