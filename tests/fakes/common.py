"""What the fake receivers share: a loopback aiohttp server that runs in a thread of its own (or as
a child process), records every request, and lets a test inject faults while it runs.

Thread model: the server has its own event loop in a background thread. Everything a test reads or
sets goes through ``self._lock``; the answers are computed on the loop thread.

Reserved paths: ``/__fake__/...`` is the control API (used by :class:`FakeProcess` to steer a fake
that runs as a child process). Those requests are never recorded, faulted or counted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gzip
import ipaddress
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

LOOPBACK = "127.0.0.1"
CONTROL_PREFIX = "/__fake__/"
DEFAULT_MAX_REQUEST_BYTES = 256 * 1024 * 1024
REPO_ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")


# -- recorded requests ----------------------------------------------------------------------------
@dataclass
class Recorded:
    """One request as the fake saw it. ``status`` is None while it is in flight, and stays None if
    it was never answered (the fake dropped the connection, or the client left while held)."""

    seq: int
    time: float  # time.time() at arrival
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDictProxy[str]
    body: bytes  # as received (still compressed if it was)
    decoded: bytes | None  # after Content-Encoding; None if it could not be decoded
    decode_error: str | None = None
    status: int | None = None
    answer: bytes = b""
    answer_headers: dict[str, str] = field(default_factory=dict)
    items: list[Any] = field(default_factory=list)  # what this request got accepted
    note: str = ""  # "fault", "disconnected", "abandoned", "too large", ...
    answered_at: float | None = None  # time.time()

    def json(self) -> Any:
        """The decoded body parsed as one JSON document."""
        assert self.decoded is not None, f"request {self.seq} has no decodable body"
        return json.loads(self.decoded)

    def summary(self) -> dict[str, Any]:
        """A JSON-able view (headers folded to their last value)."""
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": {k: v for k, v in self.headers.items()},
            "body_bytes": len(self.body),
            "decoded_bytes": None if self.decoded is None else len(self.decoded),
            "decode_error": self.decode_error,
            "status": self.status,
            "answer": self.answer.decode("utf-8", "replace"),
            "items": len(self.items),
            "note": self.note,
            "answered_at": self.answered_at,
        }


def decode_body(body: bytes, content_encoding: str | None) -> tuple[bytes | None, str | None]:
    """Undo ``Content-Encoding`` (gzip, x-gzip, deflate = zlib stream, identity; a list is undone
    last-applied first). Returns (decoded, None) or (None, why)."""
    if not content_encoding:
        return body, None
    data = body
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        try:
            if coding in ("gzip", "x-gzip"):
                data = gzip.decompress(data)
            elif coding == "deflate":
                data = zlib.decompress(data)  # RFC 9110: deflate = zlib format, not raw deflate
            elif coding == "identity":
                pass
            else:
                return None, f"unsupported Content-Encoding {coding!r}"
        except (OSError, EOFError, zlib.error) as e:
            return None, f"body is not valid {coding}: {e}"
    return data, None


# -- fault injection ------------------------------------------------------------------------------
@dataclass
class _Rule:
    until: float | None  # monotonic
    remaining: int | None
    paths: frozenset[str] | None

    def applies(self, path: str, now: float) -> bool:
        if self.paths is not None and path not in self.paths:
            return False
        return self.until is None or now < self.until

    def expired(self, now: float) -> bool:
        return (self.until is not None and now >= self.until) or self.remaining == 0

    def take(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


@dataclass
class _Failure(_Rule):
    status: int = 503
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Hang(_Rule):
    seconds: float = 0.0
    window: bool = False  # True: every request waits until `until`


def _rule_end(for_seconds: float | None) -> float | None:
    return None if for_seconds is None else time.monotonic() + for_seconds


def _paths(paths: Iterable[str] | None) -> frozenset[str] | None:
    return None if paths is None else frozenset(paths)


@dataclass
class Answer:
    """What a fake's handler answers: status, body, headers, and the items it accepted."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    items: list[Any] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, value: Any, items: list[Any] | None = None,
             headers: Mapping[str, str] | None = None) -> Answer:
        return cls(status, json.dumps(value, separators=(",", ":")).encode(),
                   {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
                   items or [])


# -- the server -----------------------------------------------------------------------------------
class FakeServer:
    """Base of the fakes. Use as a context manager (``with FakeHec() as hec: hec.url``), or
    ``start()`` / ``close()``; ``stop()`` / ``start()`` in between keeps the port."""

    module = ""  # tests.fakes.<module> runs it as a child process

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = LOOPBACK,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        record_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the fakes listen on loopback only, not on {host!r}")
        self.host = host
        self._port = port
        self.max_request_bytes = max_request_bytes
        self.record_path = Path(record_path) if record_path is not None else None
        self._lock = threading.RLock()
        self._requests: list[Recorded] = []
        self._items: list[Any] = []
        self._status_counts: collections.Counter[int | None] = collections.Counter()
        self._seq = 0
        self._failure: _Failure | None = None
        self._hang: _Hang | None = None
        self._disconnect: _Rule | None = None
        self._slow = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._record_file: Any = None
        # Serve HTTPS with this context from the next start() on (None: plain HTTP). A test may
        # swap it between stop() and start() to change the certificate the clients see.
        self.ssl_context: ssl.SSLContext | None = None

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._port, "not started yet: the port is chosen at the first start()"
        return self._port

    @property
    def url(self) -> str:
        """scheme://host:port, no path (what Docker's splunk-url and our sinks take)."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    def start(self, timeout: float = 10.0) -> FakeServer:
        """Starts listening (again, on the same port after a stop())."""
        if self._loop is None:
            self._start_loop()
        if self._runner is None:
            self._run(self._start_site(), timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stops listening and drops every open connection (in-flight requests get no answer):
        connections are refused until start()."""
        if self._loop is not None and self._runner is not None:
            self._run(self._stop_site(), timeout)

    def close(self) -> None:
        """stop(), then ends the loop thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self.stop()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            self._loop = self._thread = None
            if self._record_file is not None:
                self._record_file.close()
                self._record_file = None

    def __enter__(self: T) -> T:
        self.start()  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_loop(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                try:
                    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                    for t in pending:
                        t.cancel()
                    if pending:
                        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.run_until_complete(loop.shutdown_default_executor())
                finally:
                    loop.close()

        self._thread = threading.Thread(target=run, name=f"{type(self).__name__}-loop", daemon=True)
        self._loop = loop
        self._thread.start()
        ready.wait(10)

    def _run(self, coro: Any, timeout: float) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start_site(self) -> None:
        self._stopping = False
        self._wake = asyncio.Event()
        app = web.Application(client_max_size=self.max_request_bytes + 1)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, auto_decompress=False,
            shutdown_timeout=0.5,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port, reuse_address=True,
                           ssl_context=self.ssl_context)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._port = runner.addresses[0][1]
        self._runner = runner

    async def _stop_site(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._stopping = True
        self._wake_all()
        await runner.cleanup()

    def _wake_all(self) -> None:
        """(loop thread) Ends every hang/slow wait now."""
        if self._wake is not None:
            self._wake.set()
            self._wake = asyncio.Event()

    def _call_in_loop(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(fn)

    # -- fault injection (any thread) -----------------------------------------------------------
    def fail_with(
        self,
        status: int,
        body: bytes | str | Mapping[str, Any] | list[Any] = b"",
        headers: Mapping[str, str] | None = None,
        *,
        for_seconds: float | None = None,
        count: int | None = None,
        paths: Iterable[str] | None = None,
    ) -> None:
        """From now on answer `status` with `body` (bytes; a str is UTF-8; a dict or list is sent
        as JSON) and `headers` instead of handling requests: for `for_seconds`, or for the next
        `count` requests, or (neither) until clear_faults(). `paths`: only requests to those
        paths. Replaces an earlier fail_with(). The request is still recorded, with its status."""
        hdrs = dict(headers or {})
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
            hdrs.setdefault("Content-Type", "application/json; charset=utf-8")
        with self._lock:
            self._failure = _Failure(
                _rule_end(for_seconds), count, _paths(paths), status=status, body=data,
                headers=hdrs,
            )

    def hang(
        self, seconds: float, *, count: int | None = None, paths: Iterable[str] | None = None
    ) -> None:
        """Accept and read requests but give no answer. Without `count`: for the next `seconds`
        every request arriving waits until that window ends. With `count`: each of the next
        `count` requests waits `seconds` from its arrival. Afterwards a held request is handled
        normally if its client is still there, else it is recorded with status None ("abandoned")
        and what it carried is NOT accepted. clear_faults() ends the holds at once; stop() drops
        the held connections."""
        with self._lock:
            if count is None:
                self._hang = _Hang(_rule_end(seconds), None, _paths(paths), seconds=seconds,
                                   window=True)
            else:
                self._hang = _Hang(None, count, _paths(paths), seconds=seconds)

    def slow(self, seconds_per_request: float) -> None:
        """Every request waits this long before it is handled (0 turns it off)."""
        with self._lock:
            self._slow = max(0.0, seconds_per_request)

    def disconnect(
        self, *, count: int | None = None, for_seconds: float | None = None,
        paths: Iterable[str] | None = None,
    ) -> None:
        """Read the request, then close the connection without an answer (the client sees the
        server disconnect): for the next `count` requests, or `for_seconds`, or until cleared."""
        with self._lock:
            self._disconnect = _Rule(_rule_end(for_seconds), count, _paths(paths))

    def clear_faults(self) -> None:
        """Back to normal: no failure, hang, slowness or disconnect; held requests go on now."""
        with self._lock:
            self._failure = None
            self._hang = None
            self._disconnect = None
            self._slow = 0.0
        self._call_in_loop(self._wake_all)

    def reset(self) -> None:
        """Forgets what was recorded (requests, items, counters); faults stay."""
        with self._lock:
            self._requests.clear()
            self._items.clear()
            self._status_counts.clear()
            self._reset_state()

    def _reset_state(self) -> None:
        """Subclasses: forget their own recorded state (called under the lock)."""

    # -- what was recorded (any thread) ---------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        """Every request (control API excluded) in arrival order, including in-flight ones."""
        with self._lock:
            return list(self._requests)

    @property
    def items(self) -> list[Any]:
        """Everything the fake accepted, in the order it accepted it."""
        with self._lock:
            return list(self._items)

    @property
    def status_counts(self) -> dict[int | None, int]:
        """Requests answered per HTTP status (None: never answered)."""
        with self._lock:
            return dict(self._status_counts)

    def count(self, status: int | None = None) -> int:
        """Requests answered with `status`; with no argument, every finished request."""
        with self._lock:
            if status is None:
                return sum(self._status_counts.values())
            return self._status_counts.get(status, 0)

    def answered(self, lo: int, hi: int) -> int:
        """Requests answered with a status in [lo, hi]: answered(400, 499) counts the 4xx."""
        with self._lock:
            return sum(n for s, n in self._status_counts.items() if s is not None and lo <= s <= hi)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return sum(1 for r in self._requests if r.answered_at is None)

    def describe(self, last: int = 5) -> str:
        """A short text for assertion messages: counters and the last requests."""
        with self._lock:
            reqs = self._requests[-last:]
            counts = dict(self._status_counts)
            n_items = len(self._items)
        lines = [f"{type(self).__name__} on {self.host}:{self._port}: {len(self._requests)} "
                 f"requests, status counts {counts}, {n_items} items accepted"]
        for r in reqs:
            lines.append(
                f"  #{r.seq} {r.method} {r.path} -> {r.status} {r.note} "
                f"{r.answer[:200].decode('utf-8', 'replace')} (body {len(r.body)} B)"
            )
        return "\n".join(lines)

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02,
        what: str = "",
    ) -> T:
        """Polls `predicate()` until it returns something truthy, and returns that; raises
        AssertionError after `timeout` s, with describe() in the message."""
        return wait_for(predicate, timeout, interval, what=what, describe=self.describe)

    # -- the subclasses' part -------------------------------------------------------------------
    def handle(self, req: Recorded) -> Answer:  # pragma: no cover - abstract
        """(loop thread) The answer to a request that no fault took over."""
        raise NotImplementedError

    def json_item(self, item: Any) -> Any:
        """An accepted item as JSON can hold it (for --record and FakeProcess); subclasses whose
        items hold bytes override this."""
        return item

    def control_state(self) -> dict[str, Any]:
        """What GET /__fake__/state returns; subclasses add their own keys."""
        with self._lock:
            return {
                "port": self._port,
                "requests": [r.summary() for r in self._requests],
                "items": list(self._items),
                "status_counts": {str(k): v for k, v in self._status_counts.items()},
            }

    # -- request handling (loop thread) --------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await self._control(request)
        arrived = time.time()
        raw, too_large = await self._read_body(request)
        encoding = request.headers.get("Content-Encoding")
        decoded, error = (None, "too large") if too_large else decode_body(raw, encoding)
        with self._lock:
            self._seq += 1
            rec = Recorded(
                seq=self._seq, time=arrived, method=request.method, path=request.path,
                query=dict(request.query), headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                body=raw, decoded=decoded, decode_error=error,
            )
            self._requests.append(rec)
        try:
            answer = await self._answer(request, rec, too_large)
        except asyncio.CancelledError:
            self._finish(rec, None, note="cancelled (server stopping)")
            raise
        if answer is None:  # no answer: drop the connection
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=204)
        return web.Response(status=answer.status, body=answer.body, headers=answer.headers)

    async def _answer(self, request: web.Request, rec: Recorded, too_large: bool) -> Answer | None:
        now = time.monotonic()
        with self._lock:
            drop = self._take(self._disconnect, rec.path, now)
            if drop is None and self._disconnect is not None and self._disconnect.expired(now):
                self._disconnect = None
            hang = self._take(self._hang, rec.path, now)
            if hang is None and self._hang is not None and self._hang.expired(now):
                self._hang = None
            delay = self._slow
        if drop is not None:
            self._finish(rec, None, note="disconnected")
            return None
        if isinstance(hang, _Hang):
            wait = max(0.0, hang.until - now) if hang.window and hang.until else hang.seconds
            if not await self._hold(wait):
                self._finish(rec, None, note="dropped: server stopped while held")
                return None
        if delay > 0 and not await self._hold(delay):
            self._finish(rec, None, note="dropped: server stopped while slow")
            return None
        if request.transport is None or request.transport.is_closing():
            self._finish(rec, None, note="abandoned: the client left before the answer")
            return None
        with self._lock:
            failure = self._take(self._failure, rec.path, time.monotonic())
            if failure is None and self._failure is not None and self._failure.expired(
                    time.monotonic()):
                self._failure = None
        if isinstance(failure, _Failure):
            answer = Answer(failure.status, failure.body, dict(failure.headers))
            note = "fault"
        elif too_large:
            answer = self.too_large(rec)
            note = "too large"
        else:
            try:
                answer = self.handle(rec)
            except Exception as e:  # a bug in a fake must not look like a network problem
                answer = Answer(500, f"fake receiver error: {type(e).__name__}: {e}".encode())
                note = "fake error"
            else:
                note = ""
        self._finish(rec, answer, note=note)
        return answer

    def too_large(self, rec: Recorded) -> Answer:
        return Answer(413, b"request body too large")

    @staticmethod
    def _take(rule: _Rule | None, path: str, now: float) -> _Rule | None:
        if rule is None or rule.expired(now) or not rule.applies(path, now):
            return None
        rule.take()
        return rule

    async def _hold(self, seconds: float) -> bool:
        """Waits `seconds` (less if clear_faults() runs); False if the server is stopping."""
        if self._stopping:
            return False
        wake = self._wake
        if seconds > 0 and wake is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), seconds)
        return not self._stopping

    def _finish(self, rec: Recorded, answer: Answer | None, note: str) -> None:
        with self._lock:
            rec.note = note
            rec.answered_at = time.time()
            if answer is not None:
                rec.status = answer.status
                rec.answer = answer.body
                rec.answer_headers = dict(answer.headers)
                rec.items = list(answer.items)
                self._items.extend(answer.items)
            self._status_counts[rec.status] += 1
            if self.record_path is not None:
                self._write_record(rec)

    def _write_record(self, rec: Recorded) -> None:
        if self._record_file is None:
            assert self.record_path is not None
            self._record_file = open(self.record_path, "a", encoding="utf-8")
        line = {**rec.summary(), "accepted": [self.json_item(item) for item in rec.items]}
        self._record_file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._record_file.flush()

    async def _read_body(self, request: web.Request) -> tuple[bytes, bool]:
        limit = self.max_request_bytes
        if request.content_length is not None and request.content_length > limit:
            return b"", True
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = await request.content.read(1 << 20)
            if not chunk:
                return b"".join(chunks), False
            size += len(chunk)
            if size > limit:
                return b"", True
            chunks.append(chunk)

    # -- control API (for a fake in a child process) -------------------------------------------
    async def _control(self, request: web.Request) -> web.Response:
        op = request.path[len(CONTROL_PREFIX):]
        try:
            args = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        try:
            if op == "state" and request.method == "GET":
                return web.json_response(self.control_state())
            if request.method != "POST":
                return web.json_response({"error": f"{request.method} {op}?"}, status=405)
            if op == "fail":
                self.fail_with(
                    args["status"], str(args.get("body") or "").encode(), args.get("headers"),
                    for_seconds=args.get("for_seconds"), count=args.get("count"),
                    paths=args.get("paths"),
                )
            elif op == "hang":
                self.hang(args["seconds"], count=args.get("count"), paths=args.get("paths"))
            elif op == "slow":
                self.slow(args["seconds"])
            elif op == "disconnect":
                self.disconnect(count=args.get("count"), for_seconds=args.get("for_seconds"),
                                paths=args.get("paths"))
            elif op == "clear":
                self.clear_faults()
            elif op == "reset":
                self.reset()
            else:
                return web.json_response({"error": f"unknown control {op!r}"}, status=404)
        except (KeyError, TypeError, ValueError) as e:
            return web.json_response({"error": f"{type(e).__name__}: {e}"}, status=400)
        return web.json_response({"ok": True})

    # -- as a child process ---------------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Subclasses: their own command-line options."""

    @classmethod
    def from_args(cls, args: argparse.Namespace, **common: Any) -> FakeServer:
        return cls(**common)

    @classmethod
    def main(cls, argv: Sequence[str] | None = None) -> int:
        """``python -m tests.fakes.<name> --port 0 --print-port``: serves until SIGTERM/SIGINT.
        The first stdout line is the port (with --print-port); nothing else goes to stdout."""
        parser = argparse.ArgumentParser(prog=f"python -m tests.fakes.{cls.module}",
                                         description=(cls.__doc__ or "").split("\n")[0])
        parser.add_argument("--host", default=LOOPBACK, help="a loopback address only")
        parser.add_argument("--port", type=int, default=0, help="0: an ephemeral port")
        parser.add_argument("--print-port", action="store_true",
                            help="print the port as the first line of stdout")
        parser.add_argument("--record", metavar="FILE",
                            help="append one JSON line per answered request (survives SIGKILL)")
        parser.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES)
        cls.add_arguments(parser)
        args = parser.parse_args(argv)
        fake = cls.from_args(args, port=args.port, host=args.host,
                             max_request_bytes=args.max_request_bytes, record_path=args.record)
        done = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: done.set())
        fake.start()
        try:
            if args.print_port:
                print(fake.port, flush=True)
            print(f"{cls.__name__} listening on {fake.url}", file=sys.stderr, flush=True)
            while not done.wait(0.5):
                pass
        finally:
            fake.close()
        return 0


