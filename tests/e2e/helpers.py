"""Plumbing of the end-to-end tests: a Docker CLI bound to the tests' own daemon, the plugin as a
child process, and byte comparisons that say where two outputs part.

Standard library only. The fixtures that build these live in conftest.py.
"""

from __future__ import annotations

import calendar
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

# The docker.io client matches the 20.10 daemon it talks to; fall back to whatever `docker` is.
DOCKER_BIN = (
    os.environ.get("LOGDRIVER_E2E_DOCKER")
    or ("/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else None)
    or shutil.which("docker")
    or "docker"
)
PLUGIN_SOCKET_DIR = Path("/run/docker/plugins")
_names = itertools.count(1)


def unique_name(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def tail_of(path: Path, limit: int = 20_000, start: int = 0) -> str:
    """The end of a log file (from byte `start` on, at most `limit` bytes), as text."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            begin = max(start, size - limit)
            f.seek(begin)
            data = f.read()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    prefix = f"<... {begin - start} earlier bytes left out ...>\n" if begin > start else ""
    return prefix + data.decode("utf-8", "replace")


def _short(data: bytes, limit: int = 2000) -> str:
    text = data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + f"<... {len(text) - limit} more chars>"


class DockerError(AssertionError):
    pass


class Docker:
    """The docker CLI, pointed at one daemon by DOCKER_HOST (set per call, not in os.environ)."""

    def __init__(self, host: str, config_dir: Path, image: str = "") -> None:
        self.host = host
        self.config_dir = config_dir
        self.image = image
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")},
            "DOCKER_HOST": host,
            "DOCKER_CONFIG": str(config_dir),
            "DOCKER_CLI_HINTS": "false",
        }

    def __call__(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[bytes]:
        cmd = [DOCKER_BIN, *args]
        try:
            cp = subprocess.run(
                cmd,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                env=self.env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            raise DockerError(
                f"`{' '.join(cmd)}` did not finish within {timeout} s\n"
                f"stdout so far: {_short(e.stdout or b'')}\n"
                f"stderr so far: {_short(e.stderr or b'')}"
            ) from None
        if check and cp.returncode != 0:
            raise DockerError(
                f"`{' '.join(cmd)}` exited {cp.returncode}\n"
                f"stdout: {_short(cp.stdout)}\nstderr: {_short(cp.stderr)}"
            )
        return cp

    def popen(self, *args: str, **kwargs: object) -> subprocess.Popen[bytes]:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen([DOCKER_BIN, *args], env=self.env, **kwargs)  # type: ignore[call-overload]

    # -- containers ---------------------------------------------------------------------------
    def run_container(
        self,
        driver: str,
        script: str,
        log_opts: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        extra: Sequence[str] = (),
        check: bool = True,
        timeout: float = 120,
    ) -> str:
        """`docker run -d --network none` of `sh -c script` in the test image; returns the name."""
        name = name or unique_name("e2e")
        args = ["run", "-d", "--network", "none", "--name", name, "--log-driver", driver]
        for key, value in (log_opts or {}).items():
            args += ["--log-opt", f"{key}={value}"]
        args += [*extra, self.image, "sh", "-c", script]
        self(*args, check=check, timeout=timeout)
        return name

    def wait(self, name: str, timeout: float = 120) -> int:
        """Waits for the container to exit; returns its exit code."""
        cp = self("wait", name, timeout=timeout)
        return int(cp.stdout.strip() or b"-1")

    def wait_all(self, names: Iterable[str], timeout: float = 300) -> list[int]:
        names = list(names)
        cp = self("wait", *names, timeout=timeout)
        return [int(x) for x in cp.stdout.split()]

    def logs(self, name: str, *flags: str, timeout: float = 120) -> tuple[bytes, bytes]:
        """`docker logs FLAGS NAME`: the container's stdout and its stderr, captured separately."""
        cp = self("logs", *flags, name, timeout=timeout)
        return cp.stdout, cp.stderr

    def inspect(self, name: str) -> dict:  # type: ignore[type-arg]
        cp = self("inspect", name, timeout=60)
        return json.loads(cp.stdout)[0]  # type: ignore[no-any-return]

    def is_running(self, name: str) -> bool:
        return bool(self.inspect(name)["State"]["Running"])

    def remove_all_containers(self, timeout: float = 180) -> None:
        ids = self("ps", "-aq", timeout=60).stdout.split()
        if ids:
            self("rm", "-f", *(i.decode() for i in ids), check=False, timeout=timeout)

    def remove(self, *names: str, timeout: float = 180) -> None:
        if names:
            self("rm", "-f", *names, check=False, timeout=timeout)


# -- the plugin as a child process --------------------------------------------------------------
class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def plugin_call(
    socket_path: Path | str, method: str, body: bytes = b"", timeout: float = 5
) -> tuple[int, bytes]:
    """POST /<method> to a plugin socket as the daemon does; returns (status, body)."""
    conn = UnixHTTPConnection(str(socket_path), timeout=timeout)
    try:
        conn.request(
            "POST",
            f"/{method}",
            body=body,
            headers={"Accept": "application/vnd.docker.plugins.v1.2+json"},
        )
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def plugin_command() -> list[str]:
    """How to start the plugin from the venv the tests run in."""
    script = Path(sys.executable).parent / "logdriver"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "logdriver"]


class PluginProcess:
    """`logdriver serve --name NAME --state-dir DIR` in the background, output to a file."""

    def __init__(
        self, name: str, state_dir: Path, log_path: Path, extra_env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.state_dir = state_dir
        self.log_path = log_path
        self.socket_path = PLUGIN_SOCKET_DIR / f"{name}.sock"
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.unexpected_exits: list[int] = []
        self._lock = threading.Lock()

    @property
    def cmd(self) -> list[str]:
        return [*plugin_command(), "serve", "--name", self.name, "--state-dir", str(self.state_dir)]

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, limit: int = 20_000) -> str:
        return tail_of(self.log_path, limit)

    def _note(self, text: str) -> None:
        with open(self.log_path, "a") as f:
            f.write(f"\n===== e2e harness {time.strftime('%H:%M:%S')}: {text} =====\n")

    def start(self, timeout: float = 60) -> None:
        """Starts the plugin and waits until it answers POST /Plugin.Activate on its socket."""
        assert not self.alive, "plugin already running"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self._note(f"start #{self.starts}: {' '.join(self.cmd)}")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.extra_env}
        for key in ("LOGDRIVER_NAME", "LOGDRIVER_STATE_DIR", "LOGDRIVER_SOCKET"):
            env.pop(key, None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        last_error = "socket not there yet"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(
                    f"plugin `{' '.join(self.cmd)}` exited with code {rc} before answering "
                    f"/Plugin.Activate; its output:\n{self.log_tail()}"
                )
            if self.socket_path.exists():
                try:
                    status, body = plugin_call(self.socket_path, "Plugin.Activate", timeout=2)
                except OSError as e:
                    last_error = f"{type(e).__name__}: {e}"
                else:
                    if status == 200 and b"LogDriver" in body:
                        return
                    last_error = f"/Plugin.Activate answered {status} {body[:500]!r}"
            time.sleep(0.1)
        self.kill9()
        raise RuntimeError(
            f"plugin `{' '.join(self.cmd)}` did not answer /Plugin.Activate on {self.socket_path} "
            f"within {timeout} s (last: {last_error}); its output:\n{self.log_tail()}"
        )

    def kill9(self) -> None:
        """SIGKILL, as a crash would; waits for the process to be gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._note("kill -9")
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def restart(self, timeout: float = 60) -> None:
        """kill -9, then start again with the same name and state dir."""
        self.kill9()
        self.start(timeout=timeout)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM; SIGKILL if still running after `timeout`. Returns the exit code, None if
        it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self._note("SIGTERM")
        return terminate(self.proc, timeout,
                         lambda: self._note(f"still running {timeout} s after SIGTERM: SIGKILL"))


def terminate(
    proc: subprocess.Popen[bytes], timeout: float, on_kill: Callable[[], object]
) -> int | None:
    """SIGTERM ``proc``; after ``timeout`` s, ``on_kill()`` and SIGKILL. Returns the exit code,
    None if it had to be killed."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        on_kill()
        proc.kill()
        proc.wait(timeout=30)
        return None


# -- time stamps --------------------------------------------------------------------------------
TS_PATTERN = rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)"
TS_RE = re.compile(TS_PATTERN)
TS_SPACE_RE = re.compile(TS_PATTERN + rb" ")


