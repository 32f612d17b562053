"""Hostile requests on the plugin socket: malformed JSON, wrong types, huge bodies, FIFO paths
that lead outside the FIFO dir, bad container IDs. Each is refused with a clear error, the next
good request is served, and no file outside the state dir is opened or created.

Run twice: in-process (aiohttp's TestClient on build_app) and over the real unix socket that
``Plugin.startup`` serves. Also: the socket and everything in the state dir are root-only.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from logdriver.api import CONTENT_TYPE, MAX_REQUEST_BYTES, build_app
from logdriver.app import Plugin, Settings
from logdriver.delivery import InProcessDelivery
from logdriver.driver import Driver
from logdriver.framing import decode_frames
from logdriver.store import Store

from .helpers import frames

CID = "e" * 64
HEX = "f" * 64  # the name every attack below gives its FIFO


@dataclass
class Env:
    """The plugin under attack, a decoy dir outside its reach, and a way to call it."""

    tmp: Path
    post: Callable[[str, bytes], Any]  # -> (status, content type, parsed or raw body)
    fifo_root: Path
    state: Path
    decoy: Path
    fds: dict[str, int] = field(default_factory=dict)
    n: int = 0

    def fifo(self) -> str:
        self.n += 1
        path = str(self.fifo_root / f"{self.n:064x}")
        os.mkfifo(path, 0o700)
        self.fds[path] = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        return path


def _snapshot(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """Every entry under ``root`` with its inode, mode, size and mtime: a file created, replaced,
    written or chmod-ed shows up as a difference."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.join(dirpath, name)] = (st.st_ino, st.st_mode, st.st_size,
                                               st.st_mtime_ns)
    return out


def _open_paths() -> set[str]:
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # closed while we looked (the listing's own fd)
    return out


def _make_decoy(decoy: Path) -> None:
    """What an attacker would point the plugin at: a FIFO someone writes to, a secret file."""
    (decoy / "sub").mkdir(parents=True)
    os.mkfifo(decoy / HEX, 0o600)
    (decoy / "secret").write_text("do not read\n")
    (decoy / "sub" / "x").write_text("")


@pytest.fixture(params=["in-process", "unix-socket"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    fifo_root = tmp_path / "logging"
    fifo_root.mkdir()
    state = tmp_path / "state"
    decoy = tmp_path / "decoy"
    _make_decoy(decoy)
    writer = os.open(decoy / HEX, os.O_RDWR | os.O_NONBLOCK)  # the decoy FIFO's "daemon"
    os.write(writer, frames(3))
    if request.param == "in-process":
        driver = Driver(Store(state, disk_budget=1 << 30),
                        delivery=InProcessDelivery(), fifo_root=str(fifo_root),
                        stop_eof_timeout=0.2)
        await driver.start()
        async with TestClient(TestServer(build_app(driver))) as client:
            async def post(method: str, body: bytes) -> Any:
                resp = await client.post(f"/{method}", data=io.BytesIO(body))
                return resp.status, resp.headers.get("Content-Type", ""), await resp.read()
            e = Env(tmp_path, post, fifo_root, state, decoy)
            yield e
            await driver.close()
    else:
        sock = tmp_path / "run" / "p.sock"
        plugin = Plugin(Settings(state_dir=state, socket=sock, fifo_root=str(fifo_root)))
        await plugin.startup()
        try:
            async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(sock))
                                             ) as session:
                async def post(method: str, body: bytes) -> Any:
                    async with session.post(f"http://docker/{method}",
                                            data=io.BytesIO(body)) as resp:
                        return resp.status, resp.headers.get("Content-Type", ""), \
                            await resp.read()
                e = Env(tmp_path, post, fifo_root, state, decoy)
                yield e
        finally:
            await plugin.shutdown()
    os.close(writer)
    for fd in e.fds.values():
        os.close(fd)


def _info(cid: Any = CID, config: Any = None, **extra: Any) -> dict[str, Any]:
    return {"ContainerID": cid, "ContainerName": "/t", "Config": {} if config is None else config,
            **extra}


async def _good_request_still_served(e: Env) -> None:
    """A real StartLogging, a few lines, ReadLogs and StopLogging, all answered."""
    path = e.fifo()
    status, _ctype, body = await e.post("LogDriver.StartLogging",
                                        json.dumps({"File": path, "Info": _info()}).encode())
    assert (status, json.loads(body)) == (200, {})
    os.write(e.fds[path], frames(4))
    for _ in range(100):
        status, _ctype, body = await e.post("LogDriver.ReadLogs", json.dumps(
            {"Info": {"ContainerID": CID}, "Config": {"Tail": -1, "Follow": False}}).encode())
        assert status == 200
        if len(list(decode_frames(body))) >= 4:
            break
        await asyncio.sleep(0.02)
    assert [bytes(m.line) for _o, _l, m in decode_frames(body)][-4:] == \
        [b"line %06d\n" % i for i in range(4)]
    status, _ctype, body = await e.post("LogDriver.StopLogging",
                                        json.dumps({"File": path}).encode())
    assert (status, json.loads(body)) == (200, {})


