"""The plugin API end to end in-process: request shapes, FIFO ingestion, ReadLogs, restart."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from logdriver.api import build_app, parse_go_time
from logdriver.delivery import InProcessDelivery
from logdriver.driver import Driver, RequestError
from logdriver.framing import Entry, decode_frames, encode_entry, to_entry
from logdriver.store import Store

from .helpers import T0, entry, frames

CID = "c" * 64


class Daemon:
    """Plays dockerd: makes FIFOs, holds them O_RDWR, writes frames, calls the plugin."""

    def __init__(self, client: TestClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.fds: dict[str, int] = {}
        self.n = 0

    def fifo(self) -> str:
        self.n += 1
        path = str(self.root / (f"{self.n:x}".rjust(64, "0")))
        os.mkfifo(path, 0o700)
        self.fds[path] = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        return path

    def write(self, path: str, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fds[path], view):]

    def close(self, path: str) -> None:
        os.close(self.fds.pop(path))
        os.unlink(path)

    async def call(self, method: str, body: Any = None, raw: bytes | None = None) -> Any:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        resp = await self.client.post(f"/{method}", data=data)
        assert resp.headers["Content-Type"].startswith("application/vnd.docker.plugins.v1+json")
        return resp.status, await resp.json()

    async def start(self, path: str, cid: str = CID, config: dict[str, str] | None = None) -> Any:
        info = {"ContainerID": cid, "ContainerName": "/t", "Config": config or {},
                "ContainerEnv": None, "ContainerLabels": None, "LogPath": "",
                "DaemonName": "docker"}
        return await self.call("LogDriver.StartLogging", {"File": path, "Info": info})

    async def read(self, cid: str = CID, **cfg: Any) -> list[Entry]:
        body = {"Info": {"ContainerID": cid},
                "Config": {"Since": "0001-01-01T00:00:00Z", "Until": "0001-01-01T00:00:00Z",
                           "Tail": -1, "Follow": False} | cfg}
        resp = await self.client.post("/LogDriver.ReadLogs", data=json.dumps(body))
        assert resp.status == 200
        data = await resp.read()
        return [to_entry(m) for _o, _l, m in decode_frames(data)]


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    fifo_root = tmp_path / "logging"
    fifo_root.mkdir()
    driver = Driver(Store(tmp_path / "state", disk_budget=1 << 30),
                    delivery=InProcessDelivery(), fifo_root=str(fifo_root),
                    stop_eof_timeout=0.2)
    await driver.start()
    async with TestClient(TestServer(build_app(driver))) as client:
        d = Daemon(client, fifo_root)
        d.driver = driver  # type: ignore[attr-defined]
        yield d
        await driver.close()
        for path in list(d.fds):
            d.close(path)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


async def test_activate_and_capabilities_have_docker_shapes(daemon: Daemon) -> None:
    assert await daemon.call("Plugin.Activate") == (200, {"Implements": ["LogDriver"]})
    assert await daemon.call("LogDriver.Capabilities") == (200, {"Cap": {"ReadLogs": True}})


async def test_logged_lines_come_back_with_newlines(daemon: Daemon, kernel_twin: str) -> None:
    path = daemon.fifo()
    assert await daemon.start(path) == (200, {})
    daemon.write(path, frames(100))
    await settle()
    got = await daemon.read()
    assert [e.line for e in got] == [b"line %06d\n" % i for i in range(100)]
    assert [e.time_nano for e in got] == [entry(i).time_nano for i in range(100)]


async def test_stop_logging_drains_the_pipe_first(daemon: Daemon) -> None:
    path = daemon.fifo()
    await daemon.start(path)
    daemon.write(path, frames(500))
    assert await daemon.call("LogDriver.StopLogging", {"File": path}) == (200, {})
    daemon.close(path)
    assert len(await daemon.read()) == 500


async def test_tail_since_until(daemon: Daemon, kernel_twin: str) -> None:
    path = daemon.fifo()
    await daemon.start(path)
    daemon.write(path, frames(100))
    await settle()
    assert [e.line for e in await daemon.read(Tail=3)] == [b"line %06d\n" % i for i in (97, 98, 99)]
    assert await daemon.read(Tail=0) == []
    since = "2023-11-14T22:13:20.00005Z"  # T0 + 50 us: entry 50 on
    assert parse_go_time(since, "Since") == T0 + 50_000
    assert [e.line for e in await daemon.read(Since=since)][0] == b"line 000050\n"
    assert len(await daemon.read(Until=since)) == 51
    assert len(await daemon.read(Since=since, Tail=10)) == 10
    assert len(await daemon.read(Tail=70, Until=since)) == 21  # tail first, then the bounds


async def test_zone_offsets_in_times_are_honoured() -> None:
    assert parse_go_time("2023-11-14T23:13:20.00005+01:00", "Since") == T0 + 50_000
    assert parse_go_time("0001-01-01T00:00:00Z", "Since") == 0
    assert parse_go_time("2023-11-15T22:12:20.00005+23:59", "Since") == T0 + 50_000
    for bad in ("2023-11-14T23:13:20+99:99", "2023-11-14T23:13:20-24:00",
                "2023-11-14T23:13:20+01:60"):
        with pytest.raises(RequestError, match="Since has a zone offset out of range"):
            parse_go_time(bad, "Since")


async def test_partial_pieces_come_back_joined_by_docker(daemon: Daemon, kernel_twin: str) -> None:
    path = daemon.fifo()
    await daemon.start(path)
    pieces = [Entry("stdout", T0, b"a" * 16384, True, "id1", 1, False),
              Entry("stdout", T0, b"b" * 100, True, "id1", 2, True)]
    daemon.write(path, b"".join(encode_entry(p) for p in pieces) + frames(1, start=1))
    await settle()
    got = await daemon.read()
    assert b"".join(e.line for e in got) == b"a" * 16384 + b"b" * 100 + b"\n" + b"line 000001\n"


async def test_follow_ends_when_stop_logging_arrives(daemon: Daemon, kernel_twin: str) -> None:
    path = daemon.fifo()
    await daemon.start(path)
    daemon.write(path, frames(5))
    await settle()
    follow = asyncio.create_task(daemon.read(Follow=True))
    await settle()
    daemon.write(path, frames(5, start=5))
    await settle()
    assert not follow.done()
    await daemon.call("LogDriver.StopLogging", {"File": path})
    got = await asyncio.wait_for(follow, 5)
    assert [e.line for e in got] == [b"line %06d\n" % i for i in range(10)]


async def test_follow_with_tail_zero_sees_only_new_lines(daemon: Daemon) -> None:
    path = daemon.fifo()
    await daemon.start(path)
    daemon.write(path, frames(5))
    await settle()
    follow = asyncio.create_task(daemon.read(Follow=True, Tail=0))
    await settle()
    daemon.write(path, frames(2, start=5))
    await settle()
    await daemon.call("LogDriver.StopLogging", {"File": path})
    assert [e.line for e in await asyncio.wait_for(follow, 5)] == [b"line 000005\n",
                                                                    b"line 000006\n"]


async def test_docker_logs_on_stopped_container_keeps_history(daemon: Daemon) -> None:
    path = daemon.fifo()
    await daemon.start(path)
    daemon.write(path, frames(10))
    await daemon.call("LogDriver.StopLogging", {"File": path})
    daemon.close(path)
    clog = daemon.driver.store.logs[CID]  # type: ignore[attr-defined]
    stopped_at = clog.stopped_at
    meta = (clog.path / "meta.json").stat()
    for _ in range(2):  # what `docker logs` does on a stopped container
        for _ in range(500):  # a FIFO's note goes after StopLogging's answer, in a thread
            if not clog.recorded_fifos():
                break
            await asyncio.sleep(0.01)
        assert clog.recorded_fifos() == []
        again = daemon.fifo()
        assert await daemon.start(again) == (200, {})
        assert clog.recorded_fifos() == [again]  # a restart of the plugin would re-open it
        assert len(await daemon.read()) == 10
        await daemon.call("LogDriver.StopLogging", {"File": again})
        daemon.close(again)
    assert clog.stopped_at == stopped_at
    # Nothing in meta.json changed: it was not rewritten (no fsync + rename per `docker logs`).
    after = (clog.path / "meta.json").stat()
    assert (after.st_ino, after.st_mtime_ns) == (meta.st_ino, meta.st_mtime_ns)


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"max-sise": "1m"}, "'max-sise' (did you mean 'max-size'?)"),
        ({"max-size": "lots"}, "'max-size'"),
        ({"max-file": "0"}, "'max-file'"),
        ({"compress": "maybe"}, "'compress'"),
        ({"mode": "fast"}, "'mode'"),
        ({"env-regex": "("}, "'env-regex'"),
        ({"bogus": "1"}, "unknown log-opt 'bogus'"),
    ],
)
async def test_bad_log_opts_fail_start_naming_the_option(
    daemon: Daemon, config: dict[str, str], needle: str
) -> None:
    status, body = await daemon.start(daemon.fifo(), config=config)
    assert status == 200 and needle in body["Err"]
    assert daemon.driver.readers == {}  # type: ignore[attr-defined]


async def test_docker_own_log_opts_are_accepted(daemon: Daemon) -> None:
    config = {"mode": "non-blocking", "max-buffer-size": "4m", "max-size": "10m", "max-file": "3",
              "compress": "true", "tag": "{{.Name}}", "labels": "a,b", "labels-regex": "^x",
              "env": "A", "env-regex": "^B", "cache-disabled": "false", "cache-max-size": "5m"}
    assert await daemon.start(daemon.fifo(), config=config) == (200, {})


@pytest.mark.parametrize(
    "file",
    ["/etc/passwd", "/run/docker/logging/../../../etc/passwd", "relative", "", 42, None],
)
async def test_files_outside_the_fifo_dir_are_refused(daemon: Daemon, file: Any) -> None:
    status, body = await daemon.call("LogDriver.StartLogging",
                                     {"File": file, "Info": {"ContainerID": CID}})
    assert "File must be" in body["Err"]


async def test_symlink_in_place_of_a_fifo_is_refused(daemon: Daemon, tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_text("x")
    link = daemon.root / ("f" * 64)
    link.symlink_to(target)
    status, body = await daemon.start(str(link))
    assert "not a FIFO" in body["Err"]


@pytest.mark.parametrize("cid", ["abc", "C" * 64, "../" + "a" * 61, 7])
async def test_bad_container_ids_are_refused(daemon: Daemon, cid: Any) -> None:
    status, body = await daemon.start(daemon.fifo(), cid=cid)
    assert "ContainerID" in body["Err"]


async def test_malformed_json_gets_a_clear_error(daemon: Daemon) -> None:
    status, body = await daemon.call("LogDriver.StartLogging", raw=b"{nope")
    assert status == 200 and "not valid JSON" in body["Err"]
    status, body = await daemon.call("LogDriver.StartLogging", raw=b"[1]")
    assert "JSON object" in body["Err"]
    assert await daemon.call("LogDriver.StopLogging", raw=b"\xff") == (200, {})
    resp = await daemon.client.post("/LogDriver.ReadLogs", data=b'{"Config": {"Tail": "x"}}')
    assert resp.status == 400 and "Tail" in (await resp.json())["Err"]


async def test_corrupt_frames_are_counted_and_the_rest_is_kept(
        daemon: Daemon, kernel_twin: str) -> None:
    path = daemon.fifo()
    await daemon.start(path)
    daemon.write(path, frames(3) + b"\x00\x00\x00\x20" + b"\x99" * 32 + frames(3, start=3))
    await settle()
    assert [e.line for e in await daemon.read()] == [b"line %06d\n" % i for i in range(6)]
    assert daemon.driver.corrupt_frames == 1  # type: ignore[attr-defined]


async def test_restart_reopens_running_fifos_and_keeps_a_half_read_frame(tmp_path: Path) -> None:
    fifo_root = tmp_path / "logging"
    fifo_root.mkdir()
    state = tmp_path / "state"
    first = Driver(Store(state, disk_budget=1 << 30),
                   delivery=InProcessDelivery(), fifo_root=str(fifo_root))
    await first.start()
    async with TestClient(TestServer(build_app(first))) as client:
        d = Daemon(client, fifo_root)
        path = d.fifo()
        await d.start(path)
        data = frames(100)
        d.write(path, data[:-10])  # the plugin reads part of the last frame...
        await settle()
    # ...then dies without any shutdown: drop the driver without close().
    for reader in first.readers.values():
        reader._detach()
    d.write(path, data[-10:] + frames(50, start=100))  # the container goes on writing
    second = Driver(Store(state, disk_budget=1 << 30),
                    delivery=InProcessDelivery(), fifo_root=str(fifo_root))
    await second.start()
    async with TestClient(TestServer(build_app(second))) as client:
        d2 = Daemon(client, fifo_root)
        got = await d2.read()
        assert [e.line for e in got] == [b"line %06d\n" % i for i in range(150)]
        await second.close()
    os.close(d.fds.pop(path))


async def _plugin_dies_after_three_lines(tmp_path: Path) -> tuple[Driver, Daemon, str]:
    """A plugin that read 3 lines from a container's FIFO, then died (no close)."""
    fifo_root = tmp_path / "logging"
    fifo_root.mkdir()
    first = Driver(Store(tmp_path / "state", disk_budget=1 << 30),
                   delivery=InProcessDelivery(), fifo_root=str(fifo_root))
    await first.start()
    async with TestClient(TestServer(build_app(first))) as client:
        d = Daemon(client, fifo_root)
        path = d.fifo()
        await d.start(path)
        d.write(path, frames(3))
        await settle()
    for reader in first.readers.values():
        reader._detach()
    return first, d, path


