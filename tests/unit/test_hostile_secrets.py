"""Secrets and file modes, through the real start path (Settings -> Plugin.startup, the shipper
process, the unix socket): tokens, API keys and passwords never reach the logs (DEBUG), /status,
/metrics, dead-letter files or StartLogging's errors, even from a sink that echoes them; the
socket and everything in the state dir are root-only."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from logdriver.app import Plugin, Settings
from logdriver.selflog import KeyValueFormatter
from sinks.util.retry import REASON_BODY_CHARS
from tests.fakes.http import FakeHttp

from .helpers import frames

S_ENV = "SplunkEnvTok3n-9f8e7d6c5b4a"  # SPLUNK_TOKEN
S_OPT = "SplunkOptTok3n-1a2b3c4d5e6f"  # splunk-token
D_ENV = "DatadogEnvK3y-0123456789ab"  # DD_API_KEY
D_OPT = "DatadogOptK3y-ba9876543210"  # datadog-api-key
B_TOK = "BearerTok3n-5f5f5f5f5f5f5f"  # http-bearer-token
P_PWD = "BasicPassw0rd-e1e2e3e4e5e6"  # http-password
H_VAL = "HeaderVal-c0ffeec0ffee1234"  # http-headers X-Api-Key
Q_TOK = "QueryTok3n-77aa88bb99cc00"  # a token in http-url's query string
O_HDR = "OtlpHeaderS3cret-4d4d4d4d4d"  # otlp-headers
L_PWD = "LokiUrlPassw0rd-7e7e7e7e7e"  # the password in a loki-url / otlp-endpoint
SECRETS = (S_ENV, S_OPT, D_ENV, D_OPT, B_TOK, P_PWD, H_VAL, Q_TOK, O_HDR, L_PWD)


def echoing(secrets: tuple[str, ...]) -> bytes:
    """A 400 body quoting the credentials it was sent, the last one cut where a reason's quote of
    the body ends (so a scrub that only replaces whole secrets lets its first half through)."""
    head = "bad request from " + " ".join(secrets) + " "
    pad = REASON_BODY_CHARS - len(head) - 12
    return (head + "p" * pad + secrets[-1]).encode()


@pytest.fixture
def loud_logs() -> Iterator[io.StringIO]:
    """Every log line of this process at DEBUG, formatted as the plugin formats them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(KeyValueFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(old)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Mode bits must come from the code, not from a careful umask."""
    old = os.umask(0)
    yield
    os.umask(old)


def _leaks(text: str) -> list[str]:
    """Secrets found in ``text`` (whole or their first 10 characters), each with its context."""
    return [text[max(0, i - 60):i + 30] for s in SECRETS if (i := text.find(s[:10])) >= 0]


async def test_secrets_stay_out_of_logs_status_metrics_dead_letters_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
    loud_logs: io.StringIO, open_umask: None,
) -> None:
    monkeypatch.setenv("SPLUNK_TOKEN", S_ENV)
    monkeypatch.setenv("DD_API_KEY", D_ENV)
    fifo_root = tmp_path / "logging"
    fifo_root.mkdir(mode=0o700)
    state = tmp_path / "state"
    sock = tmp_path / "run" / "p.sock"
    # One receiver per container and sink: each quotes back only the credentials it is sent.
    hec, dd, rx = FakeHttp().start(), FakeHttp().start(), FakeHttp().start()
    hec_b, dd_b, rx_b = FakeHttp().start(), FakeHttp().start(), FakeHttp().start()
    plugin = Plugin(Settings(state_dir=state, socket=sock, fifo_root=str(fifo_root),
                             log_level="debug"))
    fds: list[int] = []
    errors: list[str] = []
    try:
        await plugin.startup()
        async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(sock))
                                         ) as session:
            async def call(method: str, body: Any) -> Any:
                async with session.post(f"http://docker/{method}", data=json.dumps(body)) as r:
                    return await r.json()

            async def start(n: int, config: dict[str, str]) -> Any:
                path = str(fifo_root / f"{n:064x}")
                os.mkfifo(path, 0o700)
                fds.append(os.open(path, os.O_RDWR | os.O_NONBLOCK))
                answer = await call("LogDriver.StartLogging", {"File": path, "Info": {
                    "ContainerID": f"{n:064x}", "ContainerName": f"/c{n}", "Config": config}})
                return fds[-1], answer

            # Errors StartLogging returns: a bad option next to a token, a malformed secret, a
            # sink that cannot be reached or that refuses the start-up check quoting the token.
            hec.fail_with(400, echoing((S_OPT,)))
            bad = [
                {"splunk-url": hec.url, "splunk-token": S_OPT, "splunk-gzip-level": "99"},
                {"splunk-url": hec.url, "splunk-token": S_OPT + "\n"},
                {"splunk-url": "http://127.0.0.1:1", "splunk-token": S_OPT},
                {"splunk-url": hec.url, "splunk-token": S_OPT},  # the check gets a 400
                {"splunk-url": hec.url, "splunk-tokn": S_OPT},
                {"datadog-api-key": D_OPT + "\x01"},
                {"datadog-api-key": D_OPT, "datadog-site": "nowhere"},
                {"http-url": f"{rx.url}/in?k={Q_TOK}", "http-format": "xml"},
                {"http-url": f"{rx.url}/in?k={Q_TOK}", "http-password": P_PWD},
                {"http-url": rx.url, "http-bearer-token": B_TOK, "http-user": "u",
                 "http-password": P_PWD},
                {"http-url": rx.url, "http-headers": f"X-Api-Key={H_VAL}\x01"},
                {"http-url": "http://" + B_TOK, "http-bearer-token": B_TOK, "batch-size": "x"},
                {"otlp-headers": f"Authorization: Bearer {O_HDR}"},
                {"otlp-headers": f"api-key=abc,Bearer {O_HDR}"},
                {"otlp-headers": O_HDR},
                {"otlp-headers": f"Authorization=Bearer%ZZ{O_HDR}"},
                {"http-url": rx.url, "http-headers": f"X-A=1;Authorization: Bearer {H_VAL}"},
                {"loki-url": f"user:{L_PWD}@lokihost:3100/loki/api/v1/push"},
                {"loki-url": f"http://127.0.0.1:1/x,user:{L_PWD}@lokihost:3100/x"},
                {"loki-url": f"http://user:{L_PWD}@bad host:3100/loki/api/v1/push"},
                {"loki-url": f"http://user:{L_PWD}@127.0.0.1:1/x", "loki-retries": "x"},
                {"otlp-endpoint": f"user:{L_PWD}@collector:4318"},
                {"otlp-logs-endpoint": f"user:{L_PWD}@collector:4318/v1/logs"},
            ]
            for i, config in enumerate(bad):
                _fd, answer = await start(100 + i, config)
                assert answer.get("Err"), config
                assert "ContainerID" not in answer["Err"], answer  # the config was checked
                errors.append(answer["Err"])

            # Two containers whose every sink refuses every batch for good (400, quoting the
            # credentials it got): dead letters.
            hec.fail_with(400, echoing((S_ENV,)))
            dd.fail_with(400, echoing((D_ENV,)))
            rx.fail_with(400, echoing((Q_TOK, B_TOK)))
            hec_b.fail_with(400, echoing((S_OPT,)))
            dd_b.fail_with(400, echoing((D_OPT,)))
            rx_b.fail_with(400, echoing((H_VAL, P_PWD)))
            quick = {"batch-wait": "20ms", "splunk-verify-connection": "false"}
            fd_a, answer = await start(1, quick | {
                "splunk-url": hec.url, "datadog-url": dd.url,
                "http-url": f"{rx.url}/a?api_key={Q_TOK}", "http-bearer-token": B_TOK})
            assert answer == {}, answer
            fd_b, answer = await start(2, quick | {
                "splunk-url": hec_b.url, "splunk-token": S_OPT, "datadog-url": dd_b.url,
                "datadog-api-key": D_OPT, "http-url": f"{rx_b.url}/b", "http-user": "u",
                "http-password": P_PWD, "http-headers": f"X-Api-Key={H_VAL}"})
            assert answer == {}, answer
            os.write(fd_a, frames(5))
            os.write(fd_b, frames(5))
            for _ in range(500):
                letters = list(state.rglob("deadletter-*"))
                if len(letters) == 6:
                    break
                await asyncio.sleep(0.02)
            assert len(letters) == 6, letters  # three sinks for each of two containers
            for _ in range(200):  # the shipper reports its counters about every second
                async with session.get("http://docker/status") as r:
                    status_text = await r.text()
                if sum(s["dead_letters"] for c in json.loads(status_text)["containers"]
                       for s in c["sinks"]) >= 6:
                    break
                await asyncio.sleep(0.05)
            assert '"failing"' in status_text or '"dead_letters": 5' in status_text
            async with session.get("http://docker/metrics") as r:
                metrics_text = await r.text()
            assert "logdriver_sink_dead_letters" in metrics_text
        # the plugin answered everything and all requests carried the right credentials
        assert any(rec.headers.get("Authorization") == f"Splunk {S_ENV}" for rec in hec.requests)
        assert any(rec.headers.get("DD-API-KEY") == D_ENV for rec in dd.requests)
    finally:
        await plugin.shutdown()
        for fd in fds:
            os.close(fd)
        for server in (hec, dd, rx, hec_b, dd_b, rx_b):
            server.close()

    dead = "".join(p.read_text() for p in letters)
    decoded = "".join(
        base64.b64decode(json.loads(line)["event_b64"]).decode("utf-8", "replace")
        for p in letters for line in p.read_text().splitlines())
    assert "bad request" in dead  # the reasons are there...
    captured = capfd.readouterr()
    places = {
        "StartLogging errors": "\n".join(errors),
        "plugin log": loud_logs.getvalue(),
        "shipper log (stderr)": captured.err,
        "stdout": captured.out,
        "/status": status_text,
        "/metrics": metrics_text,
        "dead-letter files": dead,
        "dead-letter events": decoded,
    }
    assert "sink refused a batch for good" in captured.err + loud_logs.getvalue()
    assert {where: _leaks(text) for where, text in places.items() if _leaks(text)} == {}

    # Root-only: the socket, the state dir and every file in it (segments, indexes, meta,
    # cursors, dead letters, the lock), even though the umask allowed everything.
    kinds = {p.name.split("-")[0].split(".")[-1] for p in state.rglob("*") if p.is_file()}
    assert {"deadletter", "cursor", "log", "idx", "json", "lock"} <= kinds, kinds
    modes = {str(p): stat.S_IMODE(p.lstat().st_mode) for p in [state, *state.rglob("*")]}
    assert {p: oct(m) for p, m in modes.items()
            if m & 0o077 or (Path(p).is_dir() and m != 0o700)} == {}


async def test_the_socket_is_root_only(tmp_path: Path, open_umask: None) -> None:
    fifo_root = tmp_path / "logging"
    fifo_root.mkdir()
    sock = tmp_path / "run" / "p.sock"
    plugin = Plugin(Settings(state_dir=tmp_path / "state", socket=sock, fifo_root=str(fifo_root)))
    await plugin.startup()
    try:
        st = sock.stat()
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    finally:
        await plugin.shutdown()
