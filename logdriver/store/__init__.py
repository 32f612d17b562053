"""The plugin's durable store of container logs: history for ``docker logs``, spool for delivery.

On disk, under ``<state dir>/containers/<container id>/``::

    meta.json             container Info, when it stopped, its sinks, spool settings and the
                          drop ledger (container.py); rewritten only when it changed
    fifos/<FIFO name>     a note per FIFO the container's output is being read from, holding
                          its path (fifos.py; not fsynced: FIFOs end with the machine)
    <seq>.log             a segment: validated frames exactly as Docker sent them, back to back
    <seq>.idx             the segment's index: one fixed-size record per closed block (segment.py)
    cursor-<sink>.json    where delivery to that sink stands (written by the delivery worker)
    deadletter-<sink>.ndjson  the events that sink refused for good, with its answer (appended by
                          the delivery worker, up to a size cap)

and ``<state dir>/evicted.json``: ids of containers whose history the disk budget removed.

Who writes what:

- Only the plugin's ``Writer`` (writer.py) writes segments and indexes, and only past a segment's
  ``size``: up to it a segment holds only whole, validated frames and is never rewritten; past it,
  the active segment may end with the incomplete frame of the FIFO being read (a restarted plugin
  finds it there, and that FIFO's next reader completes it: ``adopt_tail``).
- Only ``ContainerLog`` (container.py) writes ``meta.json``; only ``Store`` (store.py) writes
  ``evicted.json``; only a sink's delivery worker writes its ``cursor-<sink>.json`` and
  ``deadletter-<sink>.ndjson``.
- Segments leave only from the oldest end (delivered, dropped under the spool policy, or evicted
  for the budget), so a container's kept segments always have consecutive sequence numbers.

What a reader may assume: every read goes through ``Reader`` (reader.py), in the plugin
(``docker logs``, status figures) and in the shipper process (``StoreView``, view.py), and reads
only below a segment's known ``size`` (the shipper: below the size it was told, which the plugin
never rewrites), so it needs no lock. A segment that is gone when opened was removed from the
oldest end: the reader goes on from the oldest position still kept (the shipper's view once the
plugin's next ``state`` says so), and the drop ledger says what it lost and why
(``lost_between``).

History and spool are two limits (ledger.py states the spool's rules): the history is the last
``max-file`` segments of about ``max-size`` bytes, rotated as Docker's ``local`` driver rotates
(so ``docker logs`` shows what ``local`` would keep); older segments a sink still lacks stay as the
spool, bounded by ``spool-max-size`` under ``spool-when-full``. All containers together stay within
the disk budget, evicted in this order (store.py): whole histories of stopped containers whose
sinks have everything (oldest stop first), the oldest undelivered segments of stopped containers,
then running containers' spools, each by its own policy.

Modules: segment.py (file format, recovery), writer.py (append, rotate, index, sync, disk-full),
reader.py (the one read path), ledger.py (drop ledger, cursors, delivery floor), container.py
(one container), store.py (all containers, budget, eviction), view.py (the shipper's view).
"""

from .container import ContainerLog
from .ledger import (
    BLOCK,
    BLOCKED_POLL_SECONDS,
    CAUSES,
    DISK_BUDGET,
    DROP_OLDEST,
    HISTORY_OVERWRITE,
    MAINTAIN_SECONDS,
    NO_FLOOR,
    SPOOL_FULL,
    WHEN_FULL,
    Dropped,
    Position,
    UnreadableCursor,
    cursor_path,
    cursor_record,
    deadletter_path,
    load_cursor,
    load_ledger,
    lost_between,
    read_cursor,
)
from .reader import READ_BYTES, Reader, Waiters
from .segment import BLOCK_BYTES, IDX, LOCAL_RECORD_EXTRA, Block, Segment, whole_frames, write_json
from .store import Store
from .view import StoreView
from .writer import DEFAULT_MAX_FILE, DEFAULT_MAX_SIZE, Syncer, Writer, is_disk_full

__all__ = [
    "BLOCK", "BLOCKED_POLL_SECONDS", "BLOCK_BYTES", "CAUSES", "DEFAULT_MAX_FILE",
    "DEFAULT_MAX_SIZE", "DISK_BUDGET", "DROP_OLDEST", "HISTORY_OVERWRITE", "IDX",
    "LOCAL_RECORD_EXTRA", "MAINTAIN_SECONDS", "NO_FLOOR",
    "READ_BYTES", "SPOOL_FULL", "WHEN_FULL", "Block", "ContainerLog", "Dropped", "Position",
    "Reader", "Segment", "Store", "StoreView", "Syncer", "UnreadableCursor", "Waiters",
    "Writer", "cursor_path", "cursor_record", "deadletter_path", "is_disk_full", "load_cursor",
    "load_ledger", "lost_between", "read_cursor", "whole_frames", "write_json",
]
