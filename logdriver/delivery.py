"""Delivery: for each (container, sink) a cursor over the ring store -> records -> batches -> sink.

Workers ship from the store, never from memory: the cursor (the position after the last frame a
sink has accepted) is persisted after every accepted batch, so a sink outage, a slow sink or a
plugin restart only makes the cursor wait while the container writes on at full speed. Delivery
is at-least-once: after a crash, at most the batch in flight is sent again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import socket
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import httpx

from sinks import (
    Answer,
    Context,
    JoinConfig,
    Outcome,
    Record,
    Records,
    Sink,
    SinkConfig,
    backoff,
    batch_cost,
    context_for,
    plan_batches,
)
from sinks.retry import settle_split

from .framing import FrameReader, plain_columns
from .store import ContainerLog, Position, cursor_path, write_json

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # a worker with nothing to send re-checks this often
LOG_EVERY_SECONDS = 10.0  # the same warning for the same (container, sink) at most this often
# Requests per (container, sink) on the wire at once. While one is in flight the worker already
# reads and encodes the next batch; a second request on the wire could overtake the first (or be
# retried after it), and receivers are promised every line in order, so it stays at one.
MAX_IN_FLIGHT = 1
TAKE_RECORDS = 2000  # records read and encoded at a time, between turns of the event loop
SHUTDOWN_FLUSH_SECONDS = 4.0  # on SIGTERM, how long workers may keep sending what they hold
# (within the plugin's 10 s shutdown: 3 s to close the API, then this, then the store)
DEADLETTER_MAX_BYTES = 64 << 20  # a dead-letter file larger than this is not appended to
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(slots=True)
class SinkStats:
    """Counters of one (container, sink) pair."""

    delivered_events: int = 0
    delivered_batches: int = 0
    retries: int = 0
    dead_letters: int = 0
    dropped_bytes: int = 0  # undelivered data the store dropped before this sink had it
    # ... by cause (spool.CAUSES): [entries, bytes]
    dropped: dict[str, list[int]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)  # by HTTP status, "error" for none
    # Request durations: counts per LATENCY_BUCKETS upper bound (the last is +Inf), and the sum.
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    last_success: float = 0.0  # unix time of the last accepted request
    last_error: str = ""  # the last failed answer, as the sink worded it (never a secret)
    last_error_at: float = 0.0
    _last_log: dict[str, float] = field(default_factory=dict)

    def answered(self, answer: Answer, seconds: float) -> None:
        key = str(answer.status) if answer.status is not None else "error"
        self.requests[key] = self.requests.get(key, 0) + 1
        self.latency_counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        if answer.outcome is Outcome.OK:
            self.last_success = time.time()
        else:
            self.last_error = answer.reason or f"HTTP {answer.status}"
            self.last_error_at = time.time()

    def should_log(self, kind: str) -> bool:
        now = time.monotonic()
        if now - self._last_log.get(kind, -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS:
            self._last_log[kind] = now
            return True
        return False


# Positions in the store as one int, ``seq << OFFSET_BITS | offset``: ordered like the
# ``(seq, offset)`` tuples, and a run of them is one ``accumulate`` away from frame sizes.
OFFSET_BITS = 40


def packed(pos: Position) -> int:
    return (pos[0] << OFFSET_BITS) | pos[1]


def unpacked(pos: int) -> Position:
    return pos >> OFFSET_BITS, pos & ((1 << OFFSET_BITS) - 1)


@dataclass(slots=True)
class _Batch:
    """Encoded events, and for each the (packed) position the cursor may move to once it is
    accepted."""

    events: list[bytes]
    ends: list[int]

    def add(self, events: list[bytes], ends: list[int]) -> int:
        """Append; returns what they count against the batch's byte limit."""
        self.events += events
        self.ends += ends
        return batch_cost(events)


@dataclass(slots=True)
class _Pending:
    """A line (or multi-line event) of one stream still being put together."""

    start: int  # (packed) where its first frame is: the cursor must not pass it
    time_ns: int
    parts: list[bytes]
    size: int = 0
    seen: float = 0.0  # monotonic time its first part was read


