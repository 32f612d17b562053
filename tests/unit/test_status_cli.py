"""`logdriver status`: the table names containers by short ID and name, and a closed output ends
it quietly."""

from __future__ import annotations

import http.server
import io
import json
import os
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logdriver.status_cli import render


def doc(n: int) -> dict[str, Any]:
    """A /status document with ``n`` containers, all named "web" (names are reused)."""
    return {"shipper": "up", "store": {"bytes": 0, "disk_budget": 1 << 30}, "warnings": [],
            "containers": [{"id": f"{i:04x}" * 16, "name": "web", "running": i % 2 == 0,
                            "sinks": []} for i in range(n)]}


def test_each_row_shows_the_short_id_beside_the_name() -> None:
    out = io.StringIO()
    render(doc(2), out)
    header, first, second = out.getvalue().splitlines()[:3]
    assert header.split()[:3] == ["CONTAINER", "ID", "NAME"]
    assert first.split()[:2] == ["000000000000", "web"]
    assert second.split()[:3] == ["000100010001", "web", "(stopped)"]


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def plugin_socket(tmp_path: Path) -> Iterator[Path]:
    """A Unix socket answering GET /status with 5000 containers (far more than a pipe holds)."""
    path = tmp_path / "plugin.sock"
    _Handler.body = json.dumps(doc(5000)).encode()
    server = _Server(str(path), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield path
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_a_closed_output_ends_it_quietly(plugin_socket: Path, flags: list[str]) -> None:
    # `logdriver status | head -1`: the reader leaves after one line.
    proc = subprocess.Popen(
        [sys.executable, "-m", "logdriver", "status", "--socket", str(plugin_socket), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": "."})
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(30) == 0
    assert err == b""


def test_an_output_that_cannot_be_written_says_so_in_one_line(plugin_socket: Path) -> None:
    with open("/dev/full", "wb") as full:
        cp = subprocess.run(
            [sys.executable, "-m", "logdriver", "status", "--socket", str(plugin_socket)],
            stdout=full, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": "."},
            timeout=60, check=False)
    assert cp.returncode == 1
    assert cp.stderr.decode().strip() == ("logdriver status: cannot write the output: "
                                          "No space left on device")
