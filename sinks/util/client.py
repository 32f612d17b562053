"""The HTTP edge shared by all sinks: one client each (aiohttp; an httpx transport for tests),
gzip, and the single place where transport exceptions become an Answer(RETRY). Reasons are
scrubbed of every secret.

gzip runs on zlib-ng (``zlib_ng.zlib_ng``, zlib's API and levels, about 3x faster on our request
bodies: bench/compress.py) and falls back to the standard ``zlib`` when zlib-ng is not importable.
The choice is registered like a compiled kernel (``twin.twin``), so ``LOGDRIVER_NO_EXTENSIONS``
selects ``zlib``, tests run over both and status reports it as ``zlib_ng.zlib_ng``.
``gzip_fast`` (a sink's own level, not a user's: Datadog) runs on ISA-L's igzip
(``isal.isal_zlib``, registered the same way, ``zlib`` the fallback).
"""

from __future__ import annotations

import abc
import dataclasses
import ssl
import traceback
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import aiohttp
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload
from yarl import URL

from .answer import CONFIG_ERROR, Answer, Fault, Outcome
from .proxy import Proxies
from .retry import CUT_MARK, classify_http
from .tls import TLSOptions
from .twin import Twin, twin

if TYPE_CHECKING:
    import httpx

REQUEST_TIMEOUT_SECONDS = 30.0  # Docker's splunk driver gives one flush 30 s (batchSendTimeout)
CONNECT_TIMEOUT_SECONDS = 10.0  # a peer that cannot take a TCP+TLS handshake in 10 s is down
# An idle connection is closed after this long, before a server's own idle timeout (nginx 75 s,
# most load balancers 60 s) can close it under a request; httpx's default, which we had.
KEEPALIVE_SECONDS = 5.0
MAX_ANSWER_BYTES = 64 * 1024  # we need status codes and small JSON; never buffer a huge answer
USER_AGENT = "logdriver"
GZIP_WBITS = 31  # zlib window bits for a gzip container (16 + 15)
REDACTED = "[redacted]"
# A reason quotes at most REASON_BODY_CHARS of an answer, so a secret the server echoed may be cut
# part-way: a run of a secret's first this-many characters is redacted as (part of) it.
SECRET_HEAD_CHARS = 8
BodyBytes = bytes | bytearray | memoryview  # a request body, sent as it is (never copied here)
_MAX_TARGETS = 64  # URLs whose parsed form and proxy a client remembers (a sink uses a few)
# No answer came: the connection, TLS, proxy, a timeout or the HTTP framing failed (aiohttp's;
# httpx's under a test transport are in HttpxClient.errors). TimeoutError and ssl.SSLError are
# OSErrors.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, OSError)


class Deflate(Protocol):
    """What gzip_body needs of a zlib-compatible module: ``zlib.compress``'s signature and
    levels (-1..9, -1 meaning 6); ``zlib`` itself is the fallback twin."""

    def compress(self, data: bytes | bytearray, /, level: int = ..., wbits: int = ...) -> bytes: ...


GZIP: Twin[Deflate] = twin(zlib, "zlib_ng.zlib_ng")
# igzip (ISA-L, python-isal) has levels 0-3 of its own, not Go's: gzip_fast's, never a user's.
FAST_GZIP: Twin[Deflate] = twin(zlib, "isal.isal_zlib")
FAST_GZIP_LEVEL = 1


def gzip_body(data: bytes | bytearray, level: int) -> bytes:
    """A gzip member (mtime 0, so equal input gives equal bytes with one library); ``level``
    -1..9 as Go's. The bytes depend on the library (``GZIP.active``); what they decompress to
    does not."""
    return GZIP.active.compress(data, level, GZIP_WBITS)


def gzip_fast(data: bytes | bytearray) -> bytes:
    """A gzip member (mtime 0) made with the least CPU for most of the ratio: igzip's level 1
    (``FAST_GZIP_LEVEL``), or zlib's level 1 in the fallback. On a Datadog body of 1,000
    access-log items (538 KB, bench/compress.py) igzip level 1 took 0.27 ms where zlib-ng level
    6 took 1.77 ms, for 34.1 KB instead of 30.8 KB (zlib-ng's own level 1: 46.7 KB); on the
    bench's repetitive lines 0.11 ms against 0.60 ms."""
    return FAST_GZIP.active.compress(data, FAST_GZIP_LEVEL, GZIP_WBITS)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes  # at most MAX_ANSWER_BYTES, decoded (gzip/deflate)


class HttpClient(abc.ABC):
    """One sink's connections. ``send`` returns the Reply or raises one of ``errors``."""

    errors: tuple[type[BaseException], ...] = TRANSPORT_ERRORS  # raised when no answer came

    timeout: float  # seconds a request may take, connecting included (per-request override)
    secrets: tuple[str, ...] = ()  # its own (a proxy's password), scrubbed as the sink's are

    @abc.abstractmethod
    async def send(self, method: str, url: str, content: BodyBytes | None,
                   headers: Mapping[str, str] | None, timeout: float | None) -> Reply: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...