class RecordReader:
    """Reads a container's stored frames from a position and turns them into records.

    Partial pieces (Docker cuts lines over 16 KiB) are joined back per stream; a line over
    ``partial_max_size`` is cut into several records marked ``partial`` rather than held whole.
    With a ``multiline_pattern``, a line matching it starts a new event and the lines after it
    join that event until the next match, but an event never spans more than
    ``multiline_timeout``: a line logged that long after the event's first line (by Docker's
    timestamps) starts the next event, and a pending event is sent once that long has passed
    since its first line was logged (or was read here, whichever comes first). An event's time
    is its first line's. Each record carries the
    position the cursor may move to once it is delivered: past its last frame, but never past
    the first frame of something still pending, so a restart re-reads what was not sent.
    """

    def __init__(self, clog: ContainerLog, pos: Position, join: JoinConfig) -> None:
        self.clog = clog
        self.pos = pos  # next frame to read
        self.join = join
        self.dropped_bytes = 0
        self.dropped: dict[str, list[int]] = {}  # cause -> [entries, bytes], taken by the worker
        # Entries read so far of the segment ``self.pos`` is in (None: unknown, the reader began
        # inside it), so a loss counts exactly the entries this reader never had.
        self._seg_entries: int | None = 0 if pos[1] == 0 else None
        self._partial: dict[str, _Pending] = {}
        self._multi: dict[str, _Pending] = {}
        self._frames = FrameReader()
        self._recs = Records()
        self._ends: list[int] = []

    @property
    def holds_partial(self) -> bool:
        return bool(self._partial or self._multi)

    def _safe(self, end: int) -> int:
        if not (self._partial or self._multi):
            return end
        starts = [p.start for p in self._partial.values()]
        starts += [p.start for p in self._multi.values()]
        return min([end, *starts])

    def take(self, max_records: int) -> tuple[Records, list[int]]:
        """Up to about ``max_records`` records that are complete in the store now, and for each
        the (packed) position the cursor may move to once it is delivered."""
        recs = self._recs = Records()
        ends = self._ends = []
        join = self.join
        while len(recs) < max_records:
            data, start, nxt = self.clog.read(self.pos)
            if start != self.pos:
                self._skipped(start)
            if not data:
                break
            here = packed(start)
            columns = None
            if join.multiline_pattern is None and not self._partial:
                columns = plain_columns(data)  # the usual block: whole lines only, fast
            if columns is not None and max(map(len, columns[2])) <= join.partial_max_size:
                times, sources, lines, sizes = columns
                recs.extend_whole(times, sources, lines)
                ends += accumulate(sizes, initial=here)
                del ends[len(ends) - len(sizes) - 1]  # ``initial`` is where the block starts
                n = len(sizes)
            else:
                n = self._frames_from(data, here)
            if self._seg_entries is not None:
                self._seg_entries += n
            self.pos = nxt
        self._recs, self._ends = Records(), []  # the caller owns these now
        return recs, ends

    def _frames_from(self, data: bytes, base: int) -> int:
        """Records for the frames of ``data`` (stored at packed position ``base``) one by one:
        partial pieces, long lines and multi-line events, as well as plain lines. Returns the
        number of frames."""
        plain = self.join.multiline_pattern is None
        limit = self.join.partial_max_size
        recs, ends = self._recs, self._ends
        n = 0
        for off, length, msg in self._frames.frames(data):
            n += 1
            end = base + off + length
            source = msg.source
            if not msg.partial:
                line = msg.line
                if plain and len(line) <= limit and not self._partial:
                    recs.append(Record(msg.time_nano, source, line))  # the usual line
                    ends.append(end)
                else:
                    self._line(source, msg.time_nano, line, base + off, end)
                continue
            p = self._partial.get(source)
            if p is None:
                p = self._partial[source] = _Pending(base + off, msg.time_nano, [])
            p.parts.append(bytes(msg.line))
            p.size += len(msg.line)
            if msg.partial_log_metadata.last or p.size >= limit:
                del self._partial[source]
                line = b"".join(p.parts)
                self._line(source, p.time_ns, line, p.start, end)
        return n

    def _line(self, source: str, t: int, line: bytes, start: int, end: int) -> None:
        limit = self.join.partial_max_size
        pattern = self.join.multiline_pattern
        if pattern is None:
            while len(line) > limit:  # only a line cut at partial-max-size gets here
                # Not past the line's first frame until its last piece is delivered too.
                self._emit(Record(t, source, line[:limit], partial=True), start)
                line = line[limit:]
            self._emit(Record(t, source, line), end)
            return
        m = self._multi.get(source)
        if m is not None and (t - m.time_ns >= self.join.multiline_timeout * 1e9
                              or m.size + len(line) + 1 > limit
                              or pattern.search(line.decode("utf-8", "replace")) is not None):
            del self._multi[source]
            # The event ends before this line, which starts the next one: once the event is
            # delivered the cursor may pass its lines, never this one.
            self._emit(Record(m.time_ns, source, b"\n".join(m.parts)), start)
            m = None
        if m is None:
            m = self._multi[source] = _Pending(start, t, [], seen=time.monotonic())
        m.parts.append(line[:limit])
        m.size += len(line) + 1

    def _emit(self, rec: Record, end: int) -> None:
        self._recs.append(rec)
        self._ends.append(self._safe(end))

    def multiline_due_in(self) -> float | None:
        """Seconds until the oldest pending multi-line event is due (``multiline_timeout`` after
        its first line: by Docker's timestamp against the wall clock, or since this reader read
        it, whichever comes first); 0.0 if one is overdue, None if none is pending."""
        if not self._multi:
            return None
        timeout = self.join.multiline_timeout
        now, wall = time.monotonic(), time.time_ns()
        due = min(min(m.seen - now, (m.time_ns - wall) / 1e9) for m in self._multi.values())
        return max(due + timeout, 0.0)

    def flush_stale(self, *, everything: bool = False) -> tuple[Records, list[int]]:
        """Multi-line events that are due (see ``multiline_due_in``), or all pending input
        when the container has stopped and nothing more can come."""
        self._recs = Records()
        self._ends = []
        timeout = self.join.multiline_timeout
        now, wall = time.monotonic(), time.time_ns()
        here = packed(self.pos)
        for source, m in list(self._multi.items()):
            if everything or now - m.seen >= timeout or wall - m.time_ns >= timeout * 1e9:
                del self._multi[source]
                self._emit(Record(m.time_ns, source, b"\n".join(m.parts)), here)
        if everything:
            for source, p in list(self._partial.items()):
                del self._partial[source]
                self._emit(Record(p.time_ns, source, b"".join(p.parts)), here)
        recs, ends = self._recs, self._ends
        self._recs, self._ends = Records(), []
        return recs, ends

    def note_drops(self) -> None:
        """Count now what the store dropped ahead of this reader, without reading: a worker
        that holds a batch for a failing sink reads nothing, and its losses would otherwise
        show only once the sink is back."""
        oldest = self.clog.oldest
        if self.pos < oldest:
            self._skipped(oldest)

    def _skipped(self, start: Position) -> None:
        """The data goes on at ``start``: the next segment, or, if the store dropped segments
        this reader had not reached, the oldest one kept: count what was lost, by cause (the
        store's drop ledger)."""
        lost = self.clog.lost_between(self.pos, start, self._seg_entries)
        self._seg_entries = 0 if start[1] == 0 else None
        self.pos = start
        if not lost:
            return  # the next segment begins: nothing was lost on the way
        for cause, (nbytes, entries) in lost.items():
            acc = self.dropped.setdefault(cause, [0, 0])
            acc[0] += entries
            acc[1] += nbytes
            self.dropped_bytes += nbytes
        self._partial.clear()
        self._multi.clear()


