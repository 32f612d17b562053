"""OTLP/HTTP answers -> Answer, as the OTLP specification's "OTLP/HTTP Response" section says.

- 2xx: accepted. The body is an ``ExportLogsServiceResponse``; a ``partial_success`` with
  ``rejected_log_records`` > 0 means the server refused that many records for good: OK (never
  retried), with ``Answer.rejected`` set and its ``error_message`` in the reason. One with 0
  rejected and a message is a warning, kept in the reason. A body that cannot be read is still
  a success: the status says the request was accepted.
- 429, 502, 503, 504: RETRY, after ``Retry-After`` (seconds or an HTTP-date) when given.
- 413: SPLIT. The server's body limit (the spec recommends 64 MiB) refuses this request; each
  half is a new, smaller request (a single record that is too large is dropped, counted).
- Every other status, 4xx and 5xx alike: DROP ("All other 4xx or 5xx response status codes MUST
  NOT be retried"); 401/403/407 are configuration errors (the headers' credentials), 400 bad
  data. The reason quotes the ``google.rpc.Status`` message the body carries.

The body is protobuf or JSON after the answer's ``Content-Type`` (the server answers in the
request's encoding).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from ..util.answer import BAD_DATA, CONFIG_ERROR, Answer, Fault, Outcome
from ..util.retry import body_excerpt, header, parse_retry_after

RETRY_STATUSES = frozenset({429, 502, 503, 504})  # "Retryable Response Codes"
REFUSED_STATUSES = frozenset({401, 403, 407})  # the headers' credentials were refused
TOO_LARGE = 413
BAD_REQUEST = 400
MESSAGE_CHARS = 300  # how much of a server's message a reason quotes


@dataclass(frozen=True, slots=True)
class PartialSuccess:
    rejected: int
    message: str


def _is_json(headers: Mapping[str, str]) -> bool:
    content_type = header(headers, "Content-Type") or ""
    return content_type.split(";")[0].strip().lower() == "application/json"


def partial_success(headers: Mapping[str, str], body: bytes) -> PartialSuccess | None:
    """The ``partial_success`` of an ``ExportLogsServiceResponse``; None if unset or unreadable."""
    if not body:
        return None
    if _is_json(headers):
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        part = value.get("partialSuccess") if isinstance(value, dict) else None
        if not isinstance(part, dict):
            return None
        rejected, message = part.get("rejectedLogRecords", 0), part.get("errorMessage", "")
        try:  # an int64 in JSON is a decimal string or a number
            count = int(rejected)
        except (TypeError, ValueError):
            return None
        return PartialSuccess(max(count, 0), message if isinstance(message, str) else "")
    try:
        response = ExportLogsServiceResponse.FromString(body)
    except DecodeError:
        return None
    if not response.HasField("partial_success"):
        return None
    part = response.partial_success
    return PartialSuccess(max(part.rejected_log_records, 0), part.error_message)


def status_message(headers: Mapping[str, str], body: bytes) -> str:
    """The ``google.rpc.Status`` message of a failure body, else an excerpt of the body ("" for
    an empty one)."""
    message = ""
    if _is_json(headers):
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            value = None
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            message = value["message"]
    else:
        try:
            message = Status.FromString(body).message
        except DecodeError:
            message = ""
    if message:
        return " ".join(message.split())[:MESSAGE_CHARS]
    return body_excerpt(body) if _is_json(headers) or not body else "(no readable status)"


def classify(status: int, headers: Mapping[str, str], body: bytes, *,
             now: float | None = None) -> Answer:
    """One OTLP/HTTP answer -> Answer (see the module docstring for the table)."""
    if 200 <= status < 300:
        part = partial_success(headers, body)
        if part is None:
            return Answer(Outcome.OK, status, None, f"HTTP {status}")
        message = " ".join(part.message.split())[:MESSAGE_CHARS]
        if part.rejected:
            return Answer(Outcome.OK, status, None,
                          f"partial success: {part.rejected} log records rejected: {message}",
                          rejected=part.rejected)
        return Answer(Outcome.OK, status, None, f"HTTP {status}, server warning: {message}")
    message = status_message(headers, body)
    detail = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    if status in RETRY_STATUSES:
        delay = parse_retry_after(header(headers, "Retry-After"), now=now)
        return Answer(Outcome.RETRY, status, delay, detail)
    if status == TOO_LARGE:
        return Answer(Outcome.SPLIT, status, None, detail)
    if status in REFUSED_STATUSES:
        return Answer(Outcome.DROP, status, None, f"{CONFIG_ERROR}: credentials refused ({detail})",
                      fault=Fault.CONFIG)
    if status == BAD_REQUEST:
        return Answer(Outcome.DROP, status, None, f"{BAD_DATA}: {detail}", fault=Fault.DATA)
    return Answer(Outcome.DROP, status, None, detail)
