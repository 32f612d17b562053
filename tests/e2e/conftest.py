"""Session fixtures of the end-to-end tests: a real, isolated Docker daemon of the engine named by
$LOGDRIVER_E2E_ENGINE (20.10, 26.1, 28.5; see daemon.engine), a busybox image, and the plugin
running as a legacy log-driver plugin that this daemon finds by its socket.

Nothing here is skipped: if the engine cannot be had or the daemon cannot start, the tests fail
loudly, since they are the proof that the plugin works with the real thing.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .daemon import ENGINE_ENV, FIFO_DIR, SETUP_HINT, Daemon, HarnessError, build_image, engine
from .helpers import Docker, PluginProcess, tail_of

# Log files whose new lines are attached to the report of a failing test: label -> path.
LOG_FILES: dict[str, Path] = {}
# Engine name -> versions (dockerd, containerd, runc) of the session's daemon, for the summary.
ENGINES_SEEN: dict[str, dict[str, str]] = {}


def _fail(msg: str) -> None:
    banner = "!" * 78
    pytest.fail(f"\n{banner}\nE2E HARNESS: {msg}\n{banner}", pytrace=False)


# -- reporting ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _log_offsets(request: pytest.FixtureRequest) -> None:
    offsets = {}
    for label, path in LOG_FILES.items():
        try:
            offsets[label] = path.stat().st_size
        except OSError:
            offsets[label] = 0
    request.node._e2e_log_offsets = offsets


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when in ("setup", "call", "teardown"):
        offsets = getattr(item, "_e2e_log_offsets", {})
        for label, path in LOG_FILES.items():
            limit = 8_000 if label == "dockerd" else 30_000
            rep.sections.append(
                (
                    f"{label} log, during this test ({path})",
                    tail_of(path, limit, offsets.get(label, 0)),
                )
            )


def _drain_daemon_fifos(daemon_pid: int, stop: threading.Event) -> None:
    """Reads and discards whatever the daemon writes into its log FIFOs, until `stop`."""
    fds: dict[str, int] = {}
    try:
        while not stop.is_set():
            try:
                links = [
                    os.readlink(f"/proc/{daemon_pid}/fd/{fd}")
                    for fd in os.listdir(f"/proc/{daemon_pid}/fd")
                ]
            except OSError:
                links = []
            for path in links:
                if path.startswith(FIFO_DIR) and path not in fds:
                    try:
                        fds[path] = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
                    except OSError:
                        pass
            for fd in fds.values():
                try:
                    while os.read(fd, 1 << 20):
                        pass
                except OSError:
                    pass
            stop.wait(0.1)
    finally:
        for fd in fds.values():
            os.close(fd)


def remove_containers(docker: Docker, daemon: Daemon) -> None:
    """Removes every container. A container whose log pipe nobody reads any more (a plugin that
    stopped reading) cannot even be killed (moby#42705): then the harness drains the daemon's log
    FIFOs itself, and tries again."""
    try:
        docker.remove_all_containers(timeout=60)
        return
    except AssertionError as e:
        print(
            f"e2e: removing containers is stuck ({e}); draining the daemon's log FIFOs",
            file=sys.stderr,
        )
    if daemon.proc is None:
        return
    stop = threading.Event()
    drainer = threading.Thread(
        target=_drain_daemon_fifos, args=(daemon.proc.pid, stop), daemon=True
    )
    drainer.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                docker.remove_all_containers(timeout=30)
                if not docker("ps", "-aq", timeout=30).stdout.split():
                    return
            except AssertionError as e:
                print(f"e2e: removing containers: {e}", file=sys.stderr)
            time.sleep(1)
        print("e2e: some containers could not be removed", file=sys.stderr)
    finally:
        stop.set()
        drainer.join(timeout=10)


def _fifos() -> set[str]:
    try:
        return {os.path.join(FIFO_DIR, n) for n in os.listdir(FIFO_DIR)}
    except OSError:
        return set()


def _held_files() -> set[str]:
    held = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                held.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return held


def _remove_orphan_fifos(before: set[str]) -> None:
    """Docker 20.10 leaves the FIFO behind when StartLogging fails (a rejected --log-opt): remove
    the FIFOs that appeared during the session and that no process holds open, in two looks 2 s
    apart (another daemon may be between creating a FIFO and opening it)."""
    candidates = _fifos() - before
    if not candidates:
        return
    candidates -= _held_files()
    time.sleep(2)
    for path in candidates - _held_files():
        try:
            if stat.S_ISFIFO(os.lstat(path).st_mode):
                os.unlink(path)
        except OSError:
            pass


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Daemon]:
    if os.geteuid() != 0:
        _fail("the end-to-end tests run a Docker daemon and must run as root.")
    try:
        eng = engine()
    except HarnessError as e:
        _fail(str(e))
    if not os.access(eng.dockerd, os.X_OK):
        _fail(f"dockerd is not installed ({eng.dockerd} not found): {SETUP_HINT}.")
    fifos_before = _fifos()
    root = Path(tempfile.mkdtemp(prefix="ld-e2e-", dir="/tmp"))
    daemon = Daemon(root, eng=eng)
    LOG_FILES["dockerd"] = daemon.log_path
    client_config = root / "client-config"
    client_config.mkdir()
    docker = Docker(daemon.host, client_config)
    try:
        try:
            daemon.start(docker)
        except HarnessError as e:
            _fail(str(e))
        ENGINES_SEEN[eng.name or "(unchecked)"] = daemon.versions
        yield daemon
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            remove_containers(docker, daemon)
        daemon.stop()
        _remove_orphan_fifos(fifos_before)
        LOG_FILES.pop("dockerd", None)
        daemon.cleanup()
        if root.exists():
            print(f"e2e: could not remove all of {root}", file=sys.stderr)


# -- the image ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def docker(dockerd: Daemon) -> Docker:
    """The docker CLI bound to the tests' daemon, with the busybox test image imported."""
    client = Docker(dockerd.host, dockerd.root / "client-config")
    try:
        client.image = build_image(client)
    except HarnessError as e:
        _fail(str(e))
    return client


# -- the plugin -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def plugin_session(docker: Docker, dockerd: Daemon) -> Iterator[PluginProcess]:
    name = f"logdriver-e2e-{os.getpid()}"
    plugin = PluginProcess(name, dockerd.root / "state", dockerd.root / "plugin.log")
    LOG_FILES["plugin"] = plugin.log_path
    try:
        plugin.start()
    except (RuntimeError, OSError) as e:
        _fail(f"the plugin does not start: {e}")
    try:
        yield plugin
    finally:
        # Containers first: removing one that logs to a dead plugin makes the daemon wait on it.
        remove_containers(docker, dockerd)
        rc = plugin.stop()
        if rc not in (0, None):
            print(f"e2e: plugin exited with code {rc} on SIGTERM", file=sys.stderr)
        LOG_FILES.pop("plugin", None)


@pytest.fixture
def plugin(plugin_session: PluginProcess) -> Iterator[PluginProcess]:
    """The running plugin (restarted first if an earlier test left it dead). The test fails if the
    plugin dies during it without the test having killed it itself."""
    if not plugin_session.alive:
        try:
            plugin_session.start()
        except (RuntimeError, OSError) as e:
            _fail(f"the plugin does not restart: {e}")
    starts = plugin_session.starts
    yield plugin_session
    if not plugin_session.alive:
        rc = plugin_session.proc.returncode if plugin_session.proc else None
        pytest.fail(
            f"the plugin process died during this test (exit code {rc}, "
            f"{plugin_session.starts - starts} restarts by the test)",
            pytrace=False,
        )


@pytest.fixture
def ours(plugin: PluginProcess) -> str:
    """The --log-driver name of the running plugin."""
    return plugin.name


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The engine the session ran on, and the fault suite's table of lines written / delivered /
    duplicated / dropped."""
    from . import report

    for name, versions in ENGINES_SEEN.items():
        terminalreporter.write_line(
            f"e2e engine {ENGINE_ENV}={name}: "
            + ", ".join(f"{k} {v}" for k, v in versions.items()))
    if not report.ROWS:
        return
    text = report.table()
    terminalreporter.write_sep("=", "fault report")
    terminalreporter.write(text)
    try:
        Path(report.REPORT_PATH).write_text(text)
    except OSError as exc:
        terminalreporter.write_line(f"(could not write {report.REPORT_PATH}: {exc})")
