"""A request body being built: encoded events written back to back into one buffer, each followed
by its sink's separator, with each event's end offset; and how the buffer is cut at a batch's
limits and read back event by event on the rare paths (split, dead letters, refused events).
A sink that builds its own request from the events (Loki, OTLP: ``EVENT_LIST``) keeps them as a
list instead, with the same end offsets."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, islice, pairwise, repeat
from operator import add, ne

from .batch import SEPARATOR_ALLOWANCE

OFFSET_TYPE = "Q"  # array type of the end offsets: unsigned 64-bit


@dataclass(frozen=True, slots=True)
class Framing:
    """How a sink's events make one body: ``opening``, each non-empty event followed by ``sep``,
    and the last ``sep`` replaced by ``closing`` when the body is sent (a JSON array: ``[``,
    ``,``, ``]``; HEC and newline-delimited bodies: nothing, the events carry their newline).
    ``closing`` is as long as ``sep`` (it takes its place)."""

    opening: bytes = b""
    sep: bytes = b""
    closing: bytes = b""
    # The events are kept as a list of bytes, not written into a buffer: the sink builds its
    # request from them (``Body.wire_events``), so a buffer would only be copied back out.
    listed: bool = False

    def __post_init__(self) -> None:
        if len(self.closing) != len(self.sep):
            raise ValueError("framing: the closing must be as long as the separator")
        if self.listed and (self.opening or self.sep):
            raise ValueError("framing: listed events take no opening or separator")


BACK_TO_BACK = Framing()
JSON_ARRAY = Framing(b"[", b",", b"]")
EVENT_LIST = Framing(listed=True)


class Body:
    """Encoded events in one buffer (``buf``): ``framing.opening``, then each event followed by
    ``framing.sep`` (none after an empty event: a record the sink skips by design), so that the
    buffer is the request body. ``ends[i] - origin`` is the offset in ``buf`` just past event
    ``i`` and its separator; ``empty`` counts the empty events. ``key`` stands for the request
    across its retries (a sink that counts attempts keys them by it): the body itself, or, for a
    body made ``of`` a list of events, its first non-empty event object (the same events sent
    again).

    ``cost(k)`` is what the first ``k`` events count against ``BatchConfig.bytes``, as
    ``batch.batch_cost`` counts them: their bytes plus ``SEPARATOR_ALLOWANCE`` each (the
    separators written here are that allowance, not added to it).

    With a ``listed`` framing (``EVENT_LIST``) the events are the list ``listed`` and ``buf``
    stays empty: ``ends`` count as if they were written back to back.
    """

    __slots__ = ("_key", "buf", "empty", "ends", "framing", "listed", "origin", "_sent")

    def __init__(self, framing: Framing = BACK_TO_BACK) -> None:
        self.framing = framing
        self.buf = bytearray(framing.opening)
        self.ends = array(OFFSET_TYPE)
        self.origin = 0  # ends[i] - origin: the offset in buf (a part keeps its source's ends)
        self.empty = 0
        self.listed: list[bytes] | None = [] if framing.listed else None
        self._key: object = None  # not the body itself: no reference cycle keeps a buffer alive
        self._sent = False

    @classmethod
    def of(cls, framing: Framing, events: Iterable[bytes]) -> Body:
        body = cls(framing)
        events = list(events)
        body.extend(events)
        body._key = next(filter(None, events), None)
        return body

    @property
    def key(self) -> object:
        """What stands for this request across its retries (see the class)."""
        return self if self._key is None else self._key

    def __len__(self) -> int:
        return len(self.ends)

    @property
    def nonempty(self) -> int:
        """Events that go on the wire (the empty ones are skipped records)."""
        return len(self.ends) - self.empty

    @property
    def _first(self) -> int:
        """Where event 0 starts, as ``ends`` counts."""
        return self.origin + len(self.framing.opening)

    def extend(self, events: list[bytes]) -> None:
        """Append encoded events (the list path: sinks without a kernel)."""
        listed = self.listed
        if listed is None:
            self.empty += append_events(self.buf, self.ends, self.origin, events, self.framing.sep)
            return
        start = self.ends[-1] if self.ends else self.origin
        self.ends.extend(islice(accumulate(map(len, events), initial=start), 1, None))
        self.empty += events.count(b"")
        listed += events

    def start(self, i: int) -> int:
        """Offset of event ``i`` in ``buf``."""
        return self.ends[i - 1] - self.origin if i else len(self.framing.opening)

    def event(self, i: int) -> bytes:
        """Event ``i`` as its sink encoded it (without the separator)."""
        if self.listed is not None:
            return self.listed[i]
        a, b = self.start(i), self.ends[i] - self.origin
        return bytes(self.buf[a : b - len(self.framing.sep)]) if b > a else b""

    def events(self, lo: int = 0, hi: int | None = None) -> list[bytes]:
        """Events ``lo`` to ``hi`` (all by default), empty ones included."""
        if self.listed is not None:
            return self.listed[lo:hi]
        return [self.event(i) for i in range(lo, len(self) if hi is None else hi)]

    def nonempty_indices(self) -> list[int]:
        """Index of each event that goes on the wire, in order (what a server's indices count)."""
        if not self.empty:
            return list(range(len(self)))
        ends = self.ends
        return list(compress(range(len(ends)), map(ne, ends, [self._first, *ends[:-1]])))

    def wire_events(self) -> list[bytes]:
        """The events that go on the wire (the non-empty ones), in order: what a sink that
        builds its own request from the events sends."""
        if self.listed is not None:
            return [e for e in self.listed if e] if self.empty else list(self.listed)
        return [self.event(i) for i in self.nonempty_indices()]

    def nonempty_before(self, i: int) -> int:
        """How many events before event ``i`` go on the wire."""
        return bisect_left(self.nonempty_indices(), i)

    def part(self, lo: int, hi: int) -> Body:
        """A new body of events ``lo`` to ``hi`` (one copy of their bytes: a batch's tail, split
        halves, the rest after a bad event). Its ``ends`` are a copy of these (``origin``
        says where they start), not a pass over them."""
        part = Body(self.framing)
        a = self.start(lo)
        b = self.ends[hi - 1] - self.origin if hi > lo else a
        if self.listed is not None:
            part.listed = self.listed[lo:hi]
        else:
            with memoryview(self.buf) as view:
                part.buf += view[a:b]
        sep = self.framing.sep
        if self._sent and sep and b > a and b == len(self.buf):
            part.buf[-len(sep):] = sep  # the closing the last event got when sent
        part.ends = self.ends[lo:hi]
        part.origin = self.origin + a - len(self.framing.opening)
        if self.empty:
            part.empty = sum(1 for x, y in pairwise([a + self.origin, *part.ends]) if x == y)
        return part

    def cost(self, k: int) -> int:
        """What events ``0..k`` count against the batch byte limit (see the class)."""
        if not k:
            return 0
        extra = SEPARATOR_ALLOWANCE - len(self.framing.sep)
        return self.ends[k - 1] - self._first + extra * k + self._unseparated(k)

    def _unseparated(self, k: int) -> int:
        """Separator bytes the empty events among the first ``k`` count but do not carry."""
        if not (self.empty and self.framing.sep):
            return 0
        return len(self.framing.sep) * sum(
            1 for x, y in pairwise([self._first, *self.ends[:k]]) if x == y)

    def fit(self, max_events: int, max_bytes: int) -> int:
        """How many of the first events fit within both limits (0 when the first alone costs
        more than ``max_bytes``): a bisect over the end offsets."""
        hi = min(len(self), max_events)
        if self.empty and self.framing.sep:  # rare: cost is not a function of the offset alone
            return bisect_right(range(1, hi + 1), max_bytes, key=self.cost)
        extra = SEPARATOR_ALLOWANCE - len(self.framing.sep)
        first = self._first
        if not extra:
            return bisect_right(self.ends, first + max_bytes, 0, hi)
        ends = self.ends
        return bisect_right(range(hi), max_bytes, key=lambda i: ends[i] - first + extra * (i + 1))

    def cut(self, k: int) -> Body:
        """Keep the first ``k`` events; the rest move to a new body (one copy of the tail)."""
        rest = self.part(k, len(self))
        self.empty -= rest.empty
        if self.listed is not None:
            del self.listed[k:]
        del self.buf[self.start(k):]
        del self.ends[k:]
        return rest

    def clear(self) -> None:
        """Let go of every event (the buffer's memory goes too); the body may be filled again
        (a retried request encoded anew: its last separator is closed again when sent)."""
        self.buf = bytearray(self.framing.opening)
        self.ends = array(OFFSET_TYPE)
        self.origin = self.empty = 0
        self._sent = False
        if self.listed is not None:
            self.listed = []

    def payload(self) -> bytearray:
        """The request body: the buffer, its last separator turned into ``framing.closing``
        (once: the body is not appended to after). Empty when no event goes on the wire."""
        if not self.nonempty:
            return bytearray()
        if self.listed is not None:  # not the request of such a sink: its events, joined
            return bytearray().join(self.listed)
        sep = self.framing.sep
        if sep and not self._sent:
            self.buf[-len(sep):] = self.framing.closing
        self._sent = True
        return self.buf


def append_events(out: bytearray, ends: array[int], base: int, events: list[bytes],
                  sep: bytes) -> int:
    """Each of ``events`` then ``sep`` (none after an empty one) appended to ``out``, each one's
    end offset plus ``base`` to ``ends``; how many were empty."""
    if not events:
        return 0
    empty = events.count(b"")
    start = len(out)
    if not sep or not empty:
        out += sep.join(events)
        out += sep
        ends.extend(islice(accumulate(map(add, map(len, events), repeat(len(sep))),
                                      initial=start + base), 1, None))
    else:
        for event in events:
            if event:
                out += event
                out += sep
            ends.append(len(out) + base)
    return empty


def framed(framing: Framing, events: Sequence[bytes]) -> bytes:
    """The body of ``events`` built the plain way (tests and the list path's reference)."""
    wire = [e for e in events if e]
    if not wire:
        return b""
    return framing.opening + framing.sep.join(wire) + framing.closing
