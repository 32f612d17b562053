"""The delivery spool's rules: what sinks still need, when the spool is full, and what was lost.

History and the spool are two limits. History is what ``docker logs`` shows: the last
``max-file`` segments of at most ``max-size`` bytes, as Docker's ``local`` driver keeps. A
segment that rotates out of history while a sink of the container has not yet accepted all of it
stays on disk in the *spool*, invisible to ``docker logs``, until every sink has it. The spool is
bounded per container by ``spool-max-size`` (optional) and, for all containers together, by the
plugin's disk budget (``LOGDRIVER_DISK_BUDGET``, which counts history and spool).

Invariants:

- A container's kept segments (spool, then history) have consecutive sequence numbers: segments
  only ever leave from the oldest end, whether delivered, dropped or evicted.
- A sink's *cursor* (``cursor-<sink>.json`` in the container's directory, written by the delivery
  worker after every accepted batch) is the position before which that sink has everything. A sink
  with no readable cursor yet holds the whole spool: nothing is released on a guess.
- A segment leaves the spool once every sink's cursor is past it, or when the spool is full and
  the container's ``spool-when-full`` policy is ``drop-oldest``. Every undelivered segment that is
  dropped is written to the container's drop ledger (in ``meta.json``) with its size, its entry
  count and the cause, so each sink's reader counts exactly what it lost, and why, even across a
  restart of the plugin or the shipper.

``spool-when-full`` names what happens when a container's spool is full. The names follow
Vector's buffer option ``when_full`` and say the action and its victim:

- ``drop-oldest`` (the default): the oldest undelivered segment is deleted, and counted per sink
  as dropped with cause ``spool_full``. The container never waits. Fluent Bit's filesystem
  storage limit (``storage.total_limit_size``) behaves this way: the oldest chunks go.
- ``block``: the plugin stops reading the container's FIFO until delivery makes room, so the
  container's writes wait (its stdout blocks, as with Docker's own blocking drivers) and nothing
  is lost. Reading resumes by itself.

Disk-budget eviction takes, in this order: whole histories of stopped containers whose sinks have
everything (oldest stop first), then the oldest undelivered segments of stopped containers (cause
``disk_budget``), and only then the spool of running containers, each by its own policy.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DROP_OLDEST = "drop-oldest"
BLOCK = "block"
WHEN_FULL = (DROP_OLDEST, BLOCK)

# Causes of undelivered data lost, as counted per sink.
HISTORY_OVERWRITE = "history_overwrite"  # rotated out of history with the spool off (size 0)
SPOOL_FULL = "spool_full"  # the container's spool was full (spool-max-size or the disk budget)
DISK_BUDGET = "disk_budget"  # a stopped container's undelivered data, evicted for the budget
CAUSES = (HISTORY_OVERWRITE, SPOOL_FULL, DISK_BUDGET)

LEDGER_KEPT = 256  # dropped segments remembered per container (a reader that is further behind
# than this many dropped segments counts the older ones by bytes only)
MAINTAIN_SECONDS = 1.0  # how often delivered spool segments are released and blocks re-checked
BLOCKED_POLL_SECONDS = 0.1  # while a spool blocks its container, delivery's cursors are read
# this often instead (dockerd gives a blocked driver 10 s after the container exits, moby's
# loggerCloseTimeout, before it drops what is still in the pipe)
RATE_WINDOW_SECONDS = 60.0  # the "time left" figures use the store's growth over about this long

Position = tuple[int, int]  # (segment sequence number, byte offset of a frame in it)
NO_FLOOR: Position = (1 << 62, 0)  # every sink has everything (or there is no sink)


@dataclass(frozen=True, slots=True)
class Dropped:
    """One undelivered segment that left the store: its size in bytes, its entry count, why."""

    seq: int
    size: int
    entries: int
    cause: str

    def to_json(self) -> list[Any]:
        return [self.seq, self.size, self.entries, self.cause]

    @classmethod
    def from_json(cls, raw: Any) -> Dropped | None:
        try:
            seq, size, entries, cause = raw
            return cls(int(seq), int(size), int(entries), str(cause))
        except (TypeError, ValueError):
            return None


def load_ledger(raw: Any) -> dict[int, Dropped]:
    out: dict[int, Dropped] = {}
    for item in raw if isinstance(raw, list) else []:
        d = Dropped.from_json(item)
        if d is not None:
            out[d.seq] = d
    return out


def trim_ledger(ledger: dict[int, Dropped]) -> None:
    while len(ledger) > LEDGER_KEPT:
        del ledger[min(ledger)]


def cursor_path(container_dir: Path, sink: str) -> Path:
    """Where the delivery worker of ``sink`` keeps its cursor for this container."""
    return container_dir / f"cursor-{sink}.json"


def deadletter_path(container_dir: Path, sink: str) -> Path:
    """Where the delivery worker of ``sink`` appends the events it refused for good."""
    return container_dir / f"deadletter-{sink}.ndjson"


class UnreadableCursor(ValueError):
    """A cursor file that exists but holds no position."""


# The cursor file is one JSON object. The delivery worker writes it as a fixed-size record, the
# numbers right-aligned in fields of constant width (JSON allows the spaces), and overwrites it in
# place with one pwrite: the file keeps its size and every field its offset. ``crc`` is the CRC-32
# (zlib.crc32) of ``b"<seq> <off>"`` in decimal: a record read while the writer overwrites it (the
# kernel copies a write into the page cache without excluding readers), or cut by a power loss,
# fails it or fails to parse and is read again. Files written before the record existed hold
# ``{"seq": N, "off": N}`` (replaced by rename, never torn) and are read as they are; a version
# that predates the record reads ``seq`` and ``off`` of the record and ignores ``crc``.
CURSOR_RECORD = b'{"seq": %20d, "off": %20d, "crc": %10d}\n'
CURSOR_RECORD_BYTES = len(CURSOR_RECORD % (0, 0, 0))  # 78
CURSOR_READ_TRIES = 5  # reads of a cursor file that fails its check before it is unreadable
CURSOR_RETRY_SECONDS = 0.001  # the first wait between them (doubled each time)
_MAX_FIELD = 10**20  # seq and off fit the record's 20-digit fields (both are under 2**63)


def cursor_crc(pos: Position) -> int:
    """The check of a cursor record: CRC-32 of ``b"<seq> <off>"``."""
    return zlib.crc32(b"%d %d" % pos)


def cursor_record(pos: Position) -> bytes:
    """``pos`` as a cursor record of ``CURSOR_RECORD_BYTES`` bytes; ValueError when a number is
    negative or over 20 digits."""
    seq, off = pos
    if not (0 <= seq < _MAX_FIELD and 0 <= off < _MAX_FIELD):
        raise ValueError(f"cursor position out of range: {pos}")
    return CURSOR_RECORD % (seq, off, cursor_crc(pos))


def parse_cursor(raw: bytes) -> Position | None:
    """The position in the bytes of a cursor file, or None when they hold none: not JSON, no
    ``seq``/``off`` integers, or a ``crc`` that does not match them (a torn record)."""
    try:
        obj = json.loads(raw)
        pos = int(obj["seq"]), int(obj["off"])
        crc = obj.get("crc")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if crc is not None and crc != cursor_crc(pos):
        return None
    return pos


def load_cursor(path: Path) -> Position | None:
    """The position in the cursor file at ``path`` (a record, or ``{"seq": N, "off": N}`` of
    older versions), or None when there is no such file; raises UnreadableCursor when there is
    one that still holds no valid position after ``CURSOR_READ_TRIES`` reads (a record being
    overwritten while read is read again)."""
    wait = CURSOR_RETRY_SECONDS
    for attempt in range(CURSOR_READ_TRIES):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UnreadableCursor(str(path)) from exc
        pos = parse_cursor(raw)
        if pos is not None:
            return pos
        if attempt + 1 < CURSOR_READ_TRIES:
            time.sleep(wait)
            wait *= 2
    raise UnreadableCursor(str(path))


def read_cursor(container_dir: Path, sink: str) -> Position | None:
    """The saved cursor of ``sink``, or None when there is none (yet) or it is unreadable."""
    try:
        return load_cursor(cursor_path(container_dir, sink))
    except UnreadableCursor:
        return None


def delivery_floor(container_dir: Path, sinks: tuple[str, ...]) -> Position | None:
    """The position before which every sink has everything; None if a sink has no cursor (it
    may still need all of it). With no sinks, nothing is needed: ``(2**62, 0)``."""
    floor = NO_FLOOR
    for sink in sinks:
        pos = read_cursor(container_dir, sink)
        if pos is None:
            return None
        floor = min(floor, pos)
    return floor


def lost_between(
    a: Position,
    b: Position,
    ledger: dict[int, Dropped],
    sizes: dict[int, int],
    entries_before_a: int | None,
) -> dict[str, tuple[int, int]]:
    """What a reader lost jumping from ``a`` to ``b`` (the oldest position still kept): bytes and
    entries by cause. ``entries_before_a`` is how many entries of segment ``a[0]`` lie before
    ``a[1]`` (None if the reader does not know: the count is then prorated by bytes).
    ``sizes`` holds sizes of segments missing from the ledger (counted as ``history_overwrite``)."""
    out: dict[str, list[int]] = {}
    for seq in range(a[0], b[0] + 1):
        d = ledger.get(seq)
        size = d.size if d is not None else sizes.get(seq, 0)
        lo = a[1] if seq == a[0] else 0
        hi = b[1] if seq == b[0] else size
        nbytes = max(hi - lo, 0)
        if not nbytes:
            continue
        cause = d.cause if d is not None else HISTORY_OVERWRITE
        entries = 0
        if d is not None:
            if seq != a[0] or lo == 0:
                entries = d.entries if hi >= size else round(d.entries * nbytes / max(size, 1))
            elif entries_before_a is not None and hi >= size:
                entries = max(d.entries - entries_before_a, 0)
            else:
                entries = round(d.entries * nbytes / max(size, 1))
        acc = out.setdefault(cause, [0, 0])
        acc[0] += nbytes
        acc[1] += entries
    return {cause: (v[0], v[1]) for cause, v in out.items()}
