"""HEC answers: (HTTP status, HEC code) -> Outcome, with reasons that tell config from data."""

from __future__ import annotations

import json

import pytest

from sinks.splunk.answer import classify_hec
from sinks.util.answer import BAD_DATA, CONFIG_ERROR, Outcome


def body(code: int, text: str = "x", **extra: object) -> bytes:
    return json.dumps({"text": text, "code": code, **extra}).encode()


@pytest.mark.parametrize(("status", "code", "outcome", "prefix"), [
    (200, 0, Outcome.OK, ""),
    (503, 9, Outcome.RETRY, ""),  # server is busy
    (500, 8, Outcome.RETRY, ""),  # internal server error
    (503, 18, Outcome.RETRY, ""),  # unhealthy: queues full
    (429, None, Outcome.RETRY, ""),
    (400, 5, Outcome.DROP, BAD_DATA),  # no data
    (400, 6, Outcome.DROP, BAD_DATA),  # invalid data format
    (400, 12, Outcome.DROP, BAD_DATA),  # event field is required
    (400, 13, Outcome.DROP, BAD_DATA),  # event field cannot be blank
    (400, 15, Outcome.DROP, BAD_DATA),  # indexed fields
    (401, 2, Outcome.DROP, CONFIG_ERROR),  # token is required
    (401, 3, Outcome.DROP, CONFIG_ERROR),  # invalid authorization
    (403, 1, Outcome.DROP, CONFIG_ERROR),  # token disabled
    (403, 4, Outcome.DROP, CONFIG_ERROR),  # invalid token
    (400, 7, Outcome.DROP, CONFIG_ERROR),  # incorrect index
    (400, 10, Outcome.DROP, CONFIG_ERROR),  # data channel is missing
    (400, 11, Outcome.DROP, CONFIG_ERROR),  # invalid data channel
    (400, 14, Outcome.DROP, CONFIG_ERROR),  # ACK is disabled
    (413, None, Outcome.SPLIT, ""),
    (401, None, Outcome.DROP, CONFIG_ERROR),
    (404, None, Outcome.DROP, ""),
])
def test_hec_answer_table(status: int, code: int | None, outcome: Outcome, prefix: str) -> None:
    raw = body(code) if code is not None else b"<html>proxy says no</html>"
    answer = classify_hec(status, {}, raw)
    assert (answer.outcome, answer.status) == (outcome, status)
    if prefix:
        assert answer.reason.startswith(prefix + ": ")
    else:
        assert not answer.reason.startswith((BAD_DATA, CONFIG_ERROR))
    if code is not None:
        assert f"HEC code {code}" in answer.reason


def test_reason_names_the_invalid_event() -> None:
    answer = classify_hec(400, {}, body(6, "Invalid data format", **{"invalid-event-number": 3}))
    assert answer.reason == (
        f"{BAD_DATA}: HTTP 400, HEC code 6 (Invalid data format), invalid-event-number 3")


@pytest.mark.parametrize(("code", "number", "invalid_event"), [
    (6, 3, 3),  # invalid data format
    (12, 0, 0),  # event field is required
    (13, 19_999, 19_999),  # event field cannot be blank
    (15, 1, 1),  # error in handling indexed fields
    (6, None, None),  # no number: the answer is about the whole request
    (6, -1, None),
    (6, True, None),
    (6, "3", None),
    (7, 2, None),  # incorrect index: a setting, so every event after it would be refused too
    (4, 0, None),
])
def test_a_bad_event_is_named_by_its_index(code: int, number: object,
                                           invalid_event: int | None) -> None:
    extra = {} if number is None else {"invalid-event-number": number}
    status = 403 if code == 4 else 400
    answer = classify_hec(status, {}, body(code, **extra))
    assert (answer.outcome, answer.invalid_event) == (Outcome.DROP, invalid_event)


def test_a_non_hec_body_is_quoted() -> None:
    answer = classify_hec(502, {"Retry-After": "4"}, b"Bad Gateway")
    assert answer.reason == "HTTP 502: Bad Gateway" and answer.retry_after == 4.0
