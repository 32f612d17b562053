"""The retry policy: the generic answer table, server-requested delays, backoff bounds."""

from __future__ import annotations

import email.utils
import random

import pytest

from sinks.util.answer import Answer, Outcome
from sinks.util.retry import (
    MAX_RETRY_AFTER_SECONDS,
    backoff,
    classify_http,
    parse_ratelimit_reset,
    parse_retry_after,
    settle_split,
)

NOW = 1_700_000_000.0


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.OK), (201, Outcome.OK), (202, Outcome.OK), (204, Outcome.OK),
    (408, Outcome.RETRY), (429, Outcome.RETRY),
    (500, Outcome.RETRY), (502, Outcome.RETRY), (503, Outcome.RETRY), (504, Outcome.RETRY),
    (599, Outcome.RETRY), (501, Outcome.DROP),
    (413, Outcome.SPLIT),
    (400, Outcome.DROP), (401, Outcome.DROP), (403, Outcome.DROP), (404, Outcome.DROP),
    (405, Outcome.DROP), (422, Outcome.DROP), (301, Outcome.DROP), (100, Outcome.DROP),
])
def test_generic_status_table(status: int, outcome: Outcome) -> None:
    answer = classify_http(status, {}, b"", now=NOW)
    assert (answer.outcome, answer.status) == (outcome, status)


def test_reason_quotes_a_short_single_line_body() -> None:
    answer = classify_http(400, {}, b'{"errors":\n ["bad"]}' + b"x" * 1000, now=NOW)
    assert answer.reason.startswith('HTTP 400: {"errors": ["bad"]}xxx')
    assert len(answer.reason) < 300


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Retry-After": "7"}, 7.0),
    ({"retry-after": "2.5"}, 2.5),  # header names are case-insensitive
    ({"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
    ({"Retry-After": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0),  # in the past
    ({"Retry-After": "soon"}, None),
    ({"Retry-After": "-5"}, 0.0),
    ({"Retry-After": "999999"}, MAX_RETRY_AFTER_SECONDS),
    ({}, None),
])
def test_retry_after_on_503(headers: dict[str, str], expected: float | None) -> None:
    answer = classify_http(503, headers, b"", now=NOW)
    assert answer.outcome is Outcome.RETRY
    assert answer.retry_after == expected


def test_ratelimit_reset_is_used_for_429_without_retry_after() -> None:
    assert classify_http(429, {"X-Ratelimit-Reset": "12"}, b"", now=NOW).retry_after == 12.0
    assert classify_http(429, {"X-RateLimit-Reset": str(int(NOW) + 40)}, b"",
                         now=NOW).retry_after == 40.0  # a Unix time
    both = {"Retry-After": "3", "X-Ratelimit-Reset": "12"}
    assert classify_http(429, both, b"", now=NOW).retry_after == 3.0
    assert classify_http(503, {"X-Ratelimit-Reset": "12"}, b"", now=NOW).retry_after is None


def test_retry_after_parsers_directly() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 -0000", now=1445412480.0) == 10.0
    assert parse_retry_after(None) is None and parse_retry_after("  ") is None
    assert parse_retry_after("nan") is None
    assert parse_ratelimit_reset("x") is None and parse_ratelimit_reset(None) is None


def test_retry_after_is_ignored_on_answers_that_are_not_retried() -> None:
    assert classify_http(400, {"Retry-After": "5"}, b"", now=NOW).retry_after is None


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 20, 1000])
def test_backoff_stays_within_full_jitter_window(attempt: int) -> None:
    rng_state = random.getstate()
    try:
        random.seed(attempt)
        window = min(60.0, 0.5 * 2 ** (attempt - 1))
        delays = [backoff(attempt) for _ in range(200)]
    finally:
        random.setstate(rng_state)
    assert all(0.0 <= d <= window for d in delays)
    assert max(delays) > window * 0.5  # full jitter spreads over the window


def test_backoff_respects_base_and_cap() -> None:
    assert all(backoff(10, base=0.1, cap=2.0) <= 2.0 for _ in range(100))
    assert all(backoff(1, base=0.1, cap=2.0) <= 0.1 for _ in range(100))
    assert all(backoff(0) <= 0.5 for _ in range(100))  # attempt 0 counts as the first


def test_backoff_never_less_than_retry_after() -> None:
    assert all(backoff(1, retry_after=5.0) == 5.0 for _ in range(50))
    assert all(backoff(30, retry_after=0.01) >= 0.01 for _ in range(50))
    assert backoff(1, cap=1.0, retry_after=120.0) == 120.0  # the server's word beats the cap


def test_a_single_event_too_large_is_dropped() -> None:
    split = Answer(Outcome.SPLIT, 413, None, "HTTP 413")
    assert settle_split(split, 2) is split
    dropped = settle_split(split, 1)
    assert dropped.outcome is Outcome.DROP and "too large" in dropped.reason
    ok = Answer(Outcome.OK, 200)
    assert settle_split(ok, 1) is ok