async def test_restart_reopens_a_fifo_an_older_plugin_listed_in_meta_json(
    tmp_path: Path,
) -> None:
    fifo_root, state = tmp_path / "logging", tmp_path / "state"
    first, d, path = await _plugin_dies_after_three_lines(tmp_path)
    # What an older plugin left: the FIFO listed in meta.json's "fifos", no note beside it.
    cdir = first.store.logs[CID].path
    meta = json.loads((cdir / "meta.json").read_text())
    (cdir / "meta.json").write_text(json.dumps(meta | {"fifos": [path]}))
    for note in (cdir / "fifos").iterdir():
        note.unlink()
    d.write(path, frames(2, start=3))
    second = Driver(Store(state, disk_budget=1 << 30),
                    delivery=InProcessDelivery(), fifo_root=str(fifo_root))
    await second.start()
    assert list(second.readers) == [path]
    clog = second.store.logs[CID]
    assert clog.recorded_fifos() == [path]
    assert "fifos" not in json.loads((cdir / "meta.json").read_text())
    async with TestClient(TestServer(build_app(second))) as client:
        got = await Daemon(client, fifo_root).read()
        assert [e.line for e in got] == [b"line %06d\n" % i for i in range(5)]
        await second.close()
    os.close(d.fds.pop(path))