def parse_ts(text: bytes | str) -> int:
    """RFC 3339 (nano) time -> nanoseconds since the epoch. Raises ValueError if malformed."""
    raw = text.encode() if isinstance(text, str) else text
    m = TS_RE.fullmatch(raw)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {raw!r}")
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or b"").ljust(9, b"0")
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    zone = m.group(8)
    if zone != b"Z":
        sign = 1 if zone[:1] == b"+" else -1
        secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return secs * 1_000_000_000 + int(frac)


def format_ts(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def split_timestamps(data: bytes) -> tuple[bytes, list[int], bytes]:
    """Output of `docker logs -t` -> (output without the "TIME " prefixes, the times in order,
    output with each prefix replaced by "<TS> " so that its shape can be compared)."""
    times = [parse_ts(m.group(0)[:-1]) for m in TS_SPACE_RE.finditer(data)]
    return TS_SPACE_RE.sub(b"", data), times, TS_SPACE_RE.sub(b"<TS> ", data)


# -- comparisons --------------------------------------------------------------------------------
def describe_difference(actual: bytes, expected: bytes, context: int = 120) -> str:
    """Where `actual` and `expected` first differ, in a form that fits on a screen."""
    if actual == expected:
        return "identical"
    n = min(len(actual), len(expected))
    i = next((k for k in range(n) if actual[k] != expected[k]), n)
    line_no = expected.count(b"\n", 0, i) + 1
    lo = max(0, i - context)
    nl = b"\n"
    return (
        f"lengths: actual {len(actual)}, expected {len(expected)}; first difference at byte {i} "
        f"(line {line_no} of expected)\n"
        f"  expected[{lo}:{i + context}] = {expected[lo : i + context]!r}\n"
        f"  actual  [{lo}:{i + context}] = {actual[lo : i + context]!r}\n"
        f"  lines: actual {actual.count(nl)}, expected {expected.count(nl)}"
    )


def assert_bytes_equal(actual: bytes, expected: bytes, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: outputs differ\n{describe_difference(actual, expected)}")


def read_stream_with_times(stream: object, into: list[tuple[float, bytes]]) -> threading.Thread:
    """Reads a pipe in a thread, recording (monotonic time, chunk) for every chunk."""

    def pump() -> None:
        fd = stream.fileno()  # type: ignore[attr-defined]
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            into.append((time.monotonic(), chunk))

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    return t
