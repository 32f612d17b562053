"""A fake OpenTelemetry OTLP/HTTP logs receiver (what a Collector's ``otlp`` receiver takes on
port 4318), parsing bodies with the official ``opentelemetry-proto`` messages.

    with FakeOtlp() as rx:                    # or: python -m tests.fakes.otlp --port 0 --print-port
        ... post to rx.logs_url (rx.url + "/v1/logs") ...
        rx.wait_for_items(3)
        assert rx.lines() == [b"...", ...]

Checks, as the OTLP specification's OTLP/HTTP section says (failures answer a
``google.rpc.Status`` in the request's encoding):
- path ``/v1/logs`` (else 404) and POST (else 405); ``required_headers`` -> else 401;
- ``Content-Type`` ``application/x-protobuf`` or ``application/json`` -> else 415;
- ``Content-Encoding`` gzip or none -> else, or if it does not decode, 400;
- larger than ``max_request_bytes`` (64 MiB, the spec's recommended limit), as received or
  decoded -> 413;
- protobuf: ``ExportLogsServiceRequest.FromString`` (invalid UTF-8 in a string field fails it)
  -> else 400; JSON: OTLP/JSON (hex ``traceId``/``spanId``, unknown fields ignored) through
  ``json_format`` into the same message -> else 400.
Accepted: 200 with an ``ExportLogsServiceResponse``. Each LogRecord becomes one item, a JSON-able
dict: ``resource`` (attribute -> value), ``scope``, ``time_unix_nano``,
``observed_time_unix_nano``, ``severity_number``, ``body`` (str) or ``body_b64`` (bytes),
``attributes``. ``partial(rejected, message)`` makes the next answers partial successes: the last
``rejected`` records of each request are refused (not kept) and the answer says so.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from .common import Answer, FakeServer, Recorded

LOGS_PATH = "/v1/logs"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_REQUEST_BYTES = 64 * 1024 * 1024  # OTLP/HTTP Request: the RECOMMENDED server limit


def status_body(message: str, *, json_encoding: bool = False, code: int = 0) -> bytes:
    """A failure body: ``google.rpc.Status`` in protobuf, or in JSON."""
    status = Status(code=code, message=message)
    if json_encoding:
        return json_format.MessageToJson(status).encode()
    return status.SerializeToString()


def value_of(value: AnyValue) -> Any:
    """An AnyValue as a plain (JSON-able) value; bytes as {"bytes_b64": ...}."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [value_of(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return {"bytes_b64": base64.b64encode(value.bytes_value).decode()}
    return getattr(value, kind) if kind else None


