"""The HTTP edge shared by all sinks: one httpx client each, gzip, and the single place where
transport exceptions become an Answer(RETRY). Reasons are scrubbed of every secret.

gzip runs on zlib-ng (``zlib_ng.zlib_ng``, zlib's API and levels, about 3x faster on our request
bodies: bench/compress.py) and falls back to the standard ``zlib`` when zlib-ng is not importable.
The choice is registered like a compiled kernel (``twin.twin``), so ``LOGDRIVER_NO_EXTENSIONS``
selects ``zlib``, tests run over both and status reports it as ``zlib_ng.zlib_ng``.
"""

from __future__ import annotations

import dataclasses
import ssl
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from .answer import CONFIG_ERROR, Answer, Fault, Outcome
from .retry import classify_http
from .tls import TLSOptions
from .twin import Twin, twin

REQUEST_TIMEOUT_SECONDS = 30.0  # Docker's splunk driver gives one flush 30 s (batchSendTimeout)
CONNECT_TIMEOUT_SECONDS = 10.0  # a peer that cannot take a TCP+TLS handshake in 10 s is down
MAX_ANSWER_BYTES = 64 * 1024  # we need status codes and small JSON; never buffer a huge answer
USER_AGENT = "logdriver"
GZIP_WBITS = 31  # zlib window bits for a gzip container (16 + 15)
REDACTED = "[redacted]"
# A reason quotes at most REASON_BODY_CHARS of an answer, so a secret the server echoed may be cut
# part-way: a run of a secret's first this-many characters is redacted as (part of) it.
SECRET_HEAD_CHARS = 8


class Deflate(Protocol):
    """What gzip_body needs of a zlib-compatible module: ``zlib.compress``'s signature and
    levels (-1..9, -1 meaning 6); ``zlib`` itself is the fallback twin."""

    def compress(self, data: bytes, /, level: int = ..., wbits: int = ...) -> bytes: ...


GZIP: Twin[Deflate] = twin(zlib, "zlib_ng.zlib_ng")


def gzip_body(data: bytes, level: int) -> bytes:
    """A gzip member (mtime 0, so equal input gives equal bytes with one library); ``level``
    -1..9 as Go's. The bytes depend on the library (``GZIP.active``); what they decompress to
    does not."""
    return GZIP.active.compress(data, level, GZIP_WBITS)


def build_client(
    tls: TLSOptions,
    *,
    timeout: float = REQUEST_TIMEOUT_SECONDS,
    transport: httpx.AsyncBaseTransport | None = None,
    proxy: str | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient honouring HTTPS_PROXY/NO_PROXY (trust_env) unless ``proxy`` names one;
    ``transport`` for tests."""
    return httpx.AsyncClient(
        proxy=proxy,
        verify=tls.ssl_context(),  # built (files read) even under a test transport
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS)),
        transport=transport,
        trust_env=True,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes  # at most MAX_ANSWER_BYTES


class Exchange:
    """Sends one request and returns a Reply, or an Answer(RETRY) when no answer came."""

    def __init__(self, client: httpx.AsyncClient, secrets: Iterable[str]) -> None:
        self.client = client
        self._secrets = tuple(s for s in secrets if s)
        self._closed = False

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
            if len(secret) > SECRET_HEAD_CHARS:
                text = _redact_heads(text, secret)
        return text

    def scrubbed(self, answer: Answer) -> Answer:
        reason = self.scrub(answer.reason)
        if reason == answer.reason:
            return answer
        return dataclasses.replace(answer, reason=reason)

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Reply | Answer:
        try:
            async with self.client.stream(
                method, url, content=content, headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= MAX_ANSWER_BYTES:
                        del body[MAX_ANSWER_BYTES:]
                        break
                return Reply(response.status_code, response.headers, bytes(body))
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError,
                ssl.SSLError) as exc:
            return transport_answer(exc, self.scrub)

    async def post_events(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        refused: frozenset[int],
        refused_what: str,
    ) -> Answer:
        """POST one batch and classify the answer with the generic table; a
        status in ``refused`` is a ``Fault.CONFIG`` about ``refused_what``."""
        reply = await self.request("POST", url, content=body, headers=headers)
        if isinstance(reply, Reply):
            answer = classify_http(reply.status, reply.headers, reply.body)
            if reply.status in refused:
                answer = Answer(answer.outcome, answer.status, None,
                                f"{CONFIG_ERROR}: {refused_what} refused ({answer.reason})",
                                fault=Fault.CONFIG)
        else:
            answer = reply
        return self.scrubbed(answer)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self.client.aclose()


def _redact_heads(text: str, secret: str) -> str:
    """Redact every run of ``text`` that is the start of ``secret`` (SECRET_HEAD_CHARS or more)."""
    head = secret[:SECRET_HEAD_CHARS]
    i = text.find(head)
    while i >= 0:
        n = len(head)
        while i + n < len(text) and n < len(secret) and text[i + n] == secret[n]:
            n += 1
        text = text[:i] + REDACTED + text[i + n:]
        i = text.find(head, i + len(REDACTED))
    return text


def transport_answer(exc: BaseException, scrub: Callable[[str], str] | None = None) -> Answer:
    """No HTTP answer (connect/read/TLS/protocol failure, timeout): always worth a retry."""
    detail = str(exc) or type(exc).__name__
    if scrub is not None:
        detail = scrub(detail)
    return Answer(Outcome.RETRY, None, None, f"transport error: {type(exc).__name__}: {detail}")
