"""Loki's answers as a table, and what a 400 names (messages of pkg/validation/validate.go)."""

from __future__ import annotations

import pytest

from sinks.loki.answer import Refusal, classify, refusals
from sinks.util.answer import Fault, Outcome

S = '{container_name="web", source="stdout"}'


@pytest.mark.parametrize("status, headers, outcome, retry_after, fault", [
    (204, {}, Outcome.OK, None, Fault.NONE),
    (200, {}, Outcome.OK, None, Fault.NONE),
    (429, {"Retry-After": "7"}, Outcome.RETRY, 7.0, Fault.NONE),
    (429, {}, Outcome.RETRY, None, Fault.NONE),
    (500, {}, Outcome.RETRY, None, Fault.NONE),
    (502, {}, Outcome.RETRY, None, Fault.NONE),
    (503, {"Retry-After": "2"}, Outcome.RETRY, 2.0, Fault.NONE),
    (504, {}, Outcome.RETRY, None, Fault.NONE),
    (408, {}, Outcome.RETRY, None, Fault.NONE),
    (501, {}, Outcome.DROP, None, Fault.DATA),
    (413, {}, Outcome.SPLIT, None, Fault.NONE),
    (400, {}, Outcome.DROP, None, Fault.DATA),
    (404, {}, Outcome.DROP, None, Fault.DATA),
    (401, {}, Outcome.DROP, None, Fault.CONFIG),
    (403, {}, Outcome.DROP, None, Fault.CONFIG),
    (407, {}, Outcome.DROP, None, Fault.CONFIG),
])
def test_table(status: int, headers: dict[str, str], outcome: Outcome,
               retry_after: float | None, fault: Fault) -> None:
    answer = classify(status, b"some text", headers)
    assert (answer.outcome, answer.status, answer.retry_after) == (outcome, status, retry_after)
    assert answer.fault is fault


@pytest.mark.parametrize("body, want", [
    (f"max entry size '262144' bytes exceeded for stream '{S}' while adding an entry with "
     "length '300000' bytes", [Refusal(S, length=300000)]),
    (f"entry for stream '{S}' has timestamp too old: 2020-01-01T00:00:05Z, oldest acceptable "
     "timestamp is: 2020-01-08T00:00:00Z", [Refusal(S, second=1577836805)]),
    (f"entry for stream '{S}' has timestamp too new: 2030-01-01T00:00:00Z\n",
     [Refusal(S, second=1893456000)]),
    (f"2 errors like: max entry size '9' bytes exceeded for stream '{S}' while adding an entry "
     f"with length '10' bytes; 1 errors like: max entry size '9' bytes exceeded for stream "
     f"'{S}' while adding an entry with length '12' bytes",
     [Refusal(S, length=10), Refusal(S, length=12)]),
    (f"entry for stream '{S}' has 16 label names; limit 15", [Refusal(S)]),
    (f"stream '{S}' has label value too long: 'xxx'", [Refusal(S)]),
    (f"stream '{S}' has label name too long: 'xxx'", [Refusal(S)]),
    (f"error parsing labels '{S}' with error: 1:2: parse error", [Refusal(S)]),
    # what names no entry: the caller dead-letters the whole request
    ("entry too far behind, entry timestamp is: 2020-01-01T00:00:00Z, oldest acceptable "
     "timestamp is: 2020-01-01T01:00:00Z", None),
    (f"max entry size '9' bytes exceeded for stream '{S}' while adding an entry with length "
     "'10' bytes; something else", None),
    ("error at least one valid stream is required for ingestion", None),
    ("", None),
    (b"\xff\xfe".decode("latin-1"), None),
])
def test_what_a_400_names(body: str, want: list[Refusal] | None) -> None:
    assert refusals(body.encode()) == want


def test_invalid_utf8_body_names_nothing() -> None:
    assert refusals(b"\xff max entry size") is None
