"""Composition root: settings -> store -> driver -> HTTP app on the plugin socket; lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

import sinks

from .api import build_app, build_metrics_app, build_refusal_app
from .delivery import ShipperLink
from .delivery.budget import batch_memory
from .driver import FIFO_ROOT, Driver, state_lock
from .options import OptionError, parse_size
from .stateguard import StateFolderError, check_state_folder
from .store import Store

log = logging.getLogger(__name__)

DEFAULT_NAME = "logdriver"
DEFAULT_STATE_DIR = "/var/lib/logdriver"
MIN_DISK_BUDGET = 16 << 20  # bytes; a smaller budget cannot hold one container's history
DEFAULT_DISK_BUDGET = "4g"  # history and spool of all containers: see docs/operators.md
PLUGIN_SOCKET_DIR = "/run/docker/plugins"
SHUTDOWN_SECONDS = 10.0  # SIGTERM -> exit, at most
HTTP_CLOSE_SECONDS = 3.0  # of which: stop serving calls (follow streams end first)
LOG_LEVELS = ("debug", "info", "warning", "error")
METRICS_HOST = "127.0.0.1"
SYNC_SECONDS = 1.0  # how often written history is flushed to disk (in the background)


@dataclass(frozen=True, slots=True)
class Settings:
    name: str = DEFAULT_NAME
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    socket: Path | None = None
    disk_budget: int = 4 << 30
    fifo_root: str = FIFO_ROOT
    log_level: str = "info"
    metrics_port: int = 0  # 0: no TCP listener; else /metrics and /status on 127.0.0.1:PORT

    @property
    def socket_path(self) -> Path:
        return self.socket or Path(PLUGIN_SOCKET_DIR) / f"{self.name}.sock"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: str | None) -> Settings:
        """Environment (LOGDRIVER_*) first, then non-None ``overrides`` (command-line flags)."""
        env = dict(os.environ if env is None else env)
        raw = {
            "name": env.get("LOGDRIVER_NAME"),
            "state_dir": env.get("LOGDRIVER_STATE_DIR"),
            "socket": env.get("LOGDRIVER_SOCKET"),
            "disk_budget": env.get("LOGDRIVER_DISK_BUDGET"),
            "fifo_root": env.get("LOGDRIVER_FIFO_ROOT"),
            "log_level": env.get("LOGDRIVER_LOG_LEVEL") or env.get("LOG_LEVEL"),
            "metrics_port": env.get("LOGDRIVER_METRICS_PORT"),
        }
        raw.update({k: v for k, v in overrides.items() if v is not None})
        name = raw["name"] or DEFAULT_NAME
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"invalid plugin name {name!r}")
        budget_text = raw["disk_budget"] or DEFAULT_DISK_BUDGET
        try:
            budget = parse_size("disk-budget", budget_text, binary=True)
        except OptionError as exc:
            raise ValueError(f"disk budget (LOGDRIVER_DISK_BUDGET / --disk-budget) "
                             f"{budget_text!r}: not a size like 4g (binary units: 4g = 4 GiB)"
                             ) from exc
        if budget < MIN_DISK_BUDGET:
            raise ValueError(f"disk budget (LOGDRIVER_DISK_BUDGET / --disk-budget) "
                             f"{budget_text!r}: at least {MIN_DISK_BUDGET >> 20}m: below that "
                             "the store evicts every stopped container's history at once")
        batch_memory(env)  # the shipper reads it: a bad value fails here, naming it
        sinks.check_batch_env(env)  # every sink's batch defaults: a bad one fails here too
        port_text = raw["metrics_port"] or "0"
        if not port_text.isdigit() or int(port_text) > 65535:
            raise ValueError(f"metrics port (LOGDRIVER_METRICS_PORT) {port_text!r}: a TCP port "
                             "number (0: off)")
        level = (raw["log_level"] or "info").lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"log level (LOGDRIVER_LOG_LEVEL / LOG_LEVEL / --log-level) "
                             f"{level!r}: use one of {', '.join(LOG_LEVELS)}")
        return cls(
            name=name,
            state_dir=Path(raw["state_dir"] or DEFAULT_STATE_DIR),
            socket=Path(raw["socket"]) if raw["socket"] else None,
            disk_budget=budget,
            fifo_root=raw["fifo_root"] or FIFO_ROOT,
            log_level=level,
            metrics_port=int(port_text),
        )


def _bind_unix(path: Path) -> socket.socket:
    """A listening unix socket at ``path`` readable and writable by root only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # stale socket of a plugin that died
        else:
            raise RuntimeError(f"another process is listening on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _bind_metrics(port: int) -> socket.socket | None:
    """A listening TCP socket on ``METRICS_HOST:port`` for /metrics and /status, None when
    ``port`` is 0 (off); RuntimeError naming LOGDRIVER_METRICS_PORT when the address cannot be
    had (another program holds the port)."""
    if not port:
        return None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp's TCPSite
        sock.bind((METRICS_HOST, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise RuntimeError(f"metrics port {port} (LOGDRIVER_METRICS_PORT) on {METRICS_HOST}: "
                           f"{exc.strerror or exc}") from exc
    sock.setblocking(False)
    return sock


def _raise_fd_limit() -> None:
    """Each running container costs about four descriptors (FIFO, pending file, segment, index):
    take the hard limit so hundreds of containers fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Plugin:
    """Runs the plugin in phases: startup, serve, shutdown (ordered, with a deadline)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.state_dir, disk_budget=settings.disk_budget)
        env = dict(os.environ)  # sink options fall back on it; the shipper process runs with it
        self.shipper = ShipperLink(env, log_level=settings.log_level)
        self.store.on_remove = self.shipper.forget
        self.driver = Driver(self.store, delivery=self.shipper, env=env,
                             hostname=socket.gethostname(), fifo_root=settings.fifo_root)
        self._runner: web.AppRunner | None = None
        self._metrics_runner: web.AppRunner | None = None
        self._lock_fd = -1
        self._sync_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.refusal = ""  # why the plugin serves only errors (a wrong state folder), or ""

    async def _serve_refusal(self, message: str) -> None:
        """Answer every call with `message`, touching neither the state folder nor the FIFOs: the
        containers' output waits in their pipes until the operator fixes the mount."""
        self.refusal = message
        log.error("refusing to start", extra={"state_dir": str(self.settings.state_dir),
                                              "error": message})
        self._runner = web.AppRunner(build_refusal_app(message), handle_signals=False,
                                     access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, _bind_unix(self.settings.socket_path)).start()

    async def startup(self) -> None:
        log.debug("settings", extra={"plugin": self.settings.name,
                                     "state_dir": str(self.settings.state_dir),
                                     "socket": str(self.settings.socket_path),
                                     "disk_budget": self.settings.disk_budget})
        _raise_fd_limit()
        try:
            check_state_folder(self.settings.state_dir, self.settings.fifo_root)
        except StateFolderError as exc:
            await self._serve_refusal(str(exc))
            return
        self._lock_fd = state_lock(self.settings.state_dir)
        os.chmod(self.settings.state_dir, 0o700)
        try:  # before anything runs: a taken port fails the start with nothing left behind
            metrics_sock = _bind_metrics(self.settings.metrics_port)
        except RuntimeError:
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise
        await self.shipper.start()
        await self.driver.start()
        self._runner = web.AppRunner(build_app(self.driver), handle_signals=False,
                                     access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = _bind_unix(self.settings.socket_path)
        site = web.SockSite(self._runner, sock)
        await site.start()
        if metrics_sock is not None:
            # Prometheus scrapes over TCP; loopback only: the status names containers.
            self._metrics_runner = web.AppRunner(build_metrics_app(self.driver), access_log=None,
                                                 handle_signals=False)
            await self._metrics_runner.setup()
            await web.SockSite(self._metrics_runner, metrics_sock).start()
            log.info("metrics listener", extra={"address": f"{METRICS_HOST}:"
                                                           f"{self.settings.metrics_port}"})
        self._sync_task = asyncio.create_task(self._sync_loop(), name="sync")
        log.info("serving", extra={"socket": str(self.settings.socket_path),
                                   "state_dir": str(self.settings.state_dir),
                                   "containers": len(self.store.logs),
                                   "reopened_fifos": len(self.driver.readers)})

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(SYNC_SECONDS)
            for clog in list(self.store.logs.values()):
                if clog.dirty:
                    clog.sync()

    def request_stop(self) -> None:
        self._stopped.set()

    async def serve(self) -> None:
        await self._stopped.wait()

    async def shutdown(self) -> None:
        """Stop accepting, end follow streams, take what the pipes hold, flush, exit."""
        t0 = time.monotonic()
        if self.refusal:
            if self._runner is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._runner.cleanup(), HTTP_CLOSE_SECONDS)
            with contextlib.suppress(FileNotFoundError):
                self.settings.socket_path.unlink()
            return
        self.driver.begin_close()
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
        if self._metrics_runner is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._metrics_runner.cleanup(), 1.0)
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._runner.cleanup(), HTTP_CLOSE_SECONDS)
        await self.driver.close()
        with contextlib.suppress(FileNotFoundError):
            self.settings.socket_path.unlink()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        log.info("stopped", extra={"seconds": round(time.monotonic() - t0, 3)})


async def run(settings: Settings) -> None:
    plugin = Plugin(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, plugin.request_stop)
    await plugin.startup()
    try:
        await plugin.serve()
    finally:
        try:
            await asyncio.wait_for(plugin.shutdown(), SHUTDOWN_SECONDS)
        except TimeoutError:
            log.error("shutdown took longer than its deadline; exiting anyway",
                      extra={"seconds": SHUTDOWN_SECONDS})
