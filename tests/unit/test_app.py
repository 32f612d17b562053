"""The plugin process's settings and its optional TCP listener for Prometheus."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from logdriver.app import Plugin, Settings


def test_settings_read_the_environment_and_refuse_bad_values() -> None:
    s = Settings.from_env({"LOG_LEVEL": "DEBUG", "LOGDRIVER_METRICS_PORT": "9323"})
    assert (s.log_level, s.metrics_port) == ("debug", 9323)
    assert Settings.from_env({}).metrics_port == 0  # off unless asked for
    with pytest.raises(ValueError, match="log level 'loud'"):
        Settings.from_env({"LOGDRIVER_LOG_LEVEL": "loud"})
    with pytest.raises(ValueError, match="metrics port '0.0.0.0:80'"):
        Settings.from_env({"LOGDRIVER_METRICS_PORT": "0.0.0.0:80"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_metrics_listener_serves_metrics_only_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    fifos = tmp_path / "logging"
    fifos.mkdir()
    plugin = Plugin(Settings(state_dir=tmp_path / "state", socket=tmp_path / "p.sock",
                             fifo_root=str(fifos), metrics_port=port))
    await plugin.startup()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as c:
            resp = await c.get("/metrics")
            assert resp.status_code == 200 and "logdriver_store_bytes_total" in resp.text
            assert (await c.get("/status")).json()["containers"] == []
            # The plugin API stays on the root-only unix socket.
            assert (await c.post("/LogDriver.StartLogging", content=b"{}")).status_code == 404
        listening = _tcp_listeners()
        assert ("127.0.0.1", port) in listening and ("0.0.0.0", port) not in listening
    finally:
        await plugin.shutdown()


def _tcp_listeners() -> set[tuple[str, int]]:
    """(address, port) of every listening IPv4 TCP socket, from /proc/net/tcp."""
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A":  # LISTEN
            hex_ip, hex_port = fields[1].split(":")
            out.add((socket.inet_ntoa(bytes.fromhex(hex_ip)[::-1]), int(hex_port, 16)))
    return out
