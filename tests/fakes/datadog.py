"""A fake Datadog Logs intake (``POST /api/v2/logs``), as strict as SINKS.md says the real one is.

    with FakeDatadog(api_key="K") as dd:  # or: python -m tests.fakes.datadog --port 0 --print-port
        ... point the sender at dd.url (the fake serves /api/v2/logs at its root) ...
        dd.wait_for_items(3)
        assert dd.messages() == [...]

Checks, in order:
- path ``/api/v2/logs`` (else 404) and POST (else 405);
- ``DD-API-KEY`` header equal to ``api_key`` -> else 403 ``{"errors":["Forbidden"]}``;
- ``Content-Type: application/json`` (parameters allowed) -> else 400 (the fake has no text mode);
- ``Content-Encoding`` gzip, deflate (zlib stream) or none -> else, or if it does not decode, 400;
- more than ``max_payload_bytes`` (5,000,000) bytes once decoded -> 413;
- not UTF-8 JSON -> 400; not an array, or an empty one -> 400; more than ``max_items`` (1000)
  entries -> 413;
- each entry: an object, with ``message`` a string, and ``ddsource``, ``ddtags``, ``hostname``,
  ``service`` strings when present (the official ``HTTPLogItem`` model's types) -> else 400 naming
  the entry. Any other key is an attribute and may hold any JSON value.
Accepted: 202 ``{}``; every entry is recorded as sent (an entry over ``max_log_bytes`` is counted in
``.oversized``: the real intake truncates it and still accepts it).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import Answer, FakeServer, Recorded

DEFAULT_API_KEY = "0123456789abcdef0123456789abcdef"
LOGS_PATH = "/api/v2/logs"
MAX_PAYLOAD_BYTES = 5_000_000
MAX_ITEMS = 1000
MAX_LOG_BYTES = 1_000_000
STRING_KEYS = ("message", "ddsource", "ddtags", "hostname", "service")


def errors(status: int, *messages: str) -> Answer:
    return Answer.json(status, {"errors": list(messages)})


class FakeDatadog(FakeServer):
    """Fake Datadog Logs intake v2."""

    module = "datadog"

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        max_items: int = MAX_ITEMS,
        max_log_bytes: int = MAX_LOG_BYTES,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.api_key = api_key
        self.max_payload_bytes = max_payload_bytes
        self.max_items = max_items
        self.max_log_bytes = max_log_bytes
        self._oversized = 0

    @property
    def logs_url(self) -> str:
        return f"{self.url}{LOGS_PATH}"

    def messages(self) -> list[str]:
        """The ``message`` of every accepted entry, in arrival order."""
        return [item["message"] for item in self.items]

    def wait_for_items(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        self.wait_for(lambda: len(self.items) >= n, timeout, what=f"{n} entries accepted")
        return self.items

    @property
    def oversized(self) -> int:
        """Accepted entries longer than max_log_bytes (the real intake would truncate them)."""
        with self._lock:
            return self._oversized

    def _reset_state(self) -> None:
        self._oversized = 0

    def handle(self, req: Recorded) -> Answer:
        if req.path != LOGS_PATH:
            return errors(404, "Not found")
        if req.method != "POST":
            return Answer(405, b"Method not allowed", {"Allow": "POST"})
        if req.headers.get("DD-API-KEY") != self.api_key:
            return errors(403, "Forbidden")
        mime = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if mime != "application/json":
            return errors(400, f"fake intake: Content-Type must be application/json, not {mime!r}")
        if req.decoded is None:
            return errors(400, f"fake intake: {req.decode_error}")
        if len(req.decoded) > self.max_payload_bytes:
            return errors(413, f"payload of {len(req.decoded)} bytes over "
                               f"{self.max_payload_bytes} uncompressed")
        try:
            body = json.loads(req.decoded.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return errors(400, f"body is not UTF-8 JSON: {e}")
        if not isinstance(body, list):
            return errors(400, f"body must be a JSON array, not {type(body).__name__}")
        if not body:
            return errors(400, "fake intake: empty array")
        if len(body) > self.max_items:
            return errors(413, f"{len(body)} entries, more than {self.max_items}")
        oversized = 0
        for i, item in enumerate(body):
            if not isinstance(item, dict):
                return errors(400, f"entry {i} is not an object")
            if "message" not in item:
                return errors(400, f"entry {i} has no message")
            for key in STRING_KEYS:
                if key in item and not isinstance(item[key], str):
                    return errors(400, f"entry {i}: {key} must be a string")
            if len(item["message"].encode("utf-8", "surrogatepass")) > self.max_log_bytes:
                oversized += 1
        with self._lock:
            self._oversized += oversized
        return Answer.json(202, {}, body)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--api-key", default=DEFAULT_API_KEY)
        parser.add_argument("--max-payload-bytes", type=int, default=MAX_PAYLOAD_BYTES)
        parser.add_argument("--max-items", type=int, default=MAX_ITEMS)

    @classmethod
    def from_args(cls, args: argparse.Namespace, **common: Any) -> FakeDatadog:
        return cls(args.api_key, max_payload_bytes=args.max_payload_bytes,
                   max_items=args.max_items, **common)


if __name__ == "__main__":
    sys.exit(FakeDatadog.main())
