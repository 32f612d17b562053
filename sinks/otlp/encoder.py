"""Records of one container -> the body of one OTLP ``ExportLogsServiceRequest`` (protobuf or
JSON), following OpenTelemetry's semantic conventions.

Wire formats: ``opentelemetry/proto/{collector/logs,logs,common,resource}/v1/*.proto`` (package
``opentelemetry-proto``) and, for JSON, the OTLP/HTTP "JSON Protobuf Encoding" rules
(lowerCamelCase keys, 64-bit integers as decimal strings, bytes as base64, enums as integers).

One request holds one ``ResourceLogs`` (this container) with one ``ScopeLogs`` (scope
``logdriver``). The resource (built once per container with the official messages) carries:
``service.name``, ``host.name``, ``container.id``, ``container.name``,
``container.runtime.name`` (docker), ``container.image.name``, ``container.image.tags``,
``container.image.id``, ``container.image.repo_digests`` (an image given by digest),
``docker.log.tag`` (the rendered ``tag``, when not empty) and then every ``labels`` /
``labels-regex`` / ``env`` / ``env-regex`` attribute under its own name, as Docker's other
drivers name them (one that would replace an attribute above is left out).

Each line is a ``LogRecord``: ``time_unix_nano`` = Docker's timestamp (when dockerd read the
line); ``observed_time_unix_nano`` = when this plugin encoded it for delivery, as the Collector
stamps lines it reads from Docker's log files; ``body`` = the line as a string when it is valid
UTF-8, else as bytes (nothing is altered either way); attribute ``log.iostream`` = stdout or
stderr, and ``logdriver.partial`` = true on a line cut at ``partial-max-size``. Severity is left
unset: stderr is not a severity, and the line's own level is the application's to say.

A LogRecord is encoded by hand, fields in number order as the official serializer writes them
(the unit tests compare it byte for byte with ``LogRecord.SerializeToString()``): building and
serialising a message object per line cost 23 us a line where ``encode_many`` takes 1.5 us
(measured on the loaded 2-core development machine, 100-byte lines). The records are encoded in
``_records`` (pure Python) or its compiled twin ``_records_c``.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Mapping, Sequence

from google.protobuf import json_format
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from ..util.record import Context, Record, Records
from ..util.twin import Twin, twin
from . import _records
from ._records import RecordsKernel, log_record, log_record_json, varint
from .config import PROTOCOL_JSON

__all__ = ["KERNEL", "OtlpEncoder", "resource_attributes", "service_name", "split_image",
           "varint"]

SCOPE_NAME = "logdriver"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"  # set by Docker Compose on its containers
ATTR_IOSTREAM = "log.iostream"
ATTR_PARTIAL = "logdriver.partial"
ATTR_TAG = "docker.log.tag"
RUNTIME_NAME = "docker"
_SCOPE_LOGS = b"\x12"  # ResourceLogs.scope_logs = 2, length-delimited
_RESOURCE_LOGS = b"\x0a"  # ExportLogsServiceRequest.resource_logs = 1, length-delimited
KERNEL: Twin[RecordsKernel] = twin(_records, "sinks.otlp._records_c")


def _version() -> str:
    try:
        return importlib.metadata.version("logdriver")
    except importlib.metadata.PackageNotFoundError:
        return ""


SCOPE_VERSION = _version()


def split_image(image: str) -> tuple[str, str, str]:
    """An image reference -> (name, tag, digest), each "" when absent: ``repo:5000/a/b:1.2`` ->
    ``("repo:5000/a/b", "1.2", "")``; ``b@sha256:..`` -> ``("b", "", "sha256:..")``; an image
    given by its ID (``sha256:...``) has no name."""
    if image.startswith("sha256:"):
        return "", "", ""
    name, _, digest = image.partition("@")
    colon, slash = name.rfind(":"), name.rfind("/")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest


def service_name(ctx: Context, configured: str) -> str:
    """``otlp-service-name``, else the Compose service label (of every container label, whatever
    the ``labels`` log-opt picks), else the container name."""
    labels = ctx.info.labels if ctx.info is not None else {}
    return configured or labels.get(COMPOSE_SERVICE_LABEL) or ctx.container_name


def resource_attributes(ctx: Context, configured_service: str) -> dict[str, str | list[str]]:
    """The resource's attributes, in the order they are sent (see the module docstring)."""
    name, tag, digest = split_image(ctx.image_name)
    attrs: dict[str, str | list[str]] = {
        "service.name": service_name(ctx, configured_service),
        "host.name": ctx.hostname,
        "container.id": ctx.container_id,
        "container.name": ctx.container_name,
        "container.runtime.name": RUNTIME_NAME,
    }
    if name:
        attrs["container.image.name"] = name
    if tag:
        attrs["container.image.tags"] = [tag]
    if ctx.image_id:
        attrs["container.image.id"] = ctx.image_id
    if digest:
        attrs["container.image.repo_digests"] = [f"{name}@{digest}"]
    if ctx.tag:
        attrs[ATTR_TAG] = ctx.tag
    for key, value in ctx.attrs.items():
        attrs.setdefault(key, value)
    return attrs


