"""The fake Splunk HEC (tests/fakes/hec.py) checked against a sender written by others: Docker
20.10's BUILT-IN `splunk` log driver, which runs inside the daemon (so 127.0.0.1 is the host's
loopback even for a `--network none` container).

Every request Docker's driver makes must be accepted (no 4xx), and what the fake records must be
exactly what the container printed, as Docker's driver renders it:
- invalid UTF-8 becomes U+FFFD per invalid byte (Go's encoding/json), not per maximal invalid
  sequence as Python's "replace" does: b"\\xe6\\x97 " gives two U+FFFD, not one;
- inline: event {"line": str, "source": "stdout"|"stderr", "tag": the 12-hex container id};
- json: the same, but a line that parses as JSON is embedded as that JSON value, and invalid UTF-8
  inside such a line is sent as raw bytes (Go's json.Valid does not check it);
- raw: event "<tag> <line>" as one string, and blank or whitespace-only lines are not sent;
- envelope {"event", "time": "%f" string, "host": the daemon's hostname}; source, sourcetype and
  index only when set; envelopes back to back in one POST per flush, no Content-Type header.
Also: an OPTIONS check (no token) at container start, a channel header only with
splunk-index-acknowledgment=true, flushes on a 5 s tick and at stop, and a failed flush kept and
posted again at the next one.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
from typing import Any

import pytest

from tests.fakes.common import FakeProcess
from tests.fakes.hec import FakeHec

from .corpus import Sleep, Text
from .daemon import Daemon
from .helpers import Docker, tail_of, unique_name

TOKEN = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
EVENT_PATH = "/services/collector/event/1.0"

# What the container prints on stdout, one entry per line (no newline), then one stderr line.
STDOUT_LINES = [
    b"plain ascii line",
    "caf\u00e9 \u65e5\u672c\u8a9e \U0001f680 \u00fc\u00df".encode(),
    b"invalid \xff\xfe bytes",
    b"truncated \xe6\x97 sequence",
    b"overlong \xc0\xaf and surrogate \xed\xa0\x80 end",
    b'{"k": [1, 2.5, null], "s": "v\\u00e9", "nested": {"t": true}}',
    b"42",
    b"",
    b"   ",
    b"tab\there and a trailing space ",
    b"<html> & \"quotes\" \\ backslash",
    b'{"json with invalid utf-8": "\xff\xfe", "ok": 1}',
]
STDERR_LINE = b"this went to stderr"
# A pause between the streams: Docker's splunk driver in raw format builds each event with
# append(l.prefix, msg.Line...) on a prefix slice with spare capacity (moby v20.10.24
# daemon/logger/splunk/splunk.go), so a stdout and a stderr line logged at the same moment can
# garble each other ("plain ascii lineerr" was seen once). That is Docker's race, not the fake's.
SCRIPT = ";".join(
    [Text("stdout", b"".join(line + b"\n" for line in STDOUT_LINES)).script(),
     Sleep(0.5).script(),
     Text("stderr", STDERR_LINE + b"\n").script()]
)
TIME_RE = re.compile(r"^\d{10}\.\d{6}$")


def go_string(data: bytes) -> str:
    """How Go's encoding/json renders a string holding `data`: each byte that does not start a
    valid UTF-8 sequence becomes one U+FFFD."""
    out = []
    i = 0
    while i < len(data):
        for n in (1, 2, 3, 4):
            try:
                out.append(data[i : i + n].decode("utf-8"))
            except UnicodeDecodeError:
                continue
            i += n
            break
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)


def go_json_line(data: bytes) -> Any:
    """What Docker's `json` format puts in event.line: the JSON value if the line parses (Go's
    json.Valid does not check UTF-8 inside strings: such bytes are sent raw, and the fake reads
    them as U+FFFD), else the line as a Go string."""
    try:
        return json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return go_string(data)


def expected_lines(fmt: str, tag: str) -> tuple[list[Any], list[Any]]:
    """(stdout lines, stderr lines) as FakeHec.lines() should give them."""
    if fmt == "raw":
        keep = [line for line in STDOUT_LINES if line.strip()]
        return [f"{tag} {go_string(line)}" for line in keep], [f"{tag} {STDERR_LINE.decode()}"]
    if fmt == "json":
        return [go_json_line(line) for line in STDOUT_LINES], [STDERR_LINE.decode()]
    return [go_string(line) for line in STDOUT_LINES], [STDERR_LINE.decode()]


def run_splunk_container(
    docker: Docker, hec: FakeHec, script: str, **opts: str
) -> tuple[str, dict[str, Any]]:
    """Runs `script` with Docker's splunk driver pointed at `hec`; waits for it to exit."""
    log_opts = {
        "splunk-url": hec.url,
        "splunk-token": hec.token,
        "splunk-insecureskipverify": "true",
        **opts,
    }
    name = docker.run_container("splunk", script, log_opts, name=unique_name("splunk"))
    try:
        code = docker.wait(name, timeout=60)
        assert code == 0, f"the container exited {code}"
        return name, docker.inspect(name)
    finally:
        docker.remove(name)


