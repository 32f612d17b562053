"""A container's store as the shipper process sees it: its segment files up to the told sizes.

The plugin tells the shipper each container's kept segments (``[seq, size]``, spool then history,
whole frames only; while only the last one grows, that one alone) and its drop ledger
(delivery/messages.py, ``state``); ``StoreView`` reads those files with the store's one
``Reader``, never past a told size (the plugin never rewrites below it). It offers what a delivery
worker uses of a ``ContainerLog``: ``read``, ``oldest``, ``end``, ``lost_between``,
``bytes_between``, ``running``, ``wait_change``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .ledger import Dropped, Position, load_ledger
from .reader import Reader
from .segment import Kept, Segment, segment_path

log = logging.getLogger(__name__)


class StoreView(Reader):
    """A container's history as the shipper sees it: the plugin's segment files, read up to the
    sizes it was told. Offers what ``Delivery`` uses of a ``ContainerLog``."""

    def __init__(self, container_id: str, path: Path) -> None:
        self.id = container_id
        self.path = path
        self.running = True
        self.blocked = False  # the plugin reads no more until delivery makes room
        self._out_of_step = False  # warned of a ``last`` for a segment not told (until a full)
        # Every told segment is in ``history`` (the view does not tell spool from history).
        # ``gone_sizes`` keeps every segment's last told size, after it left too.
        super().__init__(Kept())

    def update(self, segments: Sequence[Sequence[int]] | None, running: bool,
               dropped: Sequence[Any] | None = None, *, blocked: bool = False,
               last: Sequence[int] | None = None) -> None:
        """A ``state`` message: the kept segments as ``[seq, size]`` (None: the same as told
        before), or ``last``, the ``[seq, size]`` of the last one alone when only it grew,
        whether the container runs, (when it changed) the drop ledger
        ``[[seq, size, entries, cause], ...]``, and whether the plugin waits for delivery before
        it reads more."""
        if segments is not None:
            told = [Segment(int(seq), segment_path(self.path, int(seq)), int(size))
                    for seq, size in segments]
            self.files.history = told
            self.files.gone_sizes.update((s.seq, s.size) for s in told)
            self._out_of_step = False
        elif last is not None:
            self._grew(int(last[0]), int(last[1]))
        if dropped is not None:
            self.files.ledger = load_ledger(list(dropped))
        self.running = running
        self.blocked = blocked
        self.wake()

    def _grew(self, seq: int, size: int) -> None:
        """The last told segment, ``seq``, now holds ``size`` bytes of whole frames."""
        history = self.files.history
        if not history or history[-1].seq != seq:
            # Not the segment the plugin grows: a message out of step. Ignored; the next full
            # state (at the next rotation or restart) says everything again.
            if not self._out_of_step:
                self._out_of_step = True
                log.warning("state message for an unknown segment ignored",
                            extra={"container": self.id, "segment": seq})
            return
        # A new object (as a full message makes): a reader holding the old one keeps its size.
        history[-1] = Segment(seq, history[-1].path, size)
        self.files.gone_sizes[seq] = size

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