def build_client(
    tls: TLSOptions,
    *,
    timeout: float = REQUEST_TIMEOUT_SECONDS,
    transport: httpx.AsyncBaseTransport | None = None,
    proxy: str | None = None,
) -> HttpClient:
    """A client honouring HTTPS_PROXY/HTTP_PROXY/NO_PROXY unless ``proxy`` names one; the TLS
    files are read now (SinkOptionError naming the key). ``transport``: tests' httpx transport
    (httpx.MockTransport) instead of the network."""
    context = tls.ssl_context()  # built (files read) even under a test transport
    if transport is not None:
        return HttpxClient(context, timeout, transport, proxy)
    proxies = (Proxies.from_environment() if proxy is None
               else Proxies.fixed(proxy, "proxy URL"))
    return AiohttpClient(context, timeout, proxies)


class AiohttpClient(HttpClient):
    """aiohttp's client: about a third of httpx's CPU per request (its parser is compiled, a
    request is one write; bench/experiments/http_client_cost). Keep-alive, no redirects, no
    cookies (Docker's drivers keep none), proxies chosen here once per URL (aiohttp's own
    ``trust_env`` reads the environment and ~/.netrc in a thread on every request)."""

    def __init__(self, context: ssl.SSLContext, timeout: float, proxies: Proxies) -> None:
        self.timeout = timeout
        self.proxies = proxies
        self.secrets = proxies.secrets()
        self._context = context
        self._session: aiohttp.ClientSession | None = None  # made in the running loop
        self._targets: dict[str, tuple[URL, URL | None]] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def target(self, url: str) -> tuple[URL, URL | None]:
        """(the parsed URL, the proxy it goes through or None), remembered."""
        found = self._targets.get(url)
        if found is None:
            if len(self._targets) >= _MAX_TARGETS:
                self._targets.clear()
            parsed = URL(url)
            found = self._targets[url] = (parsed, self.proxies.for_url(parsed))
        return found

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        found = self._timeouts.get(seconds)
        if found is None:  # the whole request, as Go's http.Client.Timeout and Docker's drivers
            found = self._timeouts[seconds] = aiohttp.ClientTimeout(
                total=seconds, sock_connect=min(seconds, CONNECT_TIMEOUT_SECONDS))
        return found

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(ssl=self._context, keepalive_timeout=KEEPALIVE_SECONDS)
        # No Content-Type unless the sink gives one (aiohttp would say application/octet-stream)
        return aiohttp.ClientSession(
            connector=connector, headers={"User-Agent": USER_AGENT},
            skip_auto_headers=("Content-Type",), cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False)

    async def send(self, method: str, url: str, content: BodyBytes | None,
                   headers: Mapping[str, str] | None, timeout: float | None) -> Reply:
        session = self._session
        if session is None:
            session = self._session = self._open()
        parsed, proxy = self.target(url)
        data = None if content is None else UncopiedBody(content)
        async with session.request(
            method, parsed, data=data, headers=headers, proxy=proxy, allow_redirects=False,
            timeout=self._timeout(self.timeout if timeout is None else timeout),
        ) as response:
            return Reply(response.status, response.headers, await _read_capped(response.content))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class UncopiedBody(Payload):
    """A request body that reaches the transport as a view of the caller's buffer, uncopied.

    aiohttp (3.12 to 3.14 at least) holds the request's headers back and writes them with the
    first body chunk: ``StreamWriter._send_headers_with_payload`` calls ``_writelines((headers,
    body))``, which on Python before 3.12.9 (and 3.13.0-3.13.1, CVE-2024-12254) is
    ``transport.write(b"".join(...))``, a copy of every request body (7.4% of the shipper's busy
    samples, bench/spy.py). This payload sends the headers alone (``send_headers``, one small
    write) and then the body as a memoryview, which the selector transport also slices without
    copying when the socket takes part of it (``data[n:]``; it copies only what it must buffer).
    The bytes on the wire are the same. ``content_length`` (aiohttp passes Content-Length) cuts
    the body as aiohttp's BytesPayload does (Content-Type application/octet-stream unless the
    session skips it, as ours does), without its ResourceWarning over 1 MiB: the body is one
    write, whatever its size."""

    _value: memoryview
    _autoclose = True  # nothing to close: bytes in memory, reusable (as BytesPayload)

    def __init__(self, value: BodyBytes) -> None:
        view = memoryview(value)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        Payload.__init__(self, view, content_type="application/octet-stream")
        self._size = view.nbytes

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._value).decode(encoding, errors)

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return bytes(self._value)

    async def write_with_length(self, writer: AbstractStreamWriter,
                                content_length: int | None) -> None:
        view = self._value
        if content_length is not None and content_length < view.nbytes:
            view = view[:content_length]
        writer.send_headers()
        await writer.write(view)

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)