def split_by_source(hec: FakeHec, fmt: str) -> tuple[list[Any], list[Any]]:
    if fmt == "raw":  # no source field: the stderr line is the one that says so
        lines = hec.lines()
        err = [line for line in lines if line.endswith(STDERR_LINE.decode())]
        return [line for line in lines if line not in err], err
    out, err = [], []
    for envelope in hec.events:
        (out if envelope["event"]["source"] == "stdout" else err).append(envelope["event"]["line"])
    return out, err


def assert_only_clean_posts(hec: FakeHec, *, gzipped: bool) -> None:
    """Every request was an OPTIONS check or a POST of events to /services/collector/event/1.0,
    and none was refused."""
    assert set(hec.status_counts) == {200}, hec.describe(20)
    posts = [r for r in hec.requests if r.method == "POST"]
    assert posts, hec.describe()
    for r in hec.requests:
        assert r.path == EVENT_PATH, r.summary()
        assert r.method in ("POST", "OPTIONS"), r.summary()
    for r in posts:
        assert r.headers["Authorization"] == f"Splunk {TOKEN}"
        if gzipped:
            assert r.headers.get("Content-Encoding") == "gzip"
            assert r.body[:2] == b"\x1f\x8b" and gzip.decompress(r.body) == r.decoded
        else:
            assert "Content-Encoding" not in r.headers
        # Envelopes back to back, no separator, no array.
        assert r.decoded is not None and r.decoded.startswith(b'{"event":')
        assert b"}\n{" not in r.decoded and b"},{" not in r.decoded
        assert r.decoded.count(b'}{"event":') == len(r.items) - 1


@pytest.mark.parametrize("fmt", ["inline", "json", "raw"])
def test_docker_splunk_driver_formats_are_accepted(docker: Docker, fmt: str) -> None:
    with FakeHec(TOKEN) as hec:
        started = time.time()
        name, info = run_splunk_container(docker, hec, SCRIPT, **{"splunk-format": fmt})
        tag = info["Id"][:12]
        want_out, want_err = expected_lines(fmt, tag)
        hec.wait_for(lambda: len(hec.events) >= len(want_out) + len(want_err), timeout=15,
                     what="every line delivered")
        assert_only_clean_posts(hec, gzipped=False)
        got_out, got_err = split_by_source(hec, fmt)
        assert got_out == want_out
        assert got_err == want_err
        host = socket.gethostname()
        for envelope in hec.events:
            assert set(envelope) == {"event", "time", "host"}, envelope
            assert envelope["host"] == host
            assert isinstance(envelope["time"], str) and TIME_RE.match(envelope["time"])
            assert started - 5 <= float(envelope["time"]) <= time.time() + 1
            if fmt != "raw":
                assert set(envelope["event"]) == {"line", "source", "tag"}, envelope
                assert envelope["event"]["tag"] == tag


def test_docker_splunk_driver_gzip_is_accepted(docker: Docker) -> None:
    with FakeHec(TOKEN) as hec:
        _, info = run_splunk_container(
            docker, hec, SCRIPT, **{"splunk-format": "inline", "splunk-gzip": "true"}
        )
        want_out, want_err = expected_lines("inline", info["Id"][:12])
        hec.wait_for(lambda: len(hec.events) >= len(want_out) + len(want_err), timeout=15)
        assert_only_clean_posts(hec, gzipped=True)
        assert split_by_source(hec, "inline") == (want_out, want_err)


