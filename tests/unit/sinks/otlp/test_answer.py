"""The OTLP/HTTP answer table: a pure function over status, headers and body."""

from __future__ import annotations

import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceResponse,
)

from sinks.otlp.answer import classify
from sinks.util.answer import BAD_DATA, CONFIG_ERROR, Fault, Outcome

PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}
NOW = 1_700_000_000.0


def partial(rejected: int, message: str) -> bytes:
    return ExportLogsServiceResponse(partial_success=ExportLogsPartialSuccess(
        rejected_log_records=rejected, error_message=message)).SerializeToString()


def status(message: str) -> bytes:
    return Status(code=3, message=message).SerializeToString()


@pytest.mark.parametrize(("code", "headers", "body", "outcome", "retry_after", "rejected",
                          "reason"), [
    (200, PB, b"", Outcome.OK, None, 0, "HTTP 200"),
    (200, PB, ExportLogsServiceResponse().SerializeToString(), Outcome.OK, None, 0, "HTTP 200"),
    (200, PB, partial(3, "too old"), Outcome.OK, None, 3,
     "partial success: 3 log records rejected: too old"),
    (200, JS, b'{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"big"}}', Outcome.OK,
     None, 2, "partial success: 2 log records rejected: big"),
    (200, JS, b'{"partialSuccess":{"rejectedLogRecords":4}}', Outcome.OK, None, 4,
     "partial success: 4 log records rejected: "),
    (200, PB, partial(0, "deprecated field"), Outcome.OK, None, 0,
     "HTTP 200, server warning: deprecated field"),
    (200, PB, b"\xff\xff not protobuf", Outcome.OK, None, 0, "HTTP 200"),  # still accepted
    (200, JS, b"{}", Outcome.OK, None, 0, "HTTP 200"),
    (429, {**PB, "Retry-After": "7"}, status("slow down"), Outcome.RETRY, 7.0, 0,
     "HTTP 429: slow down"),
    (503, {**JS, "Retry-After": "Tue, 14 Nov 2023 22:13:30 GMT"}, b'{"message":"busy"}',
     Outcome.RETRY, 10.0, 0, "HTTP 503: busy"),
    (502, {}, b"", Outcome.RETRY, None, 0, "HTTP 502"),
    (504, {"Content-Type": "text/html"}, b"<h1>gateway</h1>", Outcome.RETRY, None, 0,
     "HTTP 504: (no readable status)"),
    (413, PB, status("too large"), Outcome.SPLIT, None, 0, "HTTP 413: too large"),
    (400, PB, status("bad record"), Outcome.DROP, None, 0, f"{BAD_DATA}: HTTP 400: bad record"),
    (401, JS, b'{"message":"no key"}', Outcome.DROP, None, 0,
     f"{CONFIG_ERROR}: credentials refused (HTTP 401: no key)"),
    (403, PB, b"", Outcome.DROP, None, 0, f"{CONFIG_ERROR}: credentials refused (HTTP 403)"),
    (404, {"Content-Type": "text/plain"}, b"404 page not found", Outcome.DROP, None, 0,
     "HTTP 404: (no readable status)"),
    (408, PB, b"", Outcome.DROP, None, 0, "HTTP 408"),  # OTLP retries only the four
    (500, PB, status("oops"), Outcome.DROP, None, 0, "HTTP 500: oops"),
    (501, PB, b"", Outcome.DROP, None, 0, "HTTP 501"),
])
def test_answer_table(code: int, headers: dict[str, str], body: bytes, outcome: Outcome,
                      retry_after: float | None, rejected: int, reason: str) -> None:
    answer = classify(code, headers, body, now=NOW)
    assert (answer.outcome, answer.status, answer.retry_after, answer.rejected,
            answer.reason) == (outcome, code, retry_after, rejected, reason)


@pytest.mark.parametrize(("code", "fault"), [
    (400, Fault.DATA), (401, Fault.CONFIG), (403, Fault.CONFIG), (407, Fault.CONFIG),
    (200, Fault.NONE), (404, Fault.NONE), (408, Fault.NONE), (413, Fault.NONE),
    (429, Fault.NONE), (500, Fault.NONE), (503, Fault.NONE),
])
def test_fault_tells_refused_credentials_from_bad_data(code: int, fault: Fault) -> None:
    assert classify(code, PB, status("no"), now=NOW).fault is fault
