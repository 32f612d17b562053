"""A fake generic HTTP log receiver (what Vector's ``http`` sink or Fluent Bit's ``http`` output
would post to): any POST on any path (but ``/__fake__/``, the control API).

    with FakeHttp(bearer="T") as rx:          # or: python -m tests.fakes.http --port 0 --print-port
        ... post to rx.url + "/any/path" ...
        rx.wait_for_items(3)

The body (after gzip/deflate ``Content-Encoding``; another coding -> 415, a corrupt one -> 400) is
parsed by ``Content-Type``: ``application/json`` -> a JSON array gives its elements, any other JSON
value is one item; NDJSON (``application/x-ndjson``, ``application/ndjson``,
``application/jsonl``, ``application/x-jsonlines``, ``application/jsonlines``) -> one item per
non-blank line; anything else -> one str item per text line (UTF-8, invalid bytes replaced; a
final newline ends the last line).
JSON that does not parse as UTF-8 JSON -> 400. Optional auth: ``basic=(user, password)``,
``bearer=token`` (when both are set either will do) and ``required_headers`` -> else 401.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Mapping
from typing import Any

from .common import Answer, FakeServer, Recorded

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                          "application/x-jsonlines", "application/jsonlines"})


class FakeHttp(FakeServer):
    """Fake generic HTTP receiver: JSON array, NDJSON or text lines."""

    module = "http"

    def __init__(
        self,
        *,
        basic: tuple[str, str] | None = None,
        bearer: str | None = None,
        required_headers: Mapping[str, str] | None = None,
        status: int = 200,
        answer: bytes = b"",
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.basic = basic
        self.bearer = bearer
        self.required_headers = dict(required_headers or {})
        self.status = status
        self.answer = answer

    def wait_for_items(self, n: int, timeout: float = 10.0) -> list[Any]:
        self.wait_for(lambda: len(self.items) >= n, timeout, what=f"{n} items accepted")
        return self.items

    @property
    def bodies(self) -> list[bytes]:
        """The decoded bodies of the accepted (2xx) requests, in arrival order."""
        return [r.decoded for r in self.requests
                if r.status is not None and 200 <= r.status < 300 and r.decoded is not None]

    def _authorized(self, req: Recorded) -> bool:
        auth = req.headers.get("Authorization", "")
        ok = self.basic is None and self.bearer is None
        if self.basic is not None:
            token = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            ok = ok or auth == f"Basic {token}"
        if self.bearer is not None:
            ok = ok or auth == f"Bearer {self.bearer}"
        return ok and all(req.headers.get(k) == v for k, v in self.required_headers.items())

    def handle(self, req: Recorded) -> Answer:
        if req.method != "POST":
            return Answer(405, b"Method not allowed", {"Allow": "POST"})
        if not self._authorized(req):
            challenge = "Basic realm=\"fake\"" if self.basic is not None else "Bearer"
            return Answer(401, b"unauthorized", {"WWW-Authenticate": challenge})
        if req.decoded is None:
            unsupported = (req.decode_error or "").startswith("unsupported")
            return Answer(415 if unsupported else 400, (req.decode_error or "").encode())
        mime = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if mime == "application/json":
                value = json.loads(req.decoded.decode("utf-8"))
                items = value if isinstance(value, list) else [value]
            elif mime in NDJSON_TYPES:
                items = [json.loads(line) for line in req.decoded.decode("utf-8").split("\n")
                         if line.strip()]
            else:
                text = req.decoded.decode("utf-8", "replace")
                items = text.split("\n")
                if text.endswith("\n"):
                    items.pop()
        except (UnicodeDecodeError, ValueError) as e:
            return Answer(400, f"cannot parse the {mime} body: {e}".encode())
        return Answer(self.status, self.answer, {}, items)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--basic", metavar="USER:PASSWORD")
        parser.add_argument("--bearer", metavar="TOKEN")
        parser.add_argument("--status", type=int, default=200)

    @classmethod
    def from_args(cls, args: argparse.Namespace, **common: Any) -> FakeHttp:
        basic = None
        if args.basic:
            user, _, password = args.basic.partition(":")
            basic = (user, password)
        return cls(basic=basic, bearer=args.bearer, status=args.status, **common)


if __name__ == "__main__":
    sys.exit(FakeHttp.main())
