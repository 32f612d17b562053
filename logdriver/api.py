"""The aiohttp handlers for /Plugin.Activate and /LogDriver.*: request and reply shapes only."""

from __future__ import annotations

import calendar
import datetime
import json
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from . import observe
from .driver import Driver
from .errors import RequestError
from .readlogs import ReadRequest

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.docker.plugins.v1+json"
STREAM_CONTENT_TYPE = "application/x-json-stream"
MAX_REQUEST_BYTES = 1 << 20  # StartLogging bodies are a few KB; anything near this is abuse
DRIVER_KEY: web.AppKey[Driver] = web.AppKey("driver", Driver)

_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse_go_time(value: Any, field: str) -> int:
    """A Go ``time.Time`` as JSON (RFC 3339, nanoseconds, any zone) -> ns since the epoch.

    Go's zero time (year 1) means "no bound" and gives 0.
    """
    if value is None or value == "":
        return 0
    if not isinstance(value, str):
        raise RequestError(f"Config.{field} must be an RFC 3339 time string")
    m = _TIME_RE.match(value)
    if not m:
        raise RequestError(f"Config.{field} is not an RFC 3339 time: {value[:40]!r}")
    year, mon, day, hh, mm, ss = (int(m.group(i)) for i in range(1, 7))
    if year <= 1:
        return 0
    try:
        datetime.datetime(year, mon, day, hh, mm, ss)  # as Go's time.Parse: fields in range
    except ValueError as exc:
        raise RequestError(f"Config.{field} is not a valid time: {value[:40]!r} ({exc})") from exc
    frac = (m.group(7) or "").ljust(9, "0")
    secs = calendar.timegm((year, mon, day, hh, mm, ss, 0, 0, 0))
    if m.group(9):
        if int(m.group(10)) > 23 or int(m.group(11)) > 59:  # as Go: "time zone offset out of range"
            raise RequestError(f"Config.{field} has a zone offset out of range: {value[:40]!r}")
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        secs -= offset if m.group(9) == "+" else -offset
    return secs * 1_000_000_000 + int(frac)


def reply(obj: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(obj).encode(), status=status, content_type=CONTENT_TYPE
    )


def error(message: str, status: int = 200) -> web.Response:
    return reply({"Err": message}, status)


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:  # answered like any refusal, in Docker's shape
        raise RequestError(f"request body too large (over {MAX_REQUEST_BYTES} bytes)") from exc
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    return body


async def activate(request: web.Request) -> web.Response:
    return reply({"Implements": ["LogDriver"]})


async def capabilities(request: web.Request) -> web.Response:
    return reply({"Cap": {"ReadLogs": True}})


async def start_logging(request: web.Request) -> web.Response:
    try:
        body = await read_json(request)
        await request.app[DRIVER_KEY].start_logging(body.get("File"), body.get("Info") or {})
    except RequestError as exc:
        log.warning("StartLogging refused", extra={"reason": str(exc)})
        return error(str(exc))
    return reply({})


async def stop_logging(request: web.Request) -> web.Response:
    # Always {}: an error here leaks the daemon's FIFO and plugin reference.
    try:
        body = await read_json(request)
        request.app[DRIVER_KEY].stop_logging(body.get("File"))
    except RequestError as exc:
        log.warning("StopLogging of an unknown FIFO", extra={"reason": str(exc)})
    return reply({})


def parse_read_config(body: dict[str, Any]) -> ReadRequest:
    cfg = body.get("Config") or {}
    if not isinstance(cfg, dict):
        raise RequestError("Config must be an object")
    tail = cfg.get("Tail", -1)
    if isinstance(tail, bool) or not isinstance(tail, int):
        raise RequestError("Config.Tail must be an integer")
    follow = cfg.get("Follow", False)
    if not isinstance(follow, bool):
        raise RequestError("Config.Follow must be true or false")
    return ReadRequest(
        since=parse_go_time(cfg.get("Since"), "Since"),
        until=parse_go_time(cfg.get("Until"), "Until"),
        tail=tail if tail >= 0 else -1,
        follow=follow,
    )


