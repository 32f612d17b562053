"""A private Docker registry for the tests: Debian's `docker-registry` (distribution 2.8) on
127.0.0.1, with its own config and storage in a temp folder, started and stopped by the test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .daemon import SETUP_HINT, HarnessError
from .helpers import tail_of, terminate

REGISTRY_BIN = "docker-registry"

CONFIG = """\
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {root}
http:
  addr: 127.0.0.1:{port}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    """`docker-registry serve` on 127.0.0.1:port. dockerd treats 127.0.0.0/8 as an insecure
    registry without configuration (moby registry/config.go: loopback is always insecure), so the
    daemon pushes and pulls over plain HTTP."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "registry.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Registry:
        binary = shutil.which(REGISTRY_BIN)
        if binary is None:
            raise HarnessError(f"{REGISTRY_BIN} is not installed: {SETUP_HINT}")
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        config = self.root / "config.yml"
        config.write_text(CONFIG.format(root=self.root / "data", port=self.port))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([binary, "serve", str(config)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"{REGISTRY_BIN} exited with code {self.proc.returncode}:\n"
                                   f"{tail_of(self.log_path, 4000)}")
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise HarnessError(f"{REGISTRY_BIN} did not answer on {self.address} within {timeout} s:\n"
                           f"{tail_of(self.log_path, 4000)}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            terminate(self.proc, 10, lambda: None)