def _hex_ids_to_base64(value: Any) -> Any:
    """OTLP/JSON writes traceId/spanId in hex; protobuf's JSON mapping reads bytes as base64."""
    if isinstance(value, list):
        return [_hex_ids_to_base64(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in ("traceId", "spanId") and isinstance(item, str):
            item = base64.b64encode(binascii.unhexlify(item)).decode()
        out[key] = _hex_ids_to_base64(item)
    return out


def parse_request(content_type: str, body: bytes) -> ExportLogsServiceRequest:
    """Raises ValueError, UnicodeDecodeError, DecodeError or json_format.ParseError."""
    if content_type == PROTOBUF:
        return ExportLogsServiceRequest.FromString(body)
    value = _hex_ids_to_base64(json.loads(body.decode("utf-8")))
    request = ExportLogsServiceRequest()
    json_format.ParseDict(value, request, ignore_unknown_fields=True)
    return request


def items_of(request: ExportLogsServiceRequest) -> list[dict[str, Any]]:
    items = []
    for resource_logs in request.resource_logs:
        resource = {kv.key: value_of(kv.value) for kv in resource_logs.resource.attributes}
        for scope_logs in resource_logs.scope_logs:
            for rec in scope_logs.log_records:
                item: dict[str, Any] = {
                    "resource": resource, "scope": scope_logs.scope.name,
                    "time_unix_nano": rec.time_unix_nano,
                    "observed_time_unix_nano": rec.observed_time_unix_nano,
                    "severity_number": rec.severity_number,
                    "attributes": {kv.key: value_of(kv.value) for kv in rec.attributes},
                }
                body = value_of(rec.body)
                if isinstance(body, dict) and set(body) == {"bytes_b64"}:
                    item["body_b64"] = body["bytes_b64"]
                else:
                    item["body"] = body
                items.append(item)
    return items


class FakeOtlp(FakeServer):
    """Fake OTLP/HTTP logs receiver."""

    module = "otlp"

    def __init__(self, *, required_headers: dict[str, str] | None = None,
                 max_request_bytes: int = MAX_REQUEST_BYTES, **common: Any) -> None:
        super().__init__(max_request_bytes=max_request_bytes, **common)
        self.required_headers = dict(required_headers or {})
        self._partial: tuple[int, str] | None = None
        self._rejected = 0

    @property
    def logs_url(self) -> str:
        return f"{self.url}{LOGS_PATH}"

    def partial(self, rejected: int, message: str) -> None:
        """From now on refuse the last ``rejected`` records of each request (answering a partial
        success); ``partial(0, "")`` ends it, and so does reset()."""
        with self._lock:
            self._partial = (rejected, message) if rejected or message else None

    @property
    def rejected(self) -> int:
        """Records refused by partial successes so far."""
        with self._lock:
            return self._rejected

    def _reset_state(self) -> None:
        self._partial = None
        self._rejected = 0

    def wait_for_items(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        self.wait_for(lambda: len(self.items) >= n, timeout, what=f"{n} log records accepted")
        return self.items

    def lines(self) -> list[bytes]:
        """Every accepted record's body as the bytes the line had, in arrival order."""
        return [base64.b64decode(i["body_b64"]) if "body_b64" in i else str(i["body"]).encode()
                for i in self.items]

    def too_large(self, rec: Recorded) -> Answer:
        return Answer(413, status_body("request body too large"), {"Content-Type": PROTOBUF})

    def handle(self, req: Recorded) -> Answer:
        if req.path != LOGS_PATH:
            return Answer(404, b"404 page not found", {"Content-Type": "text/plain"})
        if req.method != "POST":
            return Answer(405, b"405 method not allowed", {"Allow": "POST"})
        mime = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        as_json = mime == JSON

        def fail(status: int, message: str) -> Answer:
            return Answer(status, status_body(message, json_encoding=as_json),
                          {"Content-Type": JSON if as_json else PROTOBUF})

        if any(req.headers.get(k) != v for k, v in self.required_headers.items()):
            return fail(401, "missing or wrong headers")
        if mime not in (PROTOBUF, JSON):
            return Answer(415, f"415 unsupported media type, supported: [{JSON}, {PROTOBUF}]"
                          .encode(), {"Content-Type": "text/plain"})
        if req.decoded is None:
            return fail(400, f"cannot decode the body: {req.decode_error}")
        if len(req.decoded) > self.max_request_bytes:
            return fail(413, "decoded request body too large")
        try:
            request = parse_request(mime, req.decoded)
        except (ValueError, DecodeError, json_format.ParseError) as e:
            return fail(400, f"cannot parse the {mime} body: {type(e).__name__}: {e}")
        items = items_of(request)
        response = ExportLogsServiceResponse()
        with self._lock:
            partial = self._partial
        if partial is not None:
            rejected = min(partial[0], len(items))
            response.partial_success.rejected_log_records = rejected
            response.partial_success.error_message = partial[1]
            if rejected:
                del items[len(items) - rejected:]
            with self._lock:
                self._rejected += rejected
        if as_json:
            body = json_format.MessageToJson(response, indent=None).encode()
        else:
            body = response.SerializeToString()
        return Answer(200, body, {"Content-Type": JSON if as_json else PROTOBUF}, items)

    def control_state(self) -> dict[str, Any]:
        state = super().control_state()
        state["rejected"] = self.rejected
        return state

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                            help="a header every request must carry (repeatable)")

    @classmethod
    def from_args(cls, args: argparse.Namespace, **common: Any) -> FakeOtlp:
        required = dict(h.split("=", 1) for h in args.header)
        return cls(required_headers=required, **common)


if __name__ == "__main__":
    sys.exit(FakeOtlp.main())