async def test_fifo_closed_while_the_plugin_was_down_counts_as_stopped(tmp_path: Path) -> None:
    fifo_root, state = tmp_path / "logging", tmp_path / "state"
    _first, d, path = await _plugin_dies_after_three_lines(tmp_path)  # the plugin dies...
    os.close(d.fds.pop(path))  # ...and the daemon closes its end meanwhile
    second = Driver(Store(state, disk_budget=1 << 30),
                    delivery=InProcessDelivery(), fifo_root=str(fifo_root))
    await second.start()
    clog = second.store.logs[CID]
    assert not clog.running and second.readers == {}
    assert clog.recorded_fifos() == []
    assert clog.stop_count == 1
    await second.close()


async def test_status_and_metrics_are_served_on_the_socket(daemon: Daemon) -> None:
    path = daemon.fifo()
    assert (await daemon.start(path))[0] == 200
    daemon.write(path, frames(20))
    for _ in range(100):
        resp = await daemon.client.get("/status")
        doc = await resp.json()
        if doc["containers"] and doc["containers"][0]["received_lines"] == 20:
            break
        await asyncio.sleep(0.02)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/json")
    assert doc["containers"][0]["name"] == "t" and doc["containers"][0]["running"] is True
    resp = await daemon.client.get("/metrics")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    assert f'logdriver_received_lines_total{{container="{CID}"}} 20.0' in await resp.text()


async def test_metrics_time_every_api_call_and_show_the_process(daemon: Daemon) -> None:
    path = daemon.fifo()
    assert (await daemon.start(path))[0] == 200
    await daemon.call("LogDriver.StopLogging", {"File": path})
    await daemon.call("LogDriver.StopLogging", {"File": path})
    text = await (await daemon.client.get("/metrics")).text()
    assert ('logdriver_api_request_duration_seconds_count{endpoint="/LogDriver.StopLogging"} 2.0'
            in text), text
    assert 'logdriver_api_request_duration_seconds_count{endpoint="/LogDriver.StartLogging"} 1.0' \
        in text
    assert re.search(r"^logdriver_tasks \d+\.0$", text, re.M)
    assert re.search(r"^process_open_fds \d+\.0$", text, re.M)