async def _read_capped(content: aiohttp.StreamReader) -> bytes:
    """The answer body, at most MAX_ANSWER_BYTES of it (the rest is never read: the connection
    is then closed, not reused)."""
    body = await content.read(MAX_ANSWER_BYTES)
    if not body or content.at_eof():  # the usual small answer: all of it came at once
        return body
    parts = [body]
    size = len(body)
    while size < MAX_ANSWER_BYTES:
        chunk = await content.read(MAX_ANSWER_BYTES - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


class HttpxClient(HttpClient):
    """An httpx client over a given transport: the sinks' tests swap the network for
    ``httpx.MockTransport``."""

    def __init__(self, context: ssl.SSLContext, timeout: float,
                 transport: httpx.AsyncBaseTransport, proxy: str | None) -> None:
        import httpx  # tests only: the plugin and the shipper never import httpx

        self.timeout = timeout
        self.errors = (*TRANSPORT_ERRORS, httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)
        self._client_default = httpx.USE_CLIENT_DEFAULT
        if proxy is not None:
            self.secrets = Proxies.fixed(proxy, "proxy URL").secrets()
        self.client = httpx.AsyncClient(
            proxy=proxy, verify=context, transport=transport, trust_env=True,
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS)),
            follow_redirects=False, headers={"User-Agent": USER_AGENT})

    async def send(self, method: str, url: str, content: BodyBytes | None,
                   headers: Mapping[str, str] | None, timeout: float | None) -> Reply:
        if content is not None and not isinstance(content, bytes):
            content = bytes(content)  # httpx takes bytes or an iterable of them (tests only)
        async with self.client.stream(
            method, url, content=content, headers=headers,
            timeout=self._client_default if timeout is None else timeout,
        ) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= MAX_ANSWER_BYTES:
                    del body[MAX_ANSWER_BYTES:]
                    break
            return Reply(response.status_code, response.headers, bytes(body))

    async def aclose(self) -> None:
        await self.client.aclose()


class Exchange:
    """Sends one request and returns a Reply, or an Answer(RETRY) when no answer came."""

    def __init__(self, client: HttpClient, secrets: Iterable[str]) -> None:
        self.client = client
        self._secrets = tuple(s for s in (*secrets, *client.secrets) if s)
        self._closed = False

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
            if len(secret) > SECRET_HEAD_CHARS:
                text = _redact_heads(text, secret)
            text = _redact_cut(text, secret)
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
        content: BodyBytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Reply | Answer:
        seconds = self.client.timeout if timeout is None else timeout
        try:
            return await self.client.send(method, url, content, headers, timeout)
        except self.client.errors as exc:
            answer = transport_answer(exc, self.scrub, timeout=seconds)
            release_frames(exc)
            return answer

    async def post_events(
        self,
        url: str,
        body: BodyBytes,
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


def _redact_cut(text: str, secret: str) -> str:
    """Redact the start of ``secret``, however short, where a quoted excerpt was cut (just
    before ``CUT_MARK``): the cut may have left only its first few characters."""
    i = text.find(CUT_MARK)
    while i >= 0:
        for n in range(min(len(secret), i), 0, -1):
            if text.endswith(secret[:n], 0, i):
                text = text[:i - n] + REDACTED + text[i:]
                i += len(REDACTED) - n
                break
        i = text.find(CUT_MARK, i + 1)
    return text


def release_frames(exc: BaseException) -> None:
    """Clear the locals of the finished frames in ``exc``'s tracebacks (and its causes'). A
    failed request's frames hold the request and its body in a cycle with the exception
    (aiohttp's connector chains the OSError): left to the cyclic GC, a sink that is down kept
    one dead body (up to batch-bytes) per retry alive until the next full collection."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        traceback.clear_frames(e.__traceback__)
        stack += (e.__cause__, e.__context__)


def transport_answer(exc: BaseException, scrub: Callable[[str], str] | None = None, *,
                     timeout: float | None = None) -> Answer:
    """No HTTP answer (connect/read/TLS/protocol failure, timeout): always worth a retry. A
    timeout with no message of its own says how long it waited (``timeout``, seconds)."""
    detail = str(exc)
    if not detail and isinstance(exc, TimeoutError) and timeout is not None:
        detail = f"no answer within {timeout:g} s"
    detail = detail or type(exc).__name__
    if scrub is not None:
        detail = scrub(detail)
    return Answer(Outcome.RETRY, None, None, f"transport error: {type(exc).__name__}: {detail}")