class Watch:
    """Asserts a request touched nothing outside the state dir: the decoy dir is unchanged, no
    new descriptor points outside the state dir and FIFO root, and os.open was never called on a
    path that resolves outside them."""

    def __init__(self, e: Env, monkeypatch: pytest.MonkeyPatch) -> None:
        self.e = e
        self.opened: list[str] = []
        real_open = os.open

        def spy(path: Any, flags: int, *args: Any, **kw: Any) -> int:
            fd = real_open(path, flags, *args, **kw)
            if isinstance(path, (str, os.PathLike)):
                try:
                    self.opened.append(os.readlink(f"/proc/self/fd/{fd}"))
                except OSError:
                    self.opened.append(os.path.realpath(path))
            return fd

        monkeypatch.setattr(os, "open", spy)
        self.decoy = _snapshot(e.decoy)
        self.fds = _open_paths()

    def allowed(self, path: str) -> bool:
        inside = (str(self.e.state.resolve()), str(self.e.fifo_root.resolve()))
        return any(path == p or path.startswith(p + os.sep) for p in inside)

    def check(self, what: str) -> None:
        assert _snapshot(self.e.decoy) == self.decoy, what
        new = {p for p in _open_paths() - self.fds if p.startswith("/")}
        assert not {p for p in new if not self.allowed(p)}, (what, new)
        assert not [p for p in self.opened if not self.allowed(p)], (what, self.opened)
        self.opened.clear()


def _bodies(e: Env) -> list[tuple[str, bytes, str]]:
    """(method, body, a word the error must hold) for every hostile StartLogging/ReadLogs."""
    root = str(e.fifo_root)
    link_dir = e.fifo_root / "d"
    if not link_dir.is_symlink():
        link_dir.symlink_to(e.decoy / "sub")  # root/d/.. is the decoy dir to the kernel
        (e.fifo_root / ("a" * 64)).symlink_to(e.decoy / HEX)  # a link to a FIFO elsewhere
        (e.fifo_root / ("b" * 64)).symlink_to(e.decoy / "secret")  # ... to a regular file
        (e.fifo_root / ("c" * 64)).write_text("")  # a regular file in the FIFO dir
        os.link(e.decoy / "secret", e.fifo_root / ("d" * 64))  # a hard link to one elsewhere
        (e.fifo_root / ("9" * 64)).mkdir()

    def start(file: Any, info: Any = None, **kw: Any) -> bytes:
        body = {"File": file, "Info": _info() if info is None else info, **kw}
        return json.dumps(body).encode()

    def read(config: Any, info: Any = None) -> bytes:
        return json.dumps({"Info": {"ContainerID": CID} if info is None else info,
                           "Config": config}).encode()

    s, r = "LogDriver.StartLogging", "LogDriver.ReadLogs"
    good = e.fifo()
    table = [
        # not JSON, or not an object
        (s, b"{nope", "JSON"), (s, b"\xff\xfe", "JSON"), (s, b"[1]", "object"),
        (s, b'"File"', "object"), (s, b"1", "object"), (s, b"null", "object"),
        (r, b"{nope", "JSON"), (r, b"[]", "object"),
        # wrong types, field by field
        *[(s, start(v), "File") for v in (1, 1.5, True, [], {}, None, [good])],
        *[(s, start(good, v), "Info") for v in ("x", 1, [1], True)],
        *[(s, start(good, _info(v)), "ContainerID")
          for v in (1, None, [], {}, "C" * 64, "e" * 63, "e" * 65, " " + "e" * 63,
                    "../" + "e" * 61, "e" * 63 + "\n", "e" * 64 + "\n", "é" * 64)],
        *[(s, start(good, _info(config=v)), "Config") for v in ("x", [1], 7, True)],
        *[(s, start(good, _info(config={"max-size": v})), "max-size")
          for v in (1, None, [], {}, True)],
        (s, start(good, _info(config={"tag": "{{.ID", "http-url": "http://h/"})), "tag"),
        *[(r, read(v), "Config") for v in ("x", [1], 7)],
        *[(r, read({"Tail": v}), "Tail") for v in ("1", 1.5, True, [], {})],
        *[(r, read({"Follow": v}), "Follow") for v in ("yes", 1, [], {})],
        *[(r, read({k: v}), k) for k in ("Since", "Until")
          for v in (1, [], {}, "yesterday", "2023-13-01T00:00:00Z", "2023-02-30T00:00:00Z",
                    "2023-01-01T25:00:00Z", "2023-01-01T00:61:00Z")],
        *[(r, read({}, {"ContainerID": v}), "ContainerID") for v in (1, "C" * 64, "../x")],
        (r, read({}, "x"), "Info"),
        # FIFO paths that lead elsewhere
        (s, start(str(e.decoy / HEX)), "File"),
        (s, start(f"{root}/../decoy/{HEX}"), "File"),
        (s, start(f"{root}/d/../{HEX}"), "File"),  # `..` after a symlink: the decoy FIFO
        (s, start(f"{root}/./{HEX}"), "File"),
        (s, start(f"{root}/{HEX}/"), "File"),
        (s, start(f"{root}/{'A' * 64}"), "File"),
        (s, start(f"{root}/{'a' * 63}"), "File"),
        (s, start(f"{root}/{'a' * 64}\x00"), "File"),
        (s, start("relative/" + HEX), "File"),
        (s, start(f"{root}/{'a' * 64}"), "FIFO"),  # symlink to the decoy FIFO
        (s, start(f"{root}/{'b' * 64}"), "FIFO"),  # symlink to a regular file elsewhere
        (s, start(f"{root}/{'c' * 64}"), "FIFO"),  # a regular file
        (s, start(f"{root}/{'d' * 64}"), "FIFO"),  # a hard link to a file elsewhere
        (s, start(f"{root}/{'9' * 64}"), "FIFO"),  # a directory
        (s, start(f"{root}/{'8' * 64}"), "exist"),  # nothing there
    ]
    return table


