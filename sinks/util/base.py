"""The contract between the delivery layer and every sink: the Sink protocol, its config
protocol, the answer classification and the retry policy (re-exported from their modules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .answer import Answer, Fault, Outcome
from .batch import BatchConfig
from .body import Body, Framing
from .errors import SinkOptionError, SinkVerifyError
from .record import Context, Record, Records
from .retry import backoff, classify_http, parse_retry_after

__all__ = [
    "Answer", "BatchConfig", "Fault", "Outcome", "Sink", "SinkConfig",
    "SinkOptionError", "SinkVerifyError", "backoff", "classify_http", "parse_retry_after",
]


class Sink(Protocol):
    """One destination for one container's records. ``send`` never raises."""

    name: str  # "splunk" | "datadog" | "http" | "loki" | "otlp"
    max_batch_events: int  # the vendor's ceiling per request (BatchConfig is at most this)
    max_batch_bytes: int  # ditto, counted as batch.batch_cost counts

    def encode(self, ctx: Context, rec: Record) -> bytes:
        """One event in this sink's envelope; ``b""`` if this sink skips the record by design."""
        ...

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        """``[encode(ctx, r) for r in recs]``."""
        ...

    @property
    def framing(self) -> Framing:
        """How this sink's events make a request body (``util.body``)."""
        ...

    def encode_into(self, ctx: Context, recs: Records, body: Body) -> None:
        """``body.extend(encode_many(ctx, recs))`` (``body`` has this sink's ``framing``); the
        delivery hot path calls this."""
        ...

    async def send_body(self, body: Body) -> Answer:
        """One request (plus failover/ack polling where the sink has them) for the events of
        ``body`` (this sink's ``framing``), through ``util.send.send_body``: empty events are
        left out (none: OK, no request), a single event is never answered SPLIT (DROP
        instead), ``invalid_event`` and ``refused_events`` index ``body``'s events."""
        ...

    async def send(self, encoded: Sequence[bytes]) -> Answer:
        """``send_body`` of a body of these events; indices index ``encoded``."""
        ...

    async def verify(self) -> None:
        """Start-up connection check; raises SinkVerifyError. A no-op for sinks without one."""
        ...

    async def close(self) -> None:
        """Release the HTTP client; idempotent."""
        ...


class SinkConfig(Protocol):
    """A sink's validated options (frozen, no I/O); ``sinks.create(config)`` builds its sink."""

    @property
    def name(self) -> str: ...

    @property
    def batch(self) -> BatchConfig: ...

    @property
    def verify_on_start(self) -> bool:
        """Whether the caller should ``await sink.verify()`` before accepting the container."""
        ...