def test_docker_splunk_driver_with_index_acknowledgement(docker: Docker) -> None:
    """The token has indexer acknowledgement on: with splunk-index-acknowledgment=true Docker's
    driver sends a channel GUID (the same on every request of a container) and is accepted with
    ackIds, which it never polls. Without that option it sends no channel, and every send is
    refused with 400/10 (what a real HEC does too)."""
    with FakeHec(TOKEN, ack=True) as hec:
        run_splunk_container(docker, hec, SCRIPT, **{"splunk-index-acknowledgment": "true"})
        n = len(STDOUT_LINES) + 1
        hec.wait_for(lambda: len(hec.events) >= n, timeout=15)
        assert_only_clean_posts(hec, gzipped=False)
        posts = [r for r in hec.requests if r.method == "POST"]
        assert len(hec.channels) == 1, hec.channels
        assert all(r.headers["X-Splunk-Request-Channel"] == hec.channels[0] for r in posts)
        assert [json.loads(r.answer)["ackId"] for r in posts] == list(range(len(posts)))
        assert hec.ack_queries == 0
        assert hec.pending_acks() == {hec.channels[0]: list(range(len(posts)))}

    with FakeHec(TOKEN, ack=True) as hec:
        run_splunk_container(docker, hec, "echo one")
        hec.wait_for(lambda: hec.count(400) >= 1, timeout=15)
        refused = [r for r in hec.requests if r.method == "POST"]
        assert [json.loads(r.answer) for r in refused] == [
            {"text": "Data channel is missing", "code": 10}
        ] * len(refused)
        assert "X-Splunk-Request-Channel" not in refused[0].headers
        assert hec.events == []


def test_docker_splunk_driver_posts_every_5_seconds(docker: Docker) -> None:
    """Batching cadence: what is buffered is posted on a 5 s tick while the container runs, and the
    rest when it stops."""
    with FakeHec(TOKEN) as hec:
        t0 = time.time()
        run_splunk_container(docker, hec, "echo first; sleep 6.5; echo second")
        finished = time.time()
        hec.wait_for(lambda: len(hec.events) >= 2, timeout=15)
        posts = [r for r in hec.requests if r.method == "POST"]
        assert [len(r.items) for r in posts] == [1, 1], hec.describe()
        assert hec.lines() == ["first", "second"]
        assert 4 <= posts[0].time - t0 <= 6.5, posts[0].time - t0
        assert posts[1].time >= posts[0].time + 1.5
        assert posts[1].time <= finished + 2


def test_subprocess_fake_killed_then_restarted_on_its_port(
    docker: Docker, dockerd: Daemon, tmp_path
) -> None:
    """The fake as a child process (`python -m tests.fakes.hec`), SIGKILLed while Docker's driver
    holds a line: its 5 s flush fails (connection refused), the fake comes back on the same port,
    and the driver posts the kept line again with the rest when the container stops."""
    log_start = dockerd.log_path.stat().st_size
    with FakeProcess("hec", "--token", TOKEN, record=tmp_path / "hec.jsonl") as hec:
        port = hec.port
        name = docker.run_container(
            "splunk", "echo first; sleep 8; echo second",
            {"splunk-url": hec.url, "splunk-token": TOKEN}, name=unique_name("splunk-kill"),
        )
        t0 = time.monotonic()
        try:
            hec.kill()
            time.sleep(max(0.0, 6.5 - (time.monotonic() - t0)))  # past the failing 5 s flush
            hec.start()
            assert hec.port == port
            assert docker.wait(name, timeout=30) == 0
            hec.wait_for(lambda: len(hec.items()) >= 2, timeout=15)
        finally:
            docker.remove(name)
        lines = [item["event"]["line"] for item in hec.items()]
        assert lines == ["first", "second"]
        assert [(r["method"], r["status"]) for r in hec.recorded()][0] == ("OPTIONS", 200)
        assert all(r["status"] == 200 for r in hec.recorded())
    log = tail_of(dockerd.log_path, 200_000, log_start)
    assert "Error while sending logs" in log and "connection refused" in log, log[-3000:]
