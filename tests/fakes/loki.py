"""A fake Grafana Loki push endpoint (``POST /loki/api/v1/push``).

    with FakeLoki() as loki:                  # or: python -m tests.fakes.loki --port 0 --print-port
        ... point the sender at loki.push_url ...
        loki.wait_for_entries(3)
        assert loki.lines("stdout") == [...]

What it checks, as Loki 3.x does (pkg/loghttp/push, pkg/distributor, pkg/validation):
- Body by ``Content-Type``: ``application/x-protobuf`` is a snappy *block*-compressed
  ``PushRequest`` (decoded with proto/loki_push_pb2, declared from Loki's published push.proto);
  ``application/json`` is ``{"streams":[{"stream":{..},"values":[["<ns>","line"],..]}]}`` (gzip
  ``Content-Encoding`` allowed); anything else, or a body that does not decode -> 400 (415 for
  an unknown type).
- With ``tenant``: ``X-Scope-OrgID`` must equal it, else 401 "no org id".
- Each stream's labels ``{a="1", b="2"}`` must parse, with names LogQL accepts. Then, as Loki 3's
  discover_service_name (on by default; pkg/loghttp/push/push.go, the list from
  pkg/validation/limits.go), a stream without ``service_name`` gets it from the first non-empty
  label of DISCOVER_SERVICE_NAME, else ``unknown_service``; messages and stored items carry it.
  ``discover_service_name=()`` turns that off. Then at most
  ``max_label_names`` names, names of at most 1024 and values of at most 2048 characters;
  else that stream is refused with Loki's message.
- Each entry's line at most ``max_line_size`` bytes (Loki's default 256 KiB), its time not
  before ``oldest_ns`` (when given), and not holding ``refuse_marker`` (when given): else that
  entry is refused with Loki's message (the marker: as "timestamp too old", naming the entry).
  As Loki does, every other entry is stored, and the answer is 400 with the messages grouped
  (``N errors like: ...`` joined by ``"; "``). Success is 204.
Accepted entries are items: ``{"labels": {..}, "ts": ns, "line": bytes}`` in arrival order
(through FakeProcess, ``line_b64`` instead of ``line``).
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import json
import re
import sys
from typing import Any

import cramjam
from google.protobuf.message import DecodeError

from proto import loki_push_pb2

from .common import Answer, FakeServer, Recorded

PUSH_PATH = "/loki/api/v1/push"
MAX_LINE_SIZE = 256 * 1024  # Loki's default max_line_size ("256KB")
MAX_LABEL_NAMES_PER_SERIES = 15  # Loki's default max_label_names_per_series
MAX_LABEL_NAME_LENGTH = 1024
MAX_LABEL_VALUE_LENGTH = 2048
# Loki 3's default -validation.discover-service-name, in order (pkg/validation/limits.go)
DISCOVER_SERVICE_NAME = ("service", "app", "application", "app_name", "name",
                         "app_kubernetes_io_name", "container", "container_name",
                         "k8s_container_name", "component", "workload", "job", "k8s_job_name")
_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_PAIR = re.compile(r'\s*([^=\s,{}]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)', re.S)


def parse_labels(text: str) -> dict[str, str]:
    """``{a="1", b="2"}`` -> dict; ValueError if it is not a label set."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError("expected {...}")
    inner = text[1:-1]
    out: dict[str, str] = {}
    pos = 0
    while pos < len(inner):
        m = _PAIR.match(inner, pos)
        if m is None:
            raise ValueError(f"unexpected text at {pos}")
        out[m[1]] = json.loads('"' + m[2] + '"')
        pos = m.end()
    if not out:
        raise ValueError("no labels")
    return out


def label_string(labels: dict[str, str]) -> str:
    """Prometheus' labels.String(): names sorted, values quoted (JSON quoting: the same as Go's
    for printable text)."""
    return "{" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}"
                           for k, v in sorted(labels.items())) + "}"


