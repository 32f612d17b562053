"""HEC answers: (HTTP status, HEC code) -> Outcome, with reasons that tell config from data."""

from __future__ import annotations

import json

import pytest

from sinks.splunk.answer import classify_hec
from sinks.util.answer import BAD_DATA, Fault, Outcome


def body(code: int, text: str = "x", **extra: object) -> bytes:
    return json.dumps({"text": text, "code": code, **extra}).encode()


@pytest.mark.parametrize(("status", "code", "outcome", "fault"), [
    (200, 0, Outcome.OK, Fault.NONE),
    (503, 9, Outcome.RETRY, Fault.NONE),  # server is busy
    (500, 8, Outcome.RETRY, Fault.NONE),  # internal server error
    (503, 18, Outcome.RETRY, Fault.NONE),  # unhealthy: queues full
    (429, None, Outcome.RETRY, Fault.NONE),
    (400, 5, Outcome.DROP, Fault.DATA),  # no data
    (400, 6, Outcome.DROP, Fault.DATA),  # invalid data format
    (400, 12, Outcome.DROP, Fault.DATA),  # event field is required
    (400, 13, Outcome.DROP, Fault.DATA),  # event field cannot be blank
    (400, 15, Outcome.DROP, Fault.DATA),  # indexed fields
    (401, 2, Outcome.DROP, Fault.CONFIG),  # token is required
    (401, 3, Outcome.DROP, Fault.CONFIG),  # invalid authorization
    (403, 1, Outcome.DROP, Fault.CONFIG),  # token disabled
    (403, 4, Outcome.DROP, Fault.CONFIG),  # invalid token
    (400, 7, Outcome.DROP, Fault.CONFIG),  # incorrect index
    (400, 10, Outcome.DROP, Fault.CONFIG),  # data channel is missing
    (400, 11, Outcome.DROP, Fault.CONFIG),  # invalid data channel
    (400, 14, Outcome.DROP, Fault.CONFIG),  # ACK is disabled
    (413, None, Outcome.SPLIT, Fault.NONE),
    (401, None, Outcome.DROP, Fault.CONFIG),
    (404, None, Outcome.DROP, Fault.NONE),
])
def test_hec_answer_table(status: int, code: int | None, outcome: Outcome, fault: Fault) -> None:
    raw = body(code) if code is not None else b"<html>proxy says no</html>"
    answer = classify_hec(status, {}, raw)
    assert (answer.outcome, answer.status, answer.fault) == (outcome, status, fault)
    if code is not None:
        assert f"HEC code {code}" in answer.reason


def test_reason_names_the_invalid_event() -> None:
    answer = classify_hec(400, {}, body(6, "Invalid data format", **{"invalid-event-number": 3}))
    assert answer.fault is Fault.DATA
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
