"""Shared fakes for the sink tests: a fixed container, records, and a scripted HEC/intake."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from sinks.util.record import Context, Record

CID = "0123456789abcdef" * 4
IMAGE_ID = "sha256:" + "fedcba9876543210" * 4
T0 = 1_700_000_000_123_456_789  # ns


def context(**changes: object) -> Context:
    values: dict[str, object] = dict(
        container_id=CID, container_name="web_app-1", image_name="nginx:1.25", image_id=IMAGE_ID,
        hostname="host1", daemon_name="docker", tag="0123456789ab", attrs={},
    )
    values.update(changes)
    return Context(**values)  # type: ignore[arg-type]


def record(line: bytes = b"hello", *, source: str = "stdout", t: int = T0,
           partial: bool = False) -> Record:
    return Record(time_ns=t, source=source, line=line, partial=partial)


Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class Server:
    """A MockTransport handler that answers from a script (the last step repeats) and records."""

    steps: list[Step] = field(default_factory=lambda: [httpx.Response(200)])
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def body(self, i: int = -1) -> bytes:
        request = self.requests[i]
        if request.headers.get("Content-Encoding") == "gzip":
            return gzip.decompress(request.content)
        return request.content

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.host}{r.url.path}" for r in self.requests]


def hec(status: int = 200, code: int = 0, text: str = "Success", **extra: object) -> httpx.Response:
    return httpx.Response(status, json={"text": text, "code": code, **extra})


def split_envelopes(body: bytes) -> list[dict[str, object]]:
    """HEC bodies are JSON objects back to back with no separator."""
    decoder = json.JSONDecoder()
    text, pos, out = body.decode(), 0, []
    while pos < len(text):
        value, pos = decoder.raw_decode(text, pos)
        out.append(value)
    return out