class Worker:
    """Ships one container's history to one sink, batch after batch, resuming from its cursor."""

    def __init__(
        self,
        delivery: Delivery,
        clog: ContainerLog,
        config: SinkConfig,
        sink: Sink,
        ctx: Context,
        join: JoinConfig,
    ) -> None:
        self.delivery = delivery
        self.clog = clog
        self.config = config
        self.sink = sink
        self.ctx = ctx
        self.stats = SinkStats()
        self.name = config.name
        self.cursor_path = cursor_path(clog.path, self.name)
        self.deadletter_path = clog.path / f"deadletter-{self.name}.ndjson"
        self.cursor: Position = (0, 0)  # where delivery stands (saved after each accepted batch)
        self.reader = RecordReader(clog, self.load_cursor(), join)
        self.task: asyncio.Task[None] | None = None
        self.closing = False
        self._inflight: deque[tuple[asyncio.Task[None], Position]] = deque()
        self._failing = False  # the last answer asked for a retry
        self._broken = False

    # ----------------------------------------------------------------- cursor
    def load_cursor(self) -> Position:
        try:
            raw = json.loads(self.cursor_path.read_text())
            pos = self.cursor = (int(raw["seq"]), int(raw["off"]))
        except FileNotFoundError:
            # A sink attached now ships what the container writes from now on.
            pos = self.clog.end
            self._save_cursor(pos)
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("unreadable delivery cursor: starting at the oldest history",
                        extra={"container": self.clog.id, "sink": self.name})
            pos = self.cursor = self.clog.oldest
        return pos

    def _save_cursor(self, pos: Position) -> None:
        try:
            write_json(self.cursor_path, {"seq": pos[0], "off": pos[1]}, durable=False)
        except OSError as exc:
            # Delivery goes on from the cursor kept in memory; a restart before the next saved
            # cursor sends again what was delivered since (at least once, never lost).
            if self.stats.should_log("cursor"):
                log.warning("cannot save the delivery cursor", extra={
                    "container": self.clog.id, "sink": self.name, "error": exc.strerror})
        self.cursor = pos

    # ----------------------------------------------------------------- the loop
    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(
            self.run(), name=f"deliver-{self.clog.id[:12]}-{self.name}"
        )

    async def run(self) -> None:
        try:
            while not self.closing:
                if self._inflight and self._failing and not self._broken:
                    # The sink is failing: hold one batch, not one more read ahead behind it.
                    await asyncio.wait([self._inflight[0][0]])
                    continue
                batch = await self._collect()
                if batch is None:
                    break
                if batch.events:
                    await self._ship(batch)
            while self._inflight and not self._broken:
                await asyncio.wait([self._inflight[0][0]])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery worker failed", extra={"container": self.clog.id,
                                                           "sink": self.name})
        finally:
            for task, _ in self._inflight:
                task.cancel()
            self.delivery.forget(self)
            await self.sink.close()

    async def _collect(self) -> _Batch | None:
        """Encoded events for the next request(s), or None when the work is over (the container
        stopped and everything it wrote is delivered)."""
        cfg = self.config.batch
        batch = _Batch([], [])
        size = 0
        deadline = 0.0
        while not self.closing:
            want = min(cfg.events - len(batch.events), TAKE_RECORDS)
            recs, ends = self.reader.take(want)
            if recs:
                size += batch.add(self.sink.encode_many(self.ctx, recs), ends)
            self._count_dropped()
            if len(batch.events) >= cfg.events or size >= cfg.bytes:
                return batch
            if len(recs) >= want:
                await asyncio.sleep(0)  # more is stored: let the FIFO readers run, then go on
                continue
            now = time.monotonic()
            if batch.events and not deadline:
                deadline = now + cfg.wait_seconds
            if batch.events and now >= deadline:
                return batch
            stopped = self.reader.pos >= self.clog.end and not self.clog.running
            recs, ends = self.reader.flush_stale(everything=stopped)
            if recs:
                size += batch.add(self.sink.encode_many(self.ctx, recs), ends)
            if stopped:
                return batch if batch.events else None
            wait = deadline - now if batch.events else IDLE_SECONDS
            due = self.reader.multiline_due_in()
            if due is not None:
                wait = min(wait, due)
            await self.clog.wait_change(max(wait, 0.001))
        return batch

    def _count_dropped(self) -> None:
        reader = self.reader
        if reader.dropped_bytes or reader.dropped:
            self.stats.dropped_bytes += reader.dropped_bytes
            self.delivery.dropped_bytes += reader.dropped_bytes
            for cause, (entries, nbytes) in reader.dropped.items():
                mine = self.stats.dropped.setdefault(cause, [0, 0])
                mine[0] += entries
                mine[1] += nbytes
                total = self.delivery.dropped.setdefault(cause, [0, 0])
                total[0] += entries
                total[1] += nbytes
            if self.stats.should_log("dropped"):
                log.warning("the store dropped data before this sink had it",
                            extra={"container": self.clog.id, "sink": self.name,
                                   "dropped_bytes_total": self.stats.dropped_bytes,
                                   "by_cause": {c: v[0] for c, v in self.stats.dropped.items()}})
            reader.dropped_bytes = 0
            reader.dropped = {}

    async def _ship(self, batch: _Batch) -> None:
        """Send ``batch`` as one or more requests, up to MAX_IN_FLIGHT on the wire at once (the
        caller goes on collecting meanwhile); the cursor moves over each request's events only
        once it and every earlier one are done."""
        cfg = self.config.batch
        events = batch.events
        for part in plan_batches(list(map(len, events)), max_events=cfg.events,
                                 max_bytes=cfg.bytes):
            while len(self._inflight) >= MAX_IN_FLIGHT and not self._broken:
                await asyncio.wait([self._inflight[0][0]])
            if self._broken:
                raise asyncio.CancelledError
            payload = list(filter(None, events[part.start : part.stop]))
            task = asyncio.get_running_loop().create_task(self._send(payload))
            self._inflight.append((task, unpacked(batch.ends[part[-1]])))
            task.add_done_callback(self._settle)

    def _settle(self, _task: asyncio.Task[None]) -> None:
        """Move the cursor over the finished head of the in-flight requests."""
        moved = None
        while self._inflight and self._inflight[0][0].done():
            task, pos = self._inflight[0]
            if task.cancelled() or task.exception() is not None:
                self._broken = True  # shutdown mid-retry: the cursor stays before this request
                break
            self._inflight.popleft()
            moved = pos
        if moved is not None:
            self._save_cursor(moved)

    async def _send(self, payload: list[bytes]) -> None:
        attempt = 0
        while True:
            if payload:
                t0 = time.monotonic()
                answer = await self.sink.send(payload)
                self.stats.answered(answer, time.monotonic() - t0)
            else:
                answer = Answer(Outcome.OK, reason="nothing to send")
            answer = settle_split(answer, len(payload))
            self._failing = answer.outcome is Outcome.RETRY
            if answer.outcome is Outcome.OK:
                self._delivered(len(payload))
                return
            if answer.outcome is Outcome.SPLIT:
                half = len(payload) // 2
                await self._send(payload[:half])
                await self._send(payload[half:])
                return
            bad = answer.invalid_event
            if answer.outcome is Outcome.DROP and bad is not None and bad < len(payload):
                # The sink took the events before ``bad`` and none after: one bad event costs
                # one event, and the rest go again (Docker's driver resends all: moby#35862).
                if bad:
                    self._delivered(bad)
                self._dead_letter(payload[bad : bad + 1], answer)
                payload = payload[bad + 1 :]
                attempt = 0
                if not payload:
                    return
                continue
            if answer.outcome is Outcome.DROP:
                self._dead_letter(payload, answer)
                return
            attempt += 1
            self.stats.retries += 1
            self.delivery.retries += 1
            delay = backoff(attempt, retry_after=answer.retry_after)
            if self.stats.should_log("retry"):
                log.warning("sink retry", extra={"container": self.clog.id, "sink": self.name,
                                                 "status": answer.status, "reason": answer.reason,
                                                 "attempt": attempt, "wait": round(delay, 2)})
            if self.closing:
                raise asyncio.CancelledError  # shutdown: the cursor stays before this request
            await self.delivery.sleep(delay)

    def _delivered(self, events: int) -> None:
        self.stats.delivered_events += events
        self.stats.delivered_batches += 1
        self.delivery.delivered_events += events

    def _dead_letter(self, payload: Sequence[bytes], answer: Answer) -> None:
        self.stats.dead_letters += len(payload)
        self.delivery.dead_letters += len(payload)
        log.error("sink refused a batch for good: kept in the dead-letter file",
                  extra={"container": self.clog.id, "sink": self.name, "status": answer.status,
                         "reason": answer.reason, "events": len(payload)})
        try:
            if self.deadletter_path.exists() and \
                    self.deadletter_path.stat().st_size > DEADLETTER_MAX_BYTES:
                return
            with open(os.open(self.deadletter_path,
                              os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600),
                      "a") as f:
                for event in payload:
                    f.write(json.dumps({
                        "time": time.time(), "status": answer.status, "reason": answer.reason,
                        "event_b64": base64.b64encode(event).decode(),
                    }) + "\n")
        except OSError as exc:
            log.error("cannot write the dead-letter file", extra={"error": exc.strerror})