def _text(value: str) -> str:
    """A string protobuf can carry: a lone surrogate (from a hostile StartLogging) becomes "?"."""
    return value if value.isascii() else value.encode("utf-8", "replace").decode()


def _any_value(value: str | list[str]) -> AnyValue:
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[_any_value(v) for v in value]))
    return AnyValue(string_value=_text(value))


def resource_message(attrs: Mapping[str, str | list[str]]) -> Resource:
    return Resource(attributes=[KeyValue(key=_text(k), value=_any_value(v))
                                for k, v in attrs.items()])


def _json(message: Resource | InstrumentationScope | KeyValue) -> str:
    """A message in OTLP/JSON: protobuf's JSON mapping (lowerCamelCase keys); these messages
    hold no trace ids and no enums, where OTLP/JSON departs from it."""
    return json.dumps(json_format.MessageToDict(message), ensure_ascii=False,
                      separators=(",", ":"))


class OtlpEncoder:
    """Encodes one container's records, and wraps encoded records into one request body."""

    def __init__(self, protocol: str, ctx: Context, configured_service: str = "") -> None:
        self.ctx = ctx
        self.json = protocol == PROTOCOL_JSON
        resource = resource_message(resource_attributes(ctx, configured_service))
        scope = InstrumentationScope(name=SCOPE_NAME, version=SCOPE_VERSION)
        if self.json:
            self._head = ('{"resourceLogs":[{"resource":' + _json(resource)
                          + ',"scopeLogs":[{"scope":' + _json(scope) + ',"logRecords":[').encode()
            self._tail = b"]}]}]}"
        else:
            res = resource.SerializeToString(deterministic=True)
            sco = scope.SerializeToString(deterministic=True)
            self._resource_field = b"\x0a" + varint(len(res)) + res  # ResourceLogs.resource = 1
            self._scope_field = b"\x0a" + varint(len(sco)) + sco  # ScopeLogs.scope = 1
        self._attrs: dict[str, bytes] = {}
        self._partial = KeyValue(key=ATTR_PARTIAL, value=AnyValue(bool_value=True))

    def _attributes(self, source: str, partial: bool) -> bytes:
        """The encoded attributes of a record from ``source`` (protobuf: tagged KeyValues;
        JSON: the array's members)."""
        key = source + ("+" if partial else "")
        cached = self._attrs.get(key)
        if cached is None:
            kvs = [KeyValue(key=ATTR_IOSTREAM, value=AnyValue(string_value=source))]
            if partial:
                kvs.append(self._partial)
            if self.json:
                cached = ",".join(_json(kv) for kv in kvs).encode()
            else:
                cached = b"".join(b"\x32" + varint(len(b)) + b  # LogRecord.attributes = 6
                                  for b in (kv.SerializeToString() for kv in kvs))
            self._attrs[key] = cached
        return cached

    def encode(self, rec: Record, observed_ns: int) -> bytes:
        """One LogRecord, ready to be concatenated by ``request``: protobuf with its
        ``ScopeLogs.log_records`` tag and length, or one JSON object."""
        attrs = self._attributes(rec.source, rec.partial)
        if self.json:
            return log_record_json(rec.time_ns, rec.line, attrs, observed_ns)
        return log_record(rec.time_ns, rec.line, attrs, observed_ns)

    def encode_many(self, recs: Records, observed_ns: int) -> list[bytes]:
        """``[encode(r, observed_ns) for r in recs]``, by the active twin of the kernel."""
        attributes = {source: (self._attributes(source, False), self._attributes(source, True))
                      for source in set(recs.sources)}
        kernel = KERNEL.active
        encode = kernel.log_records_json if self.json else kernel.log_records
        return encode(recs.times, recs.sources, recs.lines, recs.partial, attributes,
                      observed_ns)

    def request(self, events: Sequence[bytes]) -> bytes:
        """The ``ExportLogsServiceRequest`` body holding ``events`` (from ``encode``)."""
        if self.json:
            return self._head + b",".join(events) + self._tail
        scope_logs_len = len(self._scope_field) + sum(map(len, events))
        scope_logs_head = _SCOPE_LOGS + varint(scope_logs_len)
        resource_logs_len = len(self._resource_field) + len(scope_logs_head) + scope_logs_len
        return b"".join((_RESOURCE_LOGS, varint(resource_logs_len), self._resource_field,
                         scope_logs_head, self._scope_field, *events))
