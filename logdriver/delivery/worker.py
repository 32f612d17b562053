"""One (container, sink) pair: collect records into a batch, ship it, settle the cursor.

The worker reads the store through a ``StoredLog`` (records.py), never from memory, and moves its
cursor (cursor.py) over a request's events only once that request and every earlier one are done.
It is given what it needs from its owner, not the owner: the process's ``Totals``, the ``stopping``
event and an ``on_exit`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace

from sinks import (
    Answer,
    BatchConfig,
    Body,
    Context,
    JoinConfig,
    Outcome,
    Records,
    Sink,
    SinkConfig,
    backoff,
)

from ..store import Position, UnreadableCursor, deadletter_path
from .batch import Batch, Stored, fill, reread
from .budget import MIN_SHARE_BYTES, BatchBudget
from .cursor import Cursor, append_dead_letters
from .records import TAKE_READ_BYTES, RecordReader, StoredLog, packed, unpacked
from .stats import SinkStats, Totals

log = logging.getLogger("logdriver.delivery")

IDLE_SECONDS = 5.0  # a worker with nothing to send re-checks this often
# Requests per (container, sink) on the wire at once. While one is in flight the worker already
# reads and encodes the next batch; a second request on the wire could overtake the first (or be
# retried after it), and receivers are promised every line in order, so it stays at one.
MAX_IN_FLIGHT = 1
TAKE_RECORDS = 2000  # records read and encoded at a time, between turns of the event loop
# A body's spare room (allocated, not written) above 1/2**SPARE_SHIFT of its length is let go
SPARE_SHIFT = 4
BYTEARRAY_OVERHEAD = sys.getsizeof(bytearray(b"x")) - 1  # the object, and its trailing NUL
MIN_READ_BYTES = 4096  # the smallest read of the store a take sizes (a longer frame is read whole)
FIRST_TAKE_RECORDS = 100  # a worker's first take, before it knows how big its events are
# The batch bytes of a worker whose sink has yet to take a request, or asks for a retry: a sink
# down from the start costs each worker this much at once, not its share (20 workers encoding
# their first 0.4-1 MB batches together: 8-15 MB at the shipper's peak, bench/README)
PROBE_BYTES = MIN_SHARE_BYTES


def _compact(body: Body) -> None:
    """Let go of the spare room of ``body``'s buffer before it waits for, and goes on, the wire.
    An encoder grows the buffer by half again as it writes (few reallocations), and a bytearray
    shrunk by less than half keeps its allocation: at 100 workers, each holding a request on the
    wire and one read ahead, 46 MB allocated for 28 MB of events (bench/README). One copy of
    the body (a memcpy: about 0.1 ms per MB, against about 2 s of encoding per million events)."""
    buf = body.buf
    if sys.getsizeof(buf) - len(buf) > (len(buf) >> SPARE_SHIFT) + BYTEARRAY_OVERHEAD:
        body.buf = bytearray(buf)


def _encoded_bytes(body: Body) -> int:
    """The bytes of ``body``'s events as the batch limit counts them, whatever its framing (a
    listed body, Loki's and OTLP's, keeps its events out of ``buf``)."""
    return body.cost(len(body))


class SinkWorker:
    """Ships one container's history to one sink, batch after batch, resuming from its cursor.

    Runs in whichever process holds the ``InProcessDelivery``: the shipper process in
    production, the plugin itself in tests. Shutdown: once ``stopping`` is set, the worker sends
    what it has collected without retrying a failed request (the cursor stays before it), and
    ``run`` returns; the owner bounds the wait and cancels a worker that overstays it.
    """

    def __init__(
        self,
        clog: StoredLog,
        config: SinkConfig,
        sink: Sink,
        ctx: Context,
        join: JoinConfig,
        *,
        totals: Totals,
        stopping: asyncio.Event,
        on_exit: Callable[[SinkWorker], None],
        budget: BatchBudget | None = None,
    ) -> None:
        self.clog = clog
        self.config = config
        self.sink = sink
        self.ctx = ctx
        self.stats = SinkStats()
        self.totals = totals
        self.name = config.name
        self._stopping = stopping
        self._on_exit = on_exit
        self.budget = budget or BatchBudget()
        self._cursor = Cursor(clog.path, self.name)
        self.deadletter_path = deadletter_path(clog.path, self.name)
        self.reader = RecordReader(clog, self._load_cursor(), join)
        self._shipped_to = packed(self.reader.pos)  # where the next request's events begin
        self.task: asyncio.Task[None] | None = None
        # each request on the wire, the position its events take the cursor to, their number,
        # and its body (empty while a retry of a request read again from the store waits)
        self._inflight: deque[tuple[asyncio.Task[bool], Position, int, Body]] = deque()
        self._ahead: Batch | None = None  # collected, waiting for its turn on the wire
        self._failing = False  # the last answer asked for a retry
        self._sink_ok = False  # the sink took a request: from then on, read ahead while it works
        self._on_retry: asyncio.Future[None] | None = None  # set when a request must be retried
        self._rest: Batch | None = None  # read and encoded past the last full batch
        self._broken = False  # a request stopped unfinished (shutdown): nothing more is settled
        # Bytes of one event, stored and encoded, as last seen (0: not yet), to read about what
        # fills a batch (_take_size)
        self._stored_size = self._encoded_size = 0

    @property
    def cursor(self) -> Position:
        """Where delivery stands (saved after each accepted request)."""
        return self._cursor.position

    @property
    def held_events(self) -> int:
        """Encoded events this worker holds: on the wire (or being retried), read ahead."""
        held = sum(n for _task, _pos, n, _body in self._inflight)
        if self._ahead is not None:
            held += len(self._ahead)
        return held + (len(self._rest) if self._rest is not None else 0)

    @property
    def held_bytes(self) -> int:
        """Bytes of encoded events this worker holds (the bodies counted in ``held_events``)."""
        bodies = [body for _task, _pos, _n, body in self._inflight]
        bodies += [b.body for b in (self._ahead, self._rest) if b is not None]
        return sum(len(body.buf) + sum(map(len, body.listed or ())) for body in bodies)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # ----------------------------------------------------------------- cursor
    def _load_cursor(self) -> Position:
        try:
            pos = self._cursor.load()
        except UnreadableCursor:
            log.warning("unreadable delivery cursor: starting at the oldest history",
                        extra={"container": self.clog.id, "sink": self.name})
            pos = self._cursor.position = self.clog.oldest
            return pos
        if pos is None:  # a sink attached now ships what the container writes from now on
            pos = self.clog.end
            self._save_cursor(pos)
        return pos

    def _save_cursor(self, pos: Position) -> None:
        try:
            self._cursor.save(pos)
        except OSError as exc:
            # Delivery goes on from the cursor kept in memory; a restart before the next saved
            # cursor sends again what was delivered since (at least once, never lost).
            if self.stats.should_log("cursor"):
                log.warning("cannot save the delivery cursor", extra={
                    "container": self.clog.id, "sink": self.name, "error": exc.strerror})

    # ----------------------------------------------------------------- the loop
    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(
            self.run(), name=f"deliver-{self.clog.id[:12]}-{self.name}"
        )

    def stop(self, *, at_once: bool = False) -> None:
        """Ask the worker to finish (it sees the shared ``stopping`` event too); ``at_once``
        cancels it (its sink was reconfigured: a new worker takes over from the cursor)."""
        self.clog.wake()  # a worker waiting for input looks at ``stopping`` now
        if at_once and self.task is not None:
            self.task.cancel()

    async def run(self) -> None:
        try:
            while not self.stopping:
                if self._inflight and not self._broken and (self._failing or not self._sink_ok):
                    # The sink is failing (or has yet to take a request): hold one batch, read
                    # nothing behind it, and let go of what was read past it (read again later).
                    if self._failing:
                        self._shed(None)
                    await self._await_head()
                    continue
                batch = await self._collect()
                if batch is None:
                    break
                if len(batch) and not await self._ship(batch):
                    break
            while self._inflight and not self._broken:
                await asyncio.wait([self._inflight[0][0]])
        except Exception:
            log.exception("delivery worker failed", extra={"container": self.clog.id,
                                                           "sink": self.name})
        finally:
            for task, _pos, _n, _body in self._inflight:
                task.cancel()
            self._cursor.close()
            self._on_exit(self)
            await self.sink.close()

    async def _collect(self) -> Batch | None:
        """The encoded events of the next request, or None when the work is over (the container
        stopped and everything it wrote is delivered). Events read past a full batch are kept
        for the next one (``_rest``)."""
        cfg = self._batch_config()
        batch, self._rest = self._rest or Batch(Body(self.sink.framing)), None
        if len(batch):
            self._rest = fill(batch, cfg)
            if self._rest is not None:
                return batch
        deadline = 0.0
        while not self.stopping:
            # The share is read again at each take: a worker waits here for its container's
            # next line, and workers attached meanwhile (a burst of containers) lower it.
            # Kept from the wait's start, the first batch of the Nth worker attached was
            # sized for N workers: at 100 containers starting one by one, batches of 1 MB down
            # to 160 KB, about 45 MB held at once (bench/README, "Where the memory goes").
            cfg = self._batch_config()
            want, read_bytes = self._take_size(batch, cfg)
            before = self.reader.pos
            recs, ends = self.reader.take(want, read_bytes)
            if recs:
                self._learn_stored(before, len(recs))
                self._rest = self._encode(batch, recs, ends, cfg)
            self.count_dropped()
            if self._rest is not None or len(batch) >= cfg.events or batch.size >= cfg.bytes:
                return batch
            if len(recs) >= want:
                await asyncio.sleep(0)  # more is stored: let the FIFO readers run, then go on
                continue
            now = time.monotonic()
            if len(batch) and not deadline:
                deadline = now + cfg.wait_seconds
            if len(batch) and (now >= deadline or self.clog.blocked):
                return batch  # blocked: nothing more comes until this goes
            stopped = self.reader.pos >= self.clog.end and not self.clog.running
            recs, ends = self.reader.flush_stale(everything=stopped)
            if recs:
                self._rest = self._encode(batch, recs, ends, cfg)
                if self._rest is not None:
                    return batch
            if stopped:
                return batch if len(batch) else None
            wait = deadline - now if len(batch) else IDLE_SECONDS
            due = self.reader.multiline_due_in()
            if due is not None:
                wait = min(wait, due)
            await self.clog.wait_change(max(wait, 0.001))
        return batch

    def _batch_config(self) -> BatchConfig:
        """The sink's batch limits, its bytes lowered to this worker's share of the budget now
        (many workers: each an equal part), and to PROBE_BYTES while its sink has yet to take a
        request or asks for a retry."""
        cfg = self.config.batch
        share = self.budget.share(cfg.bytes)
        if self._failing or not self._sink_ok:
            share = min(share, PROBE_BYTES)
        return replace(cfg, bytes=share) if share < cfg.bytes else cfg

    def _take_size(self, batch: Batch, cfg: BatchConfig) -> tuple[int, int]:
        """How many records to take of the store next, and how many bytes to read at a time:
        about what fills the room left in ``batch``, by the sizes seen so far (a stored and an
        encoded event), so that little is read past a full batch (``_rest``, held until the
        next one). With a small share the fixed TAKE_RECORDS would read far past it: 2,000 HEC
        events of 100 B lines are about 460 KB, for a share of 160 KB at 100 workers."""
        want = min(cfg.events - len(batch), TAKE_RECORDS)
        read_bytes = min(TAKE_READ_BYTES, cfg.bytes)
        if not (self._encoded_size and self._stored_size):  # a first, small take learns them
            return min(want, FIRST_TAKE_RECORDS), MIN_READ_BYTES
        room = max(cfg.bytes - batch.size, 0)
        want = max(min(want, room // self._encoded_size + 1), 1)
        read_bytes = max(min(read_bytes, want * self._stored_size), MIN_READ_BYTES)
        return want, read_bytes

    def _learn_stored(self, before: Position, records: int) -> None:
        """Note the size of a stored event from the take just read (from ``before``,
        ``records`` records)."""
        pos = self.reader.pos
        if pos[0] == before[0] and pos[1] > before[1]:  # (across segments: not measured)
            self._stored_size = -(-(pos[1] - before[1]) // records)

    def _encode(self, batch: Batch, recs: Records, ends: list[int],
                cfg: BatchConfig) -> Batch | None:
        """Encode ``recs`` (cursor positions ``ends``) into ``batch``'s body and cut it to
        ``cfg`` (``fill``): what did not fit, or None. Notes the size of an encoded event
        (``_take_size``), before ``fill`` cuts the body."""
        base = _encoded_bytes(batch.body)
        self.sink.encode_into(self.ctx, recs, batch.body)
        if recs:
            grown = _encoded_bytes(batch.body) - base
            self._encoded_size = max(-(-grown // len(recs)), 1)
        batch.marks += ends
        return fill(batch, cfg)

    def count_dropped(self) -> None:
        """Add what the reader found lost to this sink's and the process's counters."""
        reader = self.reader
        if reader.dropped_bytes or reader.dropped:
            self.stats.dropped_bytes += reader.dropped_bytes
            self.totals.dropped_bytes += reader.dropped_bytes
            for cause, (entries, nbytes) in reader.dropped.items():
                mine = self.stats.dropped.setdefault(cause, [0, 0])
                mine[0] += entries
                mine[1] += nbytes
                total = self.totals.dropped.setdefault(cause, [0, 0])
                total[0] += entries
                total[1] += nbytes
            if self.stats.should_log("dropped"):
                log.warning("the store dropped data before this sink had it",
                            extra={"container": self.clog.id, "sink": self.name,
                                   "dropped_bytes_total": self.stats.dropped_bytes,
                                   "by_cause": {c: v[0] for c, v in self.stats.dropped.items()}})
            reader.dropped_bytes = 0
            reader.dropped = {}

    async def _ship(self, batch: Batch) -> bool:
        """Send ``batch`` as one request once fewer than MAX_IN_FLIGHT are on the wire (the
        caller goes on collecting meanwhile); the cursor moves over its events only once it and
        every earlier one are done. False once a request stopped unfinished (shutdown): nothing
        after it is sent."""
        _compact(batch.body)
        self._ahead = batch
        try:
            while len(self._inflight) >= MAX_IN_FLIGHT and not self._broken:
                if self._failing and self._shed(batch):
                    return True
                await self._await_head()
        finally:
            self._ahead = None
        if self._broken:
            return False
        body = batch.body
        # A request of whole plain entries of one segment is read again from the store for
        # each retry: a failing sink costs no body held per worker (20 x 0.4-1 MB, bench/README)
        start, self._shipped_to = self._shipped_to, batch.end
        at = Stored(start, batch.end, len(batch)) if self.reader.can_rewind(start) else None
        task = asyncio.get_running_loop().create_task(self._send(body, at))
        self._inflight.append((task, unpacked(batch.end), body.nonempty, body))
        task.add_done_callback(self._settle)
        return True

    async def _await_head(self) -> None:
        """Wait until the oldest request on the wire is done, or, while the sink is not known
        to fail, until an answer asks for a retry."""
        head = self._inflight[0][0]
        if self._failing:
            await asyncio.wait([head])
            return
        failing = self._on_retry = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait([head, failing], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._on_retry = None

    def _shed(self, batch: Batch | None) -> bool:
        """The sink is failing: let go of ``batch`` (read ahead behind the request being
        retried) and of what was read past it, the reader going back to read them again once
        the sink is back, so that a failing sink costs one batch in memory. False (kept) when
        there is nothing to let go or the reader cannot go back exactly
        (``RecordReader.can_rewind``)."""
        ahead = len(batch) if batch is not None else 0
        rest = len(self._rest) if self._rest is not None else 0
        if not (ahead or rest) or not self._inflight:
            return False
        end = packed(self._inflight[-1][1])
        if not self.reader.can_rewind(end):
            return False
        self.reader.rewind(end, ahead + rest)
        self._rest = None
        if batch is not None:
            batch.clear()
        return True

    def _settle(self, _task: asyncio.Task[bool]) -> None:
        """Move the cursor over the finished head of the in-flight requests."""
        moved = None
        while self._inflight and self._inflight[0][0].done():
            task, pos, _n, _body = self._inflight[0]
            if task.cancelled() or task.exception() is not None or not task.result():
                self._broken = True  # shutdown mid-retry: the cursor stays before this request
                break
            self._inflight.popleft()
            moved = pos
        if moved is not None:
            self._save_cursor(moved)

    async def _send(self, body: Body, at: Stored | None = None) -> bool:
        """Deliver the events of ``body`` (retrying, splitting, dead-lettering as the sink
        answers); False if shutdown came while it still had to be retried. The rare paths take
        per-event bytes or new bodies cut from it (``Body.event``, ``Body.part``). With ``at``
        (where its events are stored) the body is emptied while a retry waits and encoded again
        from the store before it (``batch.reread``): byte for byte the same request."""
        attempt = 0
        while True:
            if at is not None and not len(body):
                gone = reread(self.clog, self.reader.join, at, self.sink, self.ctx, body)
                if gone is not None:  # the store dropped them meanwhile: lost, and counted
                    self.reader.count_lost(gone)
                    self.count_dropped()
                    return True
            if body.nonempty:
                t0 = time.monotonic()
                answer = await self.sink.send_body(body)
                self.stats.answered(answer, time.monotonic() - t0)
            else:
                answer = Answer(Outcome.OK, reason="nothing to send")
            self._failing = answer.outcome is Outcome.RETRY
            self._sink_ok = self._sink_ok or answer.outcome is Outcome.OK
            if self._failing and self._on_retry is not None and not self._on_retry.done():
                self._on_retry.set_result(None)  # the read-ahead batch may be let go (_shed)
            if answer.outcome is Outcome.OK:
                self._delivered(body.nonempty - answer.rejected)
                if answer.rejected:
                    self._rejected(answer)
                return True
            if answer.outcome is Outcome.SPLIT:
                wire = body.nonempty_indices()
                half = wire[len(wire) // 2]  # half of the events on the wire on each side
                return (await self._send(body.part(0, half))
                        and await self._send(body.part(half, len(body))))
            bad = answer.invalid_event
            if answer.outcome is Outcome.DROP and bad is not None and bad < len(body):
                # The sink took the events before ``bad`` and none after: one bad event costs
                # one event, and the rest go again (Docker's driver resends all: moby#35862).
                if before := body.nonempty_before(bad):
                    self._delivered(before)
                self._dead_letter([body.event(bad)], answer)
                body, at = body.part(bad + 1, len(body)), None
                attempt = 0
                if not body.nonempty:
                    return True
                continue
            refused = answer.refused_events
            if answer.outcome is Outcome.DROP and refused is not None:
                # The sink stored every other event (Loki): only the named ones are lost
                lost = sorted({i for i in refused if 0 <= i < len(body)})
                if body.nonempty > len(lost):
                    self._delivered(body.nonempty - len(lost))
                self._dead_letter([body.event(i) for i in lost], answer)
                return True
            if answer.outcome is Outcome.DROP:
                self._dead_letter([body.event(i) for i in body.nonempty_indices()], answer)
                return True
            attempt += 1
            self.stats.retries += 1
            self.totals.retries += 1
            delay = backoff(attempt, retry_after=answer.retry_after)
            if self.stats.should_log("retry"):
                log.warning("sink retry", extra={"container": self.clog.id, "sink": self.name,
                                                 "status": answer.status, "reason": answer.reason,
                                                 "attempt": attempt, "wait": round(delay, 2)})
            if self.stopping:
                return False  # shutdown: the cursor stays before this request
            if at is not None:
                body.clear()  # read again before the next attempt: nothing held meanwhile
            with contextlib.suppress(TimeoutError):  # the wait ends early at shutdown
                await asyncio.wait_for(self._stopping.wait(), delay)

    def _delivered(self, events: int) -> None:
        self.stats.delivered_events += events
        self.stats.delivered_batches += 1
        self.totals.delivered_events += events

    def _rejected(self, answer: Answer) -> None:
        """The server took the request but refused some events for good, without naming them
        (OTLP partial success): counted and reported; resending could only duplicate."""
        self.stats.rejected += answer.rejected
        self.stats.last_rejection = answer.reason
        if self.stats.should_log("rejected"):
            log.warning("sink rejected part of a batch", extra={
                "container": self.clog.id, "sink": self.name, "status": answer.status,
                "rejected": answer.rejected, "rejected_total": self.stats.rejected,
                "reason": answer.reason})

    def _dead_letter(self, payload: Sequence[bytes], answer: Answer) -> None:
        self.stats.dead_letters += len(payload)
        self.totals.dead_letters += len(payload)
        log.error("sink refused a batch for good: kept in the dead-letter file",
                  extra={"container": self.clog.id, "sink": self.name, "status": answer.status,
                         "reason": answer.reason, "events": len(payload)})
        try:
            append_dead_letters(self.deadletter_path, payload, answer)
        except OSError as exc:
            log.error("cannot write the dead-letter file", extra={"error": exc.strerror})
