"""How one request went, as the delivery layer needs it: OK, retry, split the batch, or drop."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.Enum):
    OK = "ok"  # delivered (and acknowledged, where the sink asks for that)
    RETRY = "retry"  # transient: send the same batch again after a backoff
    SPLIT = "split"  # too large: send each half; a single event that is too large is dropped
    DROP = "drop"  # permanent: sending it again cannot help


class Fault(enum.Enum):
    """Whose fault a failed answer is, where the sink can tell: callers decide on this, never on
    the reason text."""

    NONE = "none"  # not known, or nothing to blame (OK, transient, too large)
    CONFIG = "config"  # a setting is wrong (token, API key, credentials, index, channel)
    DATA = "data"  # the events themselves were refused (Splunk HEC's bad-data codes)


# How the human-readable reason starts for each fault (logs and /status show it). Text only:
# match ``Answer.fault``.
CONFIG_ERROR = "configuration error"
BAD_DATA = "bad data"


@dataclass(frozen=True, slots=True)
class Answer:
    """The classification of one answer (or transport failure). ``reason`` never holds a secret."""

    outcome: Outcome
    status: int | None = None  # HTTP status, None for a transport failure
    retry_after: float | None = None  # seconds the server asked us to wait, if it said
    reason: str = ""  # for people (logs, /status): decide on ``outcome`` and ``fault``, never this
    # With DROP: the server named the one event it refused, by its index (from 0) in the
    # events sent, having accepted every event before it and processed none after it (Splunk
    # HEC's ``invalid-event-number``). None: the answer is about the whole request.
    invalid_event: int | None = None
    fault: Fault = Fault.NONE  # with DROP (and a failed HEC ack poll): CONFIG or DATA, if known
    # With DROP: the server stored every event sent but these (indices from 0), which it
    # refused for good (Loki's 400 names entries; the others of the request are stored).
    # None: the answer is about the whole request.
    refused_events: tuple[int, ...] | None = None
    # With OK: how many of the events sent the server refused for good while accepting the
    # request (OTLP's partial_success.rejected_log_records): counted and reported, not resent.
    rejected: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK
