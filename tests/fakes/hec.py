"""A fake Splunk HTTP Event Collector (the JSON event endpoint, health, indexer acknowledgement).

    with FakeHec(token="T") as hec:           # or: python -m tests.fakes.hec --port 0 --print-port
        ... point the sender at hec.url ...
        hec.wait_for_events(3)
        assert hec.lines() == [...]

What it checks, as Splunk does (answers are HTTP status + {"text":..,"code":N}):
- ``Authorization: Splunk <token>``: none -> 401/2 "Token is required"; another scheme -> 401/3
  "Invalid authorization"; another token -> 403/4 "Invalid token".
- With ``ack=True``: a channel (``X-Splunk-Request-Channel`` or ``?channel=``) -> else 400/10
  "Data channel is missing"; not a GUID -> 400/11 "Invalid data channel".
- Body (``Content-Encoding: gzip`` or none; anything else -> 400/6): JSON objects concatenated,
  whitespace allowed between them; UTF-8 (invalid bytes become U+FFFD and are counted in
  ``.invalid_utf8``, or with ``strict_utf8`` the event holding them is refused: 400/6 with its
  number). Empty -> 400/5 "No data".
  For event number N (from 0): not JSON, not an object, an unknown top-level key, ``time``
  neither a number nor a numeric string, host/source/sourcetype/index not strings -> 400/6
  "Invalid data format" with ``"invalid-event-number": N``; ``event`` missing or null -> 400/12
  "Event field is required"; ``event`` an empty or blank string -> 400/13 "Event field cannot be
  blank"; ``fields`` not a flat object (values: strings, numbers or arrays of them) -> 400/15;
  ``index`` not in ``indexes`` (when given) -> 400/7 "Incorrect index"; with ``refuse_marker``,
  an event whose JSON text holds that string -> 400/6 (a stand-in for anything else Splunk cannot
  take in one event). The events before event N are kept (``.events``) and the ones after it
  are not looked at when ``index_before_invalid`` (default), as Splunk indexes a batch up to its
  first bad event and stops there.
- Body larger than ``max_content_length`` (as received) -> 413.
- OPTIONS on any path -> 200 (Docker's driver checks the URL with OPTIONS at container start).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import uuid
from typing import Any

from .common import Answer, FakeServer, Recorded

DEFAULT_TOKEN = "00000000-1111-2222-3333-444444444444"
EVENT_PATHS = frozenset(
    {"/services/collector/event/1.0", "/services/collector/event", "/services/collector"}
)
HEALTH_PATHS = frozenset({"/services/collector/health/1.0", "/services/collector/health"})
ACK_PATHS = frozenset({"/services/collector/ack", "/services/collector/ack/1.0"})
ENVELOPE_KEYS = frozenset({"time", "host", "source", "sourcetype", "index", "fields", "event"})
SPLUNK_MAX_CONTENT_LENGTH = 838_860_800  # Splunk 6.5+ default; 1 MB before and on many clouds
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # an invalid byte kept by surrogateescape


def hec(status: int, text: str, code: int, items: list[Any] | None = None,
        extra: dict[str, Any] | None = None) -> Answer:
    """A HEC answer: {"text": text, "code": code, **extra}."""
    return Answer.json(status, {"text": text, "code": code, **(extra or {})}, items)


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, str):
        try:
            return math.isfinite(float(value))
        except ValueError:
            return False
    return False


def _flat_field(value: Any) -> bool:
    scalar = (str, int, float)
    if isinstance(value, bool):
        return False
    if isinstance(value, scalar):
        return True
    return isinstance(value, list) and all(
        isinstance(v, scalar) and not isinstance(v, bool) for v in value
    )


class FakeHec(FakeServer):
    """Fake Splunk HEC: event endpoint, health, indexer acknowledgement."""

    module = "hec"

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        ack: bool = False,
        ack_delay: float = 0.0,
        forget_acked: bool = True,
        indexes: set[str] | frozenset[str] | None = None,
        index_before_invalid: bool = True,
        strict_utf8: bool = False,
        refuse_marker: str | None = None,
        max_content_length: int = SPLUNK_MAX_CONTENT_LENGTH,
        **common: Any,
    ) -> None:
        """token: the one token accepted. ack: the token has indexer acknowledgement on (a channel
        is required, sends answer an ackId). ack_delay: seconds before an ackId turns true.
        forget_acked: an ackId reported true is then forgotten (later queries say false).
        indexes: the allowed index names (None: any). max_content_length: bytes per request.
        strict_utf8: refuse (400/6, with its number) an event holding bytes that are not valid
        UTF-8; by default they are accepted as U+FFFD and counted in ``.invalid_utf8`` (Docker's
        json format sends raw invalid bytes inside a line that is otherwise valid JSON).
        refuse_marker: an event whose
        JSON text contains this string is refused with 400/6 and its invalid-event-number."""
        common.setdefault("max_request_bytes", max_content_length)
        super().__init__(**common)
        self.token = token
        self.ack = ack
        self.ack_delay = ack_delay
        self.forget_acked = forget_acked
        self.indexes = None if indexes is None else frozenset(indexes)
        self.index_before_invalid = index_before_invalid
        self.strict_utf8 = strict_utf8
        self.refuse_marker = refuse_marker
        self._invalid_utf8 = 0
        self.max_content_length = max_content_length
        self._next_ack: dict[str, int] = {}
        self._pending_acks: dict[str, dict[int, float]] = {}  # channel -> ackId -> ready at
        self._channels: list[str] = []
        self._ack_queries = 0

    # -- what was received ------------------------------------------------------------------------
    @property
    def events(self) -> list[dict[str, Any]]:
        """The accepted envelopes (dicts, as sent), in arrival order."""
        return self.items

    def lines(self) -> list[Any]:
        """Per accepted event: ``event["line"]`` when the event is an object with a "line" (Docker's
        inline and json formats), else the event itself (raw format: a string)."""
        out = []
        for envelope in self.events:
            event = envelope["event"]
            out.append(event["line"] if isinstance(event, dict) and "line" in event else event)
        return out

    def wait_for_events(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Waits until at least `n` events were accepted; returns them all."""
        self.wait_for(lambda: len(self.events) >= n, timeout, what=f"{n} events accepted")
        return self.events

    @property
    def channels(self) -> list[str]:
        """The distinct channels (X-Splunk-Request-Channel or ?channel=) seen on sends, in
        first-seen order, with or without ack mode."""
        with self._lock:
            return list(self._channels)

    @property
    def invalid_utf8(self) -> int:
        """Requests whose body was not valid UTF-8 (accepted unless strict_utf8)."""
        with self._lock:
            return self._invalid_utf8

    @property
    def ack_queries(self) -> int:
        with self._lock:
            return self._ack_queries

    def pending_acks(self) -> dict[str, list[int]]:
        """channel -> ackIds handed out and not yet reported true."""
        with self._lock:
            return {ch: sorted(ids) for ch, ids in self._pending_acks.items() if ids}

    def _reset_state(self) -> None:
        self._next_ack.clear()
        self._pending_acks.clear()
        self._channels.clear()
        self._ack_queries = 0
        self._invalid_utf8 = 0

    def control_state(self) -> dict[str, Any]:
        state = super().control_state()
        with self._lock:
            state["channels"] = list(self._channels)
            state["pending_acks"] = {ch: sorted(ids) for ch, ids in self._pending_acks.items()}
            state["ack_queries"] = self._ack_queries
            state["invalid_utf8"] = self._invalid_utf8
        return state

    # -- answers --------------------------------------------------------------------------------
    def too_large(self, rec: Recorded) -> Answer:
        size = rec.headers.get("Content-Length", "?")
        return hec(413, f"Content-Length of {size} too large (maximum is "
                        f"{self.max_content_length})", 413)

    def handle(self, req: Recorded) -> Answer:
        if req.method == "OPTIONS":
            return Answer(200)
        if req.path in HEALTH_PATHS:
            if req.method != "GET":
                return Answer(405, b"Method not allowed", {"Allow": "GET"})
            return hec(200, "HEC is healthy", 17)
        if req.path not in EVENT_PATHS and req.path not in ACK_PATHS:
            return hec(404, "The requested URL was not found on this server.", 404)
        if req.method != "POST":
            return Answer(405, b"Method not allowed", {"Allow": "POST, OPTIONS"})
        denied = self._check_token(req)
        if denied is not None:
            return denied
        if req.path in ACK_PATHS:
            return self._ack_query(req)
        channel = req.headers.get("X-Splunk-Request-Channel") or req.query.get("channel")
        if channel:
            with self._lock:
                if channel not in self._channels:
                    self._channels.append(channel)
        if self.ack:
            channel, bad = self._channel(req)
            if bad is not None:
                return bad
        return self._send(req, channel)

    def _check_token(self, req: Recorded) -> Answer | None:
        auth = req.headers.get("Authorization")
        if auth is None:
            return hec(401, "Token is required", 2)
        scheme, _, token = auth.partition(" ")
        if scheme != "Splunk" or not token.strip():
            return hec(401, "Invalid authorization", 3)
        if token.strip() != self.token:
            return hec(403, "Invalid token", 4)
        return None

    def _channel(self, req: Recorded) -> tuple[str | None, Answer | None]:
        channel = req.headers.get("X-Splunk-Request-Channel") or req.query.get("channel")
        if not channel:
            return None, hec(400, "Data channel is missing", 10)
        try:
            uuid.UUID(channel)
        except ValueError:
            return None, hec(400, "Invalid data channel", 11)
        return channel, None

    def _send(self, req: Recorded, channel: str | None) -> Answer:
        encoding = (req.headers.get("Content-Encoding") or "").strip().lower()
        if encoding not in ("", "identity", "gzip") or req.decoded is None:
            return hec(400, "Invalid data format", 6, extra={"invalid-event-number": 0})
        try:
            text = req.decoded.decode("utf-8")
        except UnicodeDecodeError:
            # strict: the bytes stay as lone surrogates, and the event holding one is refused
            text = req.decoded.decode("utf-8", "surrogateescape" if self.strict_utf8 else
                                      "replace")
            if not self.strict_utf8:
                with self._lock:
                    self._invalid_utf8 += 1
        if not text.strip():
            return hec(400, "No data", 5)
        events: list[dict[str, Any]] = []
        decoder = json.JSONDecoder()
        pos, n = 0, 0
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                break
            try:
                start = pos
                envelope, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                return self._bad(events, 400, "Invalid data format", 6, n)
            source = text[start:pos]
            if (self.strict_utf8 and _ESCAPED_BYTE.search(source)) or (
                    self.refuse_marker is not None and self.refuse_marker in source):
                return self._bad(events, 400, "Invalid data format", 6, n)
            problem = self._validate(envelope)
            if problem is not None:
                return self._bad(events, 400, problem[0], problem[1], n)
            events.append(envelope)
            n += 1
        if not self.ack:
            return hec(200, "Success", 0, events)
        assert channel is not None
        with self._lock:
            ack_id = self._next_ack.get(channel, 0)
            self._next_ack[channel] = ack_id + 1
            self._pending_acks.setdefault(channel, {})[ack_id] = time.monotonic() + self.ack_delay
        return hec(200, "Success", 0, events, {"ackId": ack_id})

    def _bad(self, before: list[dict[str, Any]], status: int, text: str, code: int,
             n: int) -> Answer:
        kept = before if self.index_before_invalid else []
        return hec(status, text, code, kept, {"invalid-event-number": n})

    def _validate(self, envelope: Any) -> tuple[str, int] | None:
        if not isinstance(envelope, dict):
            return "Invalid data format", 6
        if set(envelope) - ENVELOPE_KEYS:
            return "Invalid data format", 6
        if "time" in envelope and not _numeric(envelope["time"]):
            return "Invalid data format", 6
        for key in ("host", "source", "sourcetype", "index"):
            if key in envelope and not isinstance(envelope[key], str):
                return "Invalid data format", 6
        if envelope.get("event") is None:
            return "Event field is required", 12
        event = envelope["event"]
        if isinstance(event, str) and not event.strip():
            return "Event field cannot be blank", 13
        if "fields" in envelope:
            fields = envelope["fields"]
            if not isinstance(fields, dict) or not all(_flat_field(v) for v in fields.values()):
                return "Error in handling indexed fields", 15
        index = envelope.get("index")
        if self.indexes is not None and index is not None and index not in self.indexes:
            return "Incorrect index", 7
        return None

    def _ack_query(self, req: Recorded) -> Answer:
        if not self.ack:
            return hec(400, "ACK is disabled", 14)
        channel, bad = self._channel(req)
        if bad is not None:
            return bad
        assert channel is not None
        try:
            body = json.loads(req.decoded or b"")
            ids = body["acks"]
            if not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids
            ):
                raise ValueError("acks must be a list of integers")
        except (ValueError, KeyError, TypeError):
            return hec(400, "Invalid data format", 6)
        now = time.monotonic()
        result: dict[str, bool] = {}
        with self._lock:
            self._ack_queries += 1
            pending = self._pending_acks.get(channel, {})
            for ack_id in ids:
                ready = ack_id in pending and now >= pending[ack_id]
                result[str(ack_id)] = ready
                if ready and self.forget_acked:
                    del pending[ack_id]
        return Answer.json(200, {"acks": result})

    # -- command line -----------------------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--token", default=DEFAULT_TOKEN)
        parser.add_argument("--ack", action="store_true", help="indexer acknowledgement on")
        parser.add_argument("--ack-delay", type=float, default=0.0)
        parser.add_argument("--keep-acked", action="store_true",
                            help="keep reporting an ackId true after the first time")
        parser.add_argument("--index", action="append", dest="indexes",
                            help="an allowed index (repeatable; default: any)")
        parser.add_argument("--max-content-length", type=int, default=SPLUNK_MAX_CONTENT_LENGTH)
        parser.add_argument("--strict-utf8", action="store_true")
        parser.add_argument("--refuse-marker", help="refuse (400/6) an event holding this text")

    @classmethod
    def from_args(cls, args: argparse.Namespace, **common: Any) -> FakeHec:
        common["max_request_bytes"] = args.max_content_length
        return cls(args.token, ack=args.ack, ack_delay=args.ack_delay,
                   forget_acked=not args.keep_acked,
                   indexes=None if args.indexes is None else frozenset(args.indexes),
                   strict_utf8=args.strict_utf8, refuse_marker=args.refuse_marker,
                   max_content_length=args.max_content_length,
                   **common)


if __name__ == "__main__":
    sys.exit(FakeHec.main())
