"""Delivery counters: per (container, sink) and the totals over every worker of one process."""

from __future__ import annotations

import time
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from sinks import Answer, Outcome

LOG_EVERY_SECONDS = 10.0  # the same warning for the same (container, sink) at most this often
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(slots=True)
class SinkStats:
    """Counters of one (container, sink) pair."""

    delivered_events: int = 0
    delivered_batches: int = 0
    retries: int = 0
    dead_letters: int = 0
    rejected: int = 0  # events a server refused inside an accepted request (OTLP partial success)
    last_rejection: str = ""  # its reason, as the sink worded it
    dropped_bytes: int = 0  # undelivered data the store dropped before this sink had it
    # ... by cause (store.ledger.CAUSES): [entries, bytes]
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

    def to_json(self) -> dict[str, Any]:
        """The counters as plain JSON values (one row of a snapshot's ``workers``)."""
        return {
            "delivered_events": self.delivered_events, "retries": self.retries,
            "dead_letters": self.dead_letters, "dropped_bytes": self.dropped_bytes,
            "rejected": self.rejected, "last_rejection": self.last_rejection,
            "dropped": {c: list(v) for c, v in self.dropped.items()},
            "requests": dict(self.requests), "latency_counts": list(self.latency_counts),
            "latency_sum": self.latency_sum, "last_success": self.last_success,
            "last_error": self.last_error, "last_error_at": self.last_error_at,
        }


@dataclass(slots=True)
class Totals:
    """Counters over every worker of one process: each worker adds to them as it adds to its
    own ``SinkStats`` (the worker is given this, not its owner)."""

    delivered_events: int = 0
    retries: int = 0
    dead_letters: int = 0
    dropped_bytes: int = 0
    dropped: dict[str, list[int]] = field(default_factory=dict)  # cause -> [entries, bytes]

    def to_json(self) -> dict[str, Any]:
        return {"delivered_events": self.delivered_events, "retries": self.retries,
                "dead_letters": self.dead_letters, "dropped_bytes": self.dropped_bytes,
                "dropped": {c: list(v) for c, v in self.dropped.items()}}