async def test_hostile_requests_are_refused_clearly_and_touch_nothing_outside(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = env
    table = _bodies(e)
    watch = Watch(e, monkeypatch)
    for method, body, word in table:
        status, ctype, raw = await e.post(method, body)
        what = f"{method} {body[:120]!r}"
        assert ctype.startswith(CONTENT_TYPE), what
        answer = json.loads(raw)
        assert word.lower() in answer.get("Err", "").lower(), (what, answer)
        assert status == (400 if method.endswith("ReadLogs") else 200), what
        watch.check(what)
    # StopLogging always answers {} (an error leaks the daemon's FIFO), whatever it is sent.
    for body in (b"{nope", b"[]", b'{"File": 1}', json.dumps({"File": str(e.decoy / HEX)})
                 .encode(), json.dumps({"File": f"{e.fifo_root}/d/../{HEX}"}).encode()):
        status, _ctype, raw = await e.post("LogDriver.StopLogging", body)
        assert (status, json.loads(raw)) == (200, {}), body
        watch.check(f"StopLogging {body!r}")
    await _good_request_still_served(e)
    watch.check("the good request")
    assert os.read(os.open(e.decoy / HEX, os.O_RDONLY | os.O_NONBLOCK), 1 << 16) == frames(3)


async def test_a_huge_body_is_refused_and_the_plugin_keeps_serving(env: Env) -> None:
    e = env
    decoy = _snapshot(e.decoy)
    huge = json.dumps({"File": e.fifo(), "Info": _info(config={"x": "y" * MAX_REQUEST_BYTES})})
    for method, want in (("LogDriver.StartLogging", 200), ("LogDriver.ReadLogs", 400)):
        status, ctype, raw = await e.post(method, huge.encode())
        assert status == want, (method, status, raw[:200])
        assert ctype.startswith(CONTENT_TYPE) and "too large" in json.loads(raw)["Err"]
    status, ctype, raw = await e.post("LogDriver.StopLogging", huge.encode())
    assert (status, json.loads(raw)) == (200, {})  # StopLogging always answers {}
    assert _snapshot(e.decoy) == decoy
    await _good_request_still_served(e)


async def test_the_watch_sees_a_file_opened_outside(env: Env, monkeypatch: pytest.MonkeyPatch
                                                    ) -> None:
    """The check above can fail: opening a decoy file, or leaving a descriptor on one, is seen."""
    watch = Watch(env, monkeypatch)
    fd = os.open(env.decoy / "secret", os.O_RDONLY)
    try:
        with pytest.raises(AssertionError):
            watch.check("an open outside")
    finally:
        os.close(fd)
    (env.decoy / "new").write_text("")
    with pytest.raises(AssertionError):
        watch.check("a file created outside")