async def read_logs(request: web.Request) -> web.StreamResponse:
    try:
        body = await read_json(request)
        req = parse_read_config(body)
        driver = request.app[DRIVER_KEY]
        stream: AsyncGenerator[bytes, None] = driver.read_logs(body.get("Info") or {}, req)
        first = await anext(stream, None)
    except RequestError as exc:
        return error(str(exc), 400)
    resp = web.StreamResponse(headers={"Content-Type": STREAM_CONTENT_TYPE})
    await resp.prepare(request)
    try:
        chunk = first
        while chunk is not None:
            if chunk:
                await resp.write(chunk)
            transport = request.transport
            if transport is None or transport.is_closing():
                break  # the daemon hung up (`docker logs -f` interrupted)
            chunk = await anext(stream, None)
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        await stream.aclose()
    return resp


async def get_status(request: web.Request) -> web.Response:
    doc = observe.status(request.app[DRIVER_KEY])
    return web.Response(body=json.dumps(doc, indent=1).encode(), content_type="application/json")


async def get_metrics(request: web.Request) -> web.Response:
    resp = web.Response(body=observe.metrics_text(request.app[DRIVER_KEY]))
    resp.headers["Content-Type"] = observe.CONTENT_TYPE_LATEST
    return resp


def build_metrics_app(driver: Driver) -> web.Application:
    """Only /metrics and /status: what the optional TCP listener serves."""
    app = web.Application(client_max_size=1024)
    app[DRIVER_KEY] = driver
    app.router.add_get("/status", get_status)
    app.router.add_get("/metrics", get_metrics)
    return app


@web.middleware
async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every API call's answer time goes to /metrics (StopLogging must answer within 2 s)."""
    started = time.monotonic()
    try:
        return await handler(request)
    finally:
        resource = request.match_info.route.resource
        endpoint = resource.canonical if resource is not None else "other"
        request.app[DRIVER_KEY].request_times.observe(endpoint, time.monotonic() - started)


def build_refusal_app(message: str) -> web.Application:
    """The plugin's API when it must not touch its state (see stateguard.py): Capabilities and
    Activate as usual, so that `docker run` and `docker logs` reach StartLogging and ReadLogs and
    print `message`; every other call answers {"Err": message} with status 500 (with 200, dockerd
    reads a ReadLogs answer as a log stream and prints "error decoding log message")."""

    async def refuse(request: web.Request) -> web.Response:
        return error(message, 500)

    async def refusing_status(request: web.Request) -> web.Response:
        # `logdriver status` shows why: the refusal is its one warning.
        return web.json_response({
            "refusing": message, "shipper": "down", "store": {}, "containers": [],
            "warnings": [f"refusing every call: {message}"]})

    async def refusing_metrics(request: web.Request) -> web.Response:
        resp = web.Response(body=b"# HELP logdriver_refusing 1 while the plugin refuses every call "
                                 b"(a wrong state folder; see /status)\n"
                                 b"# TYPE logdriver_refusing gauge\nlogdriver_refusing 1.0\n")
        resp.headers["Content-Type"] = observe.CONTENT_TYPE_LATEST
        return resp

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    return _route(app, {"/{call:.*}": refuse}, refusing_status, refusing_metrics)


def build_app(driver: Driver) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[timed])
    app[DRIVER_KEY] = driver
    calls = {"/LogDriver.StartLogging": start_logging, "/LogDriver.StopLogging": stop_logging,
             "/LogDriver.ReadLogs": read_logs}
    return _route(app, calls, get_status, get_metrics)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _route(app: web.Application, calls: Mapping[str, Handler], status: Handler,
           metrics: Handler) -> web.Application:
    """Both apps' routes: Docker's handshake (POST /Plugin.Activate, /LogDriver.Capabilities),
    then ``calls`` (POST path -> handler, in order: aiohttp tries routes as added), then
    GET /status and /metrics."""
    app.router.add_post("/Plugin.Activate", activate)
    app.router.add_post("/LogDriver.Capabilities", capabilities)
    for path, handler in calls.items():
        app.router.add_post(path, handler)
    app.router.add_get("/status", status)
    app.router.add_get("/metrics", metrics)
    return app