class Delivery:
    """Owns every delivery worker."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.transport = transport  # tests swap the network for httpx.MockTransport
        self.hostname = socket.gethostname()
        self.workers: dict[tuple[str, str], Worker] = {}
        self.delivered_events = 0
        self.retries = 0
        self.dead_letters = 0
        self.dropped_bytes = 0
        self.dropped: dict[str, list[int]] = {}  # cause -> [entries, bytes], all workers
        self._closing = asyncio.Event()

    def attach(
        self,
        clog: ContainerLog,
        configs: Sequence[SinkConfig],
        join: JoinConfig,
        info: Mapping[str, Any],
        opts: Mapping[str, str],
    ) -> None:
        """Start (or keep) a worker per configured sink of this container."""
        ctx = context_for(info, opts, hostname=self.hostname)
        for config in configs:
            key = (clog.id, config.name)
            old = self.workers.get(key)
            if old is not None and old.task is not None and not old.task.done():
                if old.config == config and old.ctx == ctx:
                    continue  # the same container started again: its worker goes on
                old.closing = True
                old.task.cancel()
            worker = Worker(self, clog, config, config.create(transport=self.transport), ctx, join)
            self.workers[key] = worker
            worker.start()

    live = True  # in-process counters are always current (the shipper's may lag or stop)

    def snapshot(self) -> dict[str, Any]:
        """Totals and every worker's counters, as plain JSON values (the shipper sends this to
        the plugin every second; /metrics and /status read it). Losses the store reported since
        the last one are counted first, even for a worker waiting on its sink."""
        workers = []
        for w in self.workers.values():
            w.reader.note_drops()
            w._count_dropped()
            st = w.stats
            workers.append({
                "id": w.clog.id, "sink": w.name, "cursor": list(w.cursor),
                "delivered_events": st.delivered_events, "retries": st.retries,
                "dead_letters": st.dead_letters, "dropped_bytes": st.dropped_bytes,
                "dropped": {c: list(v) for c, v in st.dropped.items()},
                "requests": dict(st.requests), "latency_counts": list(st.latency_counts),
                "latency_sum": st.latency_sum, "last_success": st.last_success,
                "last_error": st.last_error, "last_error_at": st.last_error_at,
            })
        return {"delivered_events": self.delivered_events, "retries": self.retries,
                "dead_letters": self.dead_letters, "dropped_bytes": self.dropped_bytes,
                "dropped": {c: list(v) for c, v in self.dropped.items()},
                "workers": workers}

    def forget(self, worker: Worker) -> None:
        """A worker whose work is over leaves the registry."""
        key = (worker.clog.id, worker.name)
        if self.workers.get(key) is worker:
            del self.workers[key]

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def close(self, timeout: float = SHUTDOWN_FLUSH_SECONDS) -> None:
        """Let workers send what they hold for up to ``timeout`` s, then stop them."""
        workers = [w for w in self.workers.values() if w.task is not None]
        for w in workers:
            w.closing = True
        self._closing.set()
        for w in workers:
            w.clog._notify()
        tasks = [w.task for w in workers if w.task is not None]
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=timeout)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