def wait_for(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, *,
    what: str = "", describe: Callable[[], str] | None = None,
) -> T:
    """Polls `predicate()` until truthy; returns its value. AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = f"not true within {timeout} s: {what or getattr(predicate, '__name__', '?')}"
            if describe is not None:
                text += "\n" + describe()
            raise AssertionError(text)
        time.sleep(interval)


# -- a fake in a child process ---------------------------------------------------------------------
class FakeProcess:
    """``python -m tests.fakes.<module> --port P --print-port ARGS...`` as a child, steered over
    its control API. ``kill()`` is SIGKILL; ``start()`` again reuses the same port.

        with FakeProcess("hec", "--token", "T", record=tmp_path / "hec.jsonl") as hec:
            ... hec.url ... hec.kill() ... hec.start() ... hec.items() ... hec.recorded()
    """

    def __init__(
        self,
        module: str,
        *args: str,
        port: int = 0,
        record: str | os.PathLike[str] | None = None,
        stderr_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.module = module
        self.args = list(args)
        self.port = port
        self.record = Path(record) if record is not None else None
        self.stderr_path = Path(stderr_path) if stderr_path is not None else None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def cmd(self) -> list[str]:
        cmd = [sys.executable, "-m", f"tests.fakes.{self.module}", "--port", str(self.port),
               "--print-port", *self.args]
        if self.record is not None:
            cmd += ["--record", str(self.record)]
        return cmd

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 20.0) -> FakeProcess:
        assert not self.alive, "already running"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH"))
                                            if p)
        stderr: Any = None
        if self.stderr_path is not None:
            stderr = open(self.stderr_path, "ab")
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    self.port = self._spawn(env, stderr, deadline)
                    return self
                except OSError:
                    # Restarting on a fixed port: the old socket may linger for a moment.
                    if self.port == 0 or time.monotonic() >= deadline:
                        raise
                    time.sleep(0.1)
        finally:
            if stderr is not None:
                stderr.close()

    def _spawn(self, env: dict[str, str], stderr: Any, deadline: float) -> int:
        proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=stderr, cwd=REPO_ROOT, env=env, start_new_session=True)
        assert proc.stdout is not None
        try:
            line = _readline_until(proc.stdout, deadline)
        finally:
            proc.stdout.close()
        if not line.strip().isdigit():
            proc.kill()
            proc.wait(timeout=10)
            raise OSError(f"`{' '.join(self.cmd)}` did not print its port (got {line!r}, "
                          f"exit code {proc.returncode})")
        self.proc = proc
        return int(line)

    def kill(self) -> None:
        """SIGKILL, as a crash would; waits until it is gone."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def terminate(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode

    def restart(self, timeout: float = 20.0) -> FakeProcess:
        self.kill()
        return self.start(timeout)

    def close(self) -> None:
        self.terminate()

    def __enter__(self) -> FakeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # control API
    def _call(self, method: str, op: str, args: Mapping[str, Any] | None = None) -> Any:
        data = None if args is None else json.dumps(args).encode()
        req = urllib.request.Request(f"{self.url}{CONTROL_PREFIX}{op}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as resp:
            return json.loads(resp.read())

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")  # type: ignore[no-any-return]

    def items(self) -> list[Any]:
        return self.state()["items"]  # type: ignore[no-any-return]

    def status_counts(self) -> dict[int | None, int]:
        return {(None if k == "None" else int(k)): v
                for k, v in self.state()["status_counts"].items()}

    def fail_with(self, status: int, body: str = "", headers: Mapping[str, str] | None = None, *,
                  for_seconds: float | None = None, count: int | None = None,
                  paths: Iterable[str] | None = None) -> None:
        self._call("POST", "fail", {"status": status, "body": body, "headers": dict(headers or {}),
                                    "for_seconds": for_seconds, "count": count,
                                    "paths": None if paths is None else list(paths)})

    def hang(self, seconds: float, *, count: int | None = None,
             paths: Iterable[str] | None = None) -> None:
        self._call("POST", "hang", {"seconds": seconds, "count": count,
                                    "paths": None if paths is None else list(paths)})

    def slow(self, seconds_per_request: float) -> None:
        self._call("POST", "slow", {"seconds": seconds_per_request})

    def disconnect(self, *, count: int | None = None, for_seconds: float | None = None) -> None:
        self._call("POST", "disconnect", {"count": count, "for_seconds": for_seconds})

    def clear_faults(self) -> None:
        self._call("POST", "clear", {})

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def recorded(self) -> list[dict[str, Any]]:
        """The --record file's lines (each answered request, with "accepted": its items), across
        every start of the process; a line cut by a SIGKILL is left out."""
        if self.record is None or not self.record.exists():
            return []
        out = []
        for line in self.record.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def recorded_items(self) -> list[Any]:
        return [item for line in self.recorded() for item in line["accepted"]]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0,
                 interval: float = 0.05, what: str = "") -> T:
        return wait_for(predicate, timeout, interval, what=what)


def _readline_until(stream: Any, deadline: float) -> str:
    """One line from a pipe, giving up at `deadline` (the child may die or hang)."""
    import selectors

    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
    return buf.decode("utf-8", "replace").split("\n", 1)[0]
