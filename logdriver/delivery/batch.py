"""A delivery worker's batch: the encoded events of one request, cut to the sink's limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from sinks import BatchConfig, batch_cost, batch_fit


@dataclass(slots=True)
class Batch:
    """The encoded events of one request, what they count against the byte limit, and the
    (packed) position the cursor may move to once they are accepted."""

    events: list[bytes] = field(default_factory=list)
    size: int = 0
    end: int = 0


@dataclass(slots=True)
class Taken:
    """Encoded events read but not yet in a batch, each with its (packed) cursor position."""

    events: list[bytes]
    ends: list[int]


def fill(batch: Batch, taken: Taken, config: BatchConfig) -> Taken | None:
    """Move events of ``taken`` into ``batch`` within ``config``'s limits (an event that alone
    exceeds ``config.bytes`` gets a batch of its own: the server decides); returns what did not
    fit (the batch is full then), or None when all of it went in. ``taken`` is not empty."""
    events, ends = taken.events, taken.ends
    k, cost = batch_fit(events, max_events=config.events - len(batch.events),
                        max_bytes=config.bytes - batch.size)
    if not k and not batch.events:  # only an event alone may exceed the limit
        k, cost = 1, batch_cost(events[:1])
    if k:
        batch.events += events[:k] if k < len(events) else events
        batch.size += cost
        batch.end = ends[k - 1]
    return Taken(events[k:], ends[k:]) if k < len(events) else None
