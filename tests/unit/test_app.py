"""The plugin process's settings and its optional TCP listener for Prometheus."""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import httpx
import pytest

from logdriver.app import Plugin, Settings

from .helpers import metrics_plugin


def test_settings_read_the_environment_and_refuse_bad_values() -> None:
    s = Settings.from_env({"LOG_LEVEL": "DEBUG", "LOGDRIVER_METRICS_PORT": "9323"})
    assert (s.log_level, s.metrics_port) == ("debug", 9323)
    assert Settings.from_env({}).metrics_port == 0  # off unless asked for
    # Each error names where the value came from, as the disk budget's and batch memory's do.
    with pytest.raises(ValueError, match=r"log level \(LOGDRIVER_LOG_LEVEL / LOG_LEVEL / "
                       r"--log-level\) 'loud'"):
        Settings.from_env({"LOGDRIVER_LOG_LEVEL": "loud"})
    with pytest.raises(ValueError, match=r"metrics port \(LOGDRIVER_METRICS_PORT\) '0.0.0.0:80'"):
        Settings.from_env({"LOGDRIVER_METRICS_PORT": "0.0.0.0:80"})
    assert Settings.from_env({}).disk_budget == 4 << 30
    assert Settings.from_env({"LOGDRIVER_DISK_BUDGET": "50m"}).disk_budget == 50 << 20
    assert Settings.from_env({}, disk_budget="1g").disk_budget == 1 << 30  # the flag wins
    for bad in ("abc", "5x", "0", "10"):
        with pytest.raises(ValueError, match=f"LOGDRIVER_DISK_BUDGET / --disk-budget.*'{bad}'"):
            Settings.from_env({"LOGDRIVER_DISK_BUDGET": bad})
    with pytest.raises(ValueError, match="LOGDRIVER_BATCH_MEMORY.*'lots'"):  # the shipper's
        Settings.from_env({"LOGDRIVER_BATCH_MEMORY": "lots"})



def test_a_bad_plugin_wide_batch_default_fails_the_start_naming_it() -> None:
    """LOGDRIVER_BATCH_SIZE, _BYTES and _WAIT are every sink's batch defaults: a bad one stops the
    plugin's start, as a bad LOGDRIVER_BATCH_MEMORY does. Found by a new user: with
    LOGDRIVER_BATCH_BYTES=lots `logdriver serve` came up, then refused every `docker run`, one
    without any sink too ("invalid value for environment variable LOGDRIVER_BATCH_BYTES")."""
    for name, bad in (("LOGDRIVER_BATCH_SIZE", "-3"), ("LOGDRIVER_BATCH_BYTES", "lots"),
                      ("LOGDRIVER_BATCH_WAIT", "soon")):
        with pytest.raises(ValueError, match=f"{name}.*'{bad}'"):
            Settings.from_env({name: bad})
    good = {"LOGDRIVER_BATCH_SIZE": "500", "LOGDRIVER_BATCH_BYTES": "512k",
            "LOGDRIVER_BATCH_WAIT": "2s"}
    assert Settings.from_env(good).name == "logdriver"

async def test_the_metrics_listener_serves_metrics_only_on_loopback(tmp_path: Path) -> None:
    async with metrics_plugin(tmp_path) as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as c:
            resp = await c.get("/metrics")
            assert resp.status_code == 200 and "logdriver_store_bytes_total" in resp.text
            assert (await c.get("/status")).json()["containers"] == []
            # The plugin API stays on the root-only unix socket.
            assert (await c.post("/LogDriver.StartLogging", content=b"{}")).status_code == 404
        listening = _tcp_listeners()
        assert ("127.0.0.1", port) in listening and ("0.0.0.0", port) not in listening


def _tcp_listeners() -> set[tuple[str, int]]:
    """(address, port) of every listening IPv4 TCP socket, from /proc/net/tcp."""
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A":  # LISTEN
            hex_ip, hex_port = fields[1].split(":")
            out.add((socket.inet_ntoa(bytes.fromhex(hex_ip)[::-1]), int(hex_port, 16)))
    return out


async def test_a_refused_state_folder_is_left_alone_and_every_call_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When stateguard refuses the state folder (an upgrade swapped it), the plugin still listens:
    Capabilities as usual, so dockerd goes on to StartLogging / ReadLogs, which answer 500 with the
    message; the folder is not touched (no lock, no store)."""
    from logdriver import app as app_module
    from logdriver.stateguard import StateFolderError

    def refuse(state_dir: Path, fifo_root: str) -> None:
        raise StateFolderError("wrong folder: docker plugin set NAME state.source=/before")

    monkeypatch.setattr(app_module, "check_state_folder", refuse)
    state = tmp_path / "state"
    state.mkdir()
    sock = tmp_path / "p.sock"
    plugin = Plugin(Settings(state_dir=state, socket=sock, fifo_root=str(tmp_path)))
    await plugin.startup()
    try:
        transport = httpx.AsyncHTTPTransport(uds=str(sock))
        async with httpx.AsyncClient(transport=transport, base_url="http://plugin") as c:
            caps = await c.post("/LogDriver.Capabilities", content=b"")
            assert caps.status_code == 200 and caps.json() == {"Cap": {"ReadLogs": True}}
            for call in ("StartLogging", "ReadLogs", "StopLogging"):
                resp = await c.post(f"/LogDriver.{call}", content=b"{}")
                assert resp.status_code == 500, call
                assert "state.source=/before" in resp.json()["Err"]
            # The operator's view says why (logdriver status prints the warning).
            doc = (await c.get("/status")).json()
            assert "state.source=/before" in doc["warnings"][0] and doc["containers"] == []
            assert "logdriver_refusing 1.0" in (await c.get("/metrics")).text
        from logdriver.status_cli import render

        out = io.StringIO()
        render(doc, out)
        assert "WARNING: refusing every call: wrong folder" in out.getvalue()
        assert list(state.iterdir()) == []
    finally:
        await plugin.shutdown()
    assert not sock.exists()


def _shipper_children() -> list[int]:
    """PIDs of this process's children that run the shipper (from /proc)."""
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == me and b"logdriver.delivery.process" in cmdline:
            found.append(int(stat.parent.name))
    return found


async def test_a_metrics_port_in_use_fails_the_start_naming_it_and_leaves_nothing_behind(
        tmp_path: Path) -> None:
    """LOGDRIVER_METRICS_PORT taken by another program (9100: node_exporter): the start fails
    with an error naming the variable and the port, before anything runs: no socket file for
    dockerd to find (it would call a plugin that is gone), no shipper process, the state dir's
    lock free, so the same plugin starts at once with the port fixed."""
    fifos = tmp_path / "logging"
    fifos.mkdir()
    sock = tmp_path / "p.sock"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        plugin = Plugin(Settings(state_dir=tmp_path / "state", socket=sock,
                                 fifo_root=str(fifos), metrics_port=port))
        try:
            with pytest.raises(RuntimeError) as refused:
                await plugin.startup()
            assert "LOGDRIVER_METRICS_PORT" in str(refused.value)
            assert f"port {port}" in str(refused.value)
            assert not sock.exists()
            assert _shipper_children() == []
        finally:
            if _shipper_children():  # without the fix: stop what the failed start left running
                await plugin.shutdown()
    again = Plugin(Settings(state_dir=tmp_path / "state", socket=sock, fifo_root=str(fifos)))
    await again.startup()
    try:
        assert sock.exists()
    finally:
        await again.shutdown()
