"""The retry policy: a pure answer classifier, Retry-After parsing, and backoff with jitter."""

from __future__ import annotations

import datetime
import email.utils
import math
import time
from collections.abc import Mapping

import tenacity

from .answer import Answer, Outcome

MAX_RETRY_AFTER_SECONDS = 3600.0  # a server asking for longer is taken to mean an hour: a bad
# header must not stall a container's delivery for days
EPOCH_THRESHOLD = 1_000_000_000  # an X-Ratelimit-Reset this large is a Unix time, not a delta
REASON_BODY_CHARS = 200  # how much of an answer body a reason quotes

_RETRY_STATUSES = frozenset({408, 429})
_NOT_IMPLEMENTED = 501


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that works for plain dicts and ``httpx.Headers`` alike."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After``: delay-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": an HTTP-date is always UTC (RFC 9110 5.6.7)
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return _clamp(seconds)


def parse_ratelimit_reset(value: str | None, *, now: float | None = None) -> float | None:
    """``X-Ratelimit-Reset``: seconds until the window resets (Datadog), or a Unix time."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds >= EPOCH_THRESHOLD:
        seconds -= time.time() if now is None else now
    return _clamp(seconds)


def _clamp(seconds: float) -> float | None:
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


CUT_MARK = "\u2026"  # "…" ends an excerpt that was cut (the scrubber looks there, see client.py)


def body_excerpt(body: bytes) -> str:
    """At most REASON_BODY_CHARS of ``body`` as one line of text, ``CUT_MARK`` after a cut."""
    text = body[: REASON_BODY_CHARS * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text if len(text) <= REASON_BODY_CHARS else text[:REASON_BODY_CHARS] + CUT_MARK


def classify_http(
    status: int, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> Answer:
    """The generic table: 2xx OK; 408, 429 and 5xx but 501 RETRY; 413 SPLIT; anything else DROP.

    A RETRY carries the server's requested delay: ``Retry-After`` (seconds or HTTP-date), or
    for a 429 without it, ``X-Ratelimit-Reset``.
    """
    excerpt = body_excerpt(body)
    reason = f"HTTP {status}: {excerpt}" if excerpt else f"HTTP {status}"
    if 200 <= status < 300:
        return Answer(Outcome.OK, status, None, reason)
    if status == 413:
        return Answer(Outcome.SPLIT, status, None, reason)
    if status in _RETRY_STATUSES or (500 <= status < 600 and status != _NOT_IMPLEMENTED):
        delay = parse_retry_after(header(headers, "Retry-After"), now=now)
        if delay is None and status == 429:
            delay = parse_ratelimit_reset(header(headers, "X-Ratelimit-Reset"), now=now)
        return Answer(Outcome.RETRY, status, delay, reason)
    return Answer(Outcome.DROP, status, None, reason)


_RETRYING = tenacity.Retrying()


def backoff(
    attempt: int, *, base: float = 0.5, cap: float = 60.0, retry_after: float | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    Capped exponential backoff with full jitter, uniform in
    ``[0, min(cap, base * 2**(attempt-1))]`` (tenacity's ``wait_random_exponential``), and never
    less than ``retry_after``.
    """
    state = tenacity.RetryCallState(retry_object=_RETRYING, fn=None, args=(), kwargs={})
    state.attempt_number = max(1, attempt)
    delay = float(tenacity.wait_random_exponential(multiplier=base, max=cap)(state))
    if retry_after is not None and retry_after > delay:
        return retry_after
    return delay


def settle_split(answer: Answer, events: int) -> Answer:
    """A SPLIT for a single event cannot be split: that event is dropped, with the reason."""
    if answer.outcome is Outcome.SPLIT and events <= 1:
        return Answer(Outcome.DROP, answer.status, None,
                      f"single event too large for the server: {answer.reason}")
    return answer
