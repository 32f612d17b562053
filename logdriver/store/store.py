"""All containers' stores under one state directory, within one disk budget: eviction, evicted.json.

Bytes on disk are history plus spool, across containers, bounded by ``LOGDRIVER_DISK_BUDGET``.
Over it, ``evict`` takes whole histories of stopped containers whose sinks have everything (oldest
stop first), then the oldest undelivered segments of stopped containers (cause ``disk_budget``),
then running containers' spools, each by its ``spool-when-full`` policy. A running container's
history (its own ``max-size`` x ``max-file``) is never taken.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from .container import ContainerLog
from .ledger import BLOCK, DISK_BUDGET, DROP_OLDEST, RATE_WINDOW_SECONDS, SPOOL_FULL
from .segment import Segment, write_json
from .writer import Syncer

log = logging.getLogger(__name__)

BUDGET_CHECK_SECONDS = 1.0  # at most one full size recount per second while over the disk budget
EVICTED_FILE = "evicted.json"  # ids of containers whose history the budget removed
EVICTED_KEPT = 10_000  # ids remembered (about 650 KB)
OVER_BUDGET_WARN_SECONDS = 60.0  # "budget exceeded by running containers" at most this often
TRASH_SUFFIX = ".removing"  # a removed history's directory, renamed, until the syncer deletes it


class Store:
    """All containers' histories and spools under one state directory, within one disk budget."""

    def __init__(self, root: Path, *, disk_budget: int) -> None:
        self.root = root
        self.dir = root / "containers"
        self.disk_budget = disk_budget
        self.logs: dict[str, ContainerLog] = {}
        self.evicted = 0
        self.on_remove: Callable[[str], None] | None = None  # told before a history is removed
        self._total = 0
        self._checked = 0.0
        self.written = 0  # bytes stored since the plugin started
        # Containers whose history the budget evicted: a later StartLogging for one of them is
        # `docker logs` (or a restart), never a first start (kept in evicted.json, bounded).
        self._evicted_ids: dict[str, None] = {}
        self._sizes: list[tuple[float, int]] = []  # (monotonic time, bytes on disk) samples
        self._over_warned = -OVER_BUDGET_WARN_SECONDS
        self._syncer = Syncer()  # flushes every container's segments; closed by close()

    def open(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            ids = json.loads((self.root / EVICTED_FILE).read_text())
            self._evicted_ids = dict.fromkeys(str(x) for x in ids if _is_container_id(str(x)))
        except (OSError, ValueError, TypeError):
            self._evicted_ids = {}
        for p in sorted(self.dir.iterdir()):
            if p.name.endswith(TRASH_SUFFIX) and p.is_dir():  # a removal a stop cut short
                self._syncer.remove_tree(p)
            elif p.is_dir() and _is_container_id(p.name):
                self.logs[p.name] = ContainerLog.open(p, p.name, on_grow=self._grew,
                                                      syncer=self._syncer)
        for lg in self.logs.values():
            lg.check_spool_limit()
        self._total = sum(lg.size for lg in self.logs.values())

    def get(self, container_id: str) -> ContainerLog:
        lg = self.logs.get(container_id)
        if lg is None:
            lg = ContainerLog.open(self.dir / container_id, container_id, on_grow=self._grew,
                                                      syncer=self._syncer)
            self.logs[container_id] = lg
        return lg

    @property
    def total_bytes(self) -> int:
        return self._total

    def was_evicted(self, container_id: str) -> bool:
        return container_id in self._evicted_ids

    def _remember_evicted(self, container_id: str) -> None:
        self._evicted_ids[container_id] = None
        while len(self._evicted_ids) > EVICTED_KEPT:
            del self._evicted_ids[next(iter(self._evicted_ids))]
        try:
            write_json(self.root / EVICTED_FILE, list(self._evicted_ids), durable=False)
        except OSError as exc:
            log.warning("cannot save the evicted containers' ids", extra={"error": exc.strerror})

    @property
    def spool_bytes(self) -> int:
        return sum(lg.spool_bytes for lg in self.logs.values())

    def _grew(self, lg: ContainerLog, nbytes: int) -> None:
        self._total += nbytes
        self.written += nbytes
        now = time.monotonic()
        if self._total > self.disk_budget and now - self._checked > BUDGET_CHECK_SECONDS:
            self._checked = now
            self.recount()
            if self._total > self.disk_budget:
                self.evict()

    def recount(self) -> int:
        """Recompute the bytes on disk from the segments (rotation and delivery free space)."""
        self._total = sum(x.size for x in self.logs.values())
        return self._total

    def maintain(self) -> None:
        """Every MAINTAIN_SECONDS: release spool segments every sink has, apply the budget,
        lift blocks that no longer hold, and sample the growth rate."""
        for lg in list(self.logs.values()):
            if lg.spool or lg.blocked:
                lg.release_delivered()
        self.recount()
        if self._total > self.disk_budget:
            self.evict()
        now = time.monotonic()
        self._sizes.append((now, self._total))
        while len(self._sizes) > 2 and now - self._sizes[1][0] >= RATE_WINDOW_SECONDS:
            self._sizes.pop(0)
        for lg in self.logs.values():
            if lg.budget_blocked and (self._total <= self.disk_budget or not lg.spool):
                lg.set_blocked(budget=False)

    @property
    def any_blocked(self) -> bool:
        """Some container's output waits for delivery (``spool-when-full=block``)."""
        return any(lg.blocked for lg in self.logs.values())

    def release_blocked(self) -> None:
        """Between two ``maintain`` calls: free what delivery has of the blocked spools, so that
        their containers go on as soon as there is room."""
        for lg in list(self.logs.values()):
            if lg.blocked and lg.spool:
                lg.release_delivered()

    @property
    def growth_rate(self) -> float:
        """Net growth of the bytes on disk per second over about the last RATE_WINDOW_SECONDS
        (what is written less what rotation, delivery and eviction free); 0 if it shrank."""
        if len(self._sizes) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._sizes[0], self._sizes[-1]
        return max(b1 - b0, 0) / (t1 - t0) if t1 > t0 else 0.0

    def seconds_left(self) -> float | None:
        """At the current growth rate, seconds until the disk budget is full (None: not
        growing)."""
        rate = self.growth_rate
        if rate <= 0:
            return None
        return max(self.disk_budget - self._total, 0) / rate

    def evict(self) -> None:
        """Bring the store within its disk budget, taking in this order: whole histories of
        stopped containers whose sinks have everything (oldest stop first); the oldest
        undelivered segments of stopped containers (cause ``disk_budget``); then running
        containers' spools, each by its policy: ``drop-oldest`` drops its oldest segment (the
        oldest data first, across containers), ``block`` stops reading its FIFO."""
        stopped = sorted((lg for lg in self.logs.values() if not lg.running),
                         key=lambda lg: lg.stopped_at)
        for lg in stopped:
            if self._total <= self.disk_budget:
                return
            if delivered_all(lg):
                self._total -= lg.size
                self.remove(lg.id)
                self._remember_evicted(lg.id)
                self.evicted += 1
                log.warning("evicted a stopped container's history for the disk budget",
                            extra={"container": lg.id})
        for lg in stopped:
            while self._total > self.disk_budget and lg.id in self.logs:
                freed = lg.drop_oldest_kept(DISK_BUDGET)
                self._total -= freed
                if not lg.kept:
                    self.remove(lg.id)
                    self._remember_evicted(lg.id)
                    self.evicted += 1
                if not freed:
                    break
        running = [lg for lg in self.logs.values() if lg.running and lg.spool]
        if self._total <= self.disk_budget:
            return
        # Each running spool by its own policy, at once: `block` ones stop growing (they wait
        # rather than lose), `drop-oldest` ones give their oldest data, oldest first.
        for lg in running:
            if lg.when_full == BLOCK:
                lg.set_blocked(budget=True)
        while self._total > self.disk_budget:
            droppable = [lg for lg in running if lg.when_full == DROP_OLDEST and lg.spool]
            if not droppable:
                break
            oldest = min(droppable, key=lambda lg: _mtime(lg.spool[0]))
            self._total -= oldest.drop_oldest_spooled(SPOOL_FULL)
        if self._total > self.disk_budget:
            now = time.monotonic()
            if now - self._over_warned >= OVER_BUDGET_WARN_SECONDS:
                self._over_warned = now
                log.warning("disk budget exceeded by running containers' history and blocked "
                            "spools", extra={"bytes": self._total, "budget": self.disk_budget})

    def remove(self, container_id: str) -> None:
        lg = self.logs.pop(container_id, None)
        if lg is not None:
            if self.on_remove is not None:
                self.on_remove(container_id)
            lg.on_change = None
            lg.close()
            lg.segments = []
            lg.spool = []
            # Renamed at once (a new history of the same id starts clean), deleted in the
            # background; a name the rename cannot take is deleted here, as before.
            trash = lg.path.with_name(f".{lg.path.name}.{time.monotonic_ns()}{TRASH_SUFFIX}")
            try:
                os.rename(lg.path, trash)
            except OSError:
                shutil.rmtree(lg.path, ignore_errors=True)
            else:
                self._syncer.remove_tree(trash)

    def close(self) -> None:
        """Close every container's files, then the syncer (idempotent)."""
        for lg in self.logs.values():
            lg.close()
        self._syncer.close()


def delivered_all(lg: ContainerLog) -> bool:
    """Every sink of ``lg`` has everything it stored (true with no sinks)."""
    return lg.delivery_floor() >= lg.end


def _mtime(seg: Segment) -> float:
    try:
        return seg.path.stat().st_mtime
    except OSError:
        return 0.0


def _is_container_id(s: str) -> bool:
    return len(s) == 64 and all(c in "0123456789abcdef" for c in s)
