"""A delivery worker's batch: the request body its events are encoded into, cut to the sink's
limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from sinks import BatchConfig, Body


@dataclass(slots=True)
class Batch:
    """The events of one request, encoded into ``body`` (the request body, see
    ``sinks.util.body``), the (packed) cursor position after each (``marks``), what they count
    against the byte limit (``size``) and the position the cursor may move to once they are
    accepted (``end``)."""

    body: Body
    marks: list[int] = field(default_factory=list)
    size: int = 0
    end: int = 0

    def __len__(self) -> int:
        return len(self.marks)

    def clear(self) -> None:
        """Let go of every event (the worker sheds what it read ahead)."""
        self.body.clear()
        self.marks = []
        self.size = 0


def fill(batch: Batch, config: BatchConfig) -> Batch | None:
    """Cut ``batch`` (events just appended to its body, their positions to ``marks``) to
    ``config``'s limits: a bisect over the body's end offsets. An event that alone exceeds
    ``config.bytes`` gets a batch of its own (the server decides). Returns what did not fit as a
    new batch (one copy of the tail; ``batch`` is full then), or None when all of it fits.
    ``batch`` is not empty."""
    body = batch.body
    n = len(body)
    k = body.fit(config.events, config.bytes) or 1  # only an event alone may exceed the limit
    rest = None
    if k < n:
        rest = Batch(body.cut(k), batch.marks[k:])
        del batch.marks[k:]
    batch.size = body.cost(k)
    batch.end = batch.marks[k - 1]
    return rest