def _rfc3339(ns: int) -> str:
    when = datetime.datetime.fromtimestamp(ns // 1_000_000_000, datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeLoki(FakeServer):
    """Fake Loki push endpoint: protobuf+snappy or JSON, Loki's validation and answers."""

    module = "loki"

    def __init__(
        self,
        *,
        tenant: str | None = None,
        max_line_size: int = MAX_LINE_SIZE,
        max_label_names: int = MAX_LABEL_NAMES_PER_SERIES,
        oldest_ns: int | None = None,
        refuse_marker: bytes | None = None,
        discover_service_name: tuple[str, ...] = DISCOVER_SERVICE_NAME,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.tenant = tenant
        self.max_line_size = max_line_size
        self.max_label_names = max_label_names
        self.oldest_ns = oldest_ns
        self.refuse_marker = refuse_marker
        self.discover_service_name = discover_service_name

    @property
    def push_url(self) -> str:
        return self.url + PUSH_PATH

    @property
    def entries(self) -> list[dict[str, Any]]:
        return self.items

    def lines(self, source: str | None = None) -> list[bytes]:
        """The accepted lines (of the stream whose ``source`` label is this), in arrival order."""
        return [e["line"] for e in self.items
                if source is None or e["labels"].get("source") == source]

    def wait_for_entries(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        self.wait_for(lambda: len(self.items) >= n, timeout, what=f"{n} entries accepted")
        return self.items

    def json_item(self, item: Any) -> Any:
        """JSON has no bytes: the line is given as ``line_b64`` instead (as a child process,
        FakeProcess, and in --record files)."""
        return {"labels": item["labels"], "ts": item["ts"],
                "line_b64": base64.b64encode(item["line"]).decode()}

    def control_state(self) -> dict[str, Any]:
        state = super().control_state()
        state["items"] = [self.json_item(e) for e in state["items"]]
        return state

    # -- the endpoint -----------------------------------------------------------------------------
    def handle(self, req: Recorded) -> Answer:
        if req.path != PUSH_PATH:
            return Answer(404, b"404 page not found\n")
        if req.method != "POST":
            return Answer(405, b"Method Not Allowed\n")
        if self.tenant is not None and req.headers.get("X-Scope-OrgID") != self.tenant:
            return Answer(401, b"no org id\n")
        if req.decoded is None:
            return Answer(400, (req.decode_error or "").encode())
        mime = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if mime == "application/x-protobuf":
                streams = self._protobuf(req.decoded)
            elif mime == "application/json":
                streams = self._json(req.decoded)
            else:
                return Answer(415, f"unsupported Content-Type {mime!r}\n".encode())
        except (ValueError, DecodeError, TypeError, KeyError, IndexError) as e:
            return Answer(400, f"loghttp.PushRequest: {e}\n".encode())
        errors: list[str] = []
        items: list[dict[str, Any]] = []
        for text, entries in streams:
            try:
                labels = parse_labels(text)
            except ValueError as e:
                errors.append(f"error parsing labels '{text}' with error: {e}")
                continue
            if "service_name" not in labels and self.discover_service_name:
                labels["service_name"] = next(
                    (labels[n] for n in self.discover_service_name if labels.get(n)),
                    "unknown_service")
            problem = self._check_labels(labels)
            if problem:
                errors.append(problem)
                continue
            canonical = label_string(labels)
            for ts, line in entries:
                if len(line) > self.max_line_size:
                    errors.append(f"max entry size '{self.max_line_size}' bytes exceeded for "
                                  f"stream '{canonical}' while adding an entry with length "
                                  f"'{len(line)}' bytes")
                elif (self.oldest_ns is not None and ts < self.oldest_ns) or (
                        self.refuse_marker is not None and self.refuse_marker in line):
                    errors.append(f"entry for stream '{canonical}' has timestamp too old: "
                                  f"{_rfc3339(ts)}, oldest acceptable timestamp is: "
                                  f"{_rfc3339(self.oldest_ns or ts + 1)}")
                else:
                    items.append({"labels": labels, "ts": ts, "line": line})
        if errors:
            counts = collections.Counter(errors)
            several = len(counts) > 1
            text = "; ".join(f"{n} errors like: {m}" if several or n > 1 else m
                             for m, n in counts.items())
            return Answer(400, text.encode() + b"\n", {}, items)
        return Answer(204, b"", {}, items)

    def _check_labels(self, labels: dict[str, str]) -> str | None:
        canonical = label_string(labels)
        count = len(labels) - ("service_name" in labels)  # validator.go does not count it
        if count > self.max_label_names:
            return (f"entry for stream '{canonical}' has {count} label names; limit "
                    f"{self.max_label_names}")
        for name, value in labels.items():
            if not _NAME.fullmatch(name):
                return f"error parsing labels '{canonical}' with error: invalid name {name!r}"
            if len(name.encode()) > MAX_LABEL_NAME_LENGTH:  # Go's len: bytes
                return f"stream '{canonical}' has label name too long: '{name}'"
            if len(value.encode()) > MAX_LABEL_VALUE_LENGTH:
                return f"stream '{canonical}' has label value too long: '{value}'"
        return None

    @staticmethod
    def _protobuf(body: bytes) -> list[tuple[str, list[tuple[int, bytes]]]]:
        try:
            raw = bytes(cramjam.snappy.decompress_raw(body))
        except cramjam.DecompressionError as e:
            raise ValueError(f"snappy: {e}") from e
        msg = loki_push_pb2.PushRequest()
        msg.ParseFromString(raw)
        return [(s.labels, [(e.timestamp.seconds * 1_000_000_000 + e.timestamp.nanos, e.line)
                            for e in s.entries]) for s in msg.streams]

    @staticmethod
    def _json(body: bytes) -> list[tuple[str, list[tuple[int, bytes]]]]:
        value = json.loads(body.decode("utf-8"))
        out = []
        for stream in value["streams"]:
            labels = stream["stream"]
            if not isinstance(labels, dict) or not all(
                    isinstance(v, str) for v in labels.values()):
                raise ValueError("stream must be an object of strings")
            entries = []
            for pair in stream["values"]:
                ts, line = pair[0], pair[1]
                if not isinstance(ts, str) or not isinstance(line, str):
                    raise TypeError("values are [\"<ns>\", \"line\"]")
                entries.append((int(ts), line.encode()))
            out.append((label_string(labels), entries))
        return out

    # -- command line -----------------------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--tenant")
        parser.add_argument("--max-line-size", type=int, default=MAX_LINE_SIZE)

    @classmethod
    def from_args(cls, args: argparse.Namespace, **common: Any) -> FakeLoki:
        return cls(tenant=args.tenant, max_line_size=args.max_line_size, **common)


if __name__ == "__main__":
    sys.exit(FakeLoki.main())
