"""The shipper process itself (forked, as the plugin runs it) against a loopback HEC, and the
messages the plugin sends it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import pytest

from logdriver.delivery import ShipperLink as Shipper
from logdriver.delivery.messages import state_message as _state
from logdriver.options import LogOptions
from logdriver.store import ContainerLog
from tests.fakes.hec import FakeHec

from ..helpers import frames
from ..store.helpers import write

CID = "c" * 64


def attach(shipper: Shipper, clog: ContainerLog, info: dict[str, object]) -> None:
    """What StartLogging does: parse once, hand the shipper the parsed sinks."""
    options = LogOptions.from_info(info, shipper.env, hostname=socket.gethostname())
    assert options.context is not None
    shipper.attach(clog, options.sinks, options.join, options.context)


async def test_the_shipper_process_delivers_resumes_and_stops_on_close(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.fifo_opened("fifo")
    opts = {"splunk-url": "", "splunk-token": "tok", "splunk-verify-connection": "false",
            "batch-wait": "50ms"}
    info = {"ContainerID": CID, "ContainerName": "/web", "Config": opts}
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    with FakeHec("tok") as hec:
        opts["splunk-url"] = hec.url
        shipper = Shipper(env)
        await shipper.start()
        attach(shipper, clog, info)
        write(clog, frames(5000), chunk=3000)
        await asyncio.to_thread(hec.wait_for_events, 5000, 20.0)
        assert hec.lines() == [f"line {i:06d}" for i in range(5000)]
        await shipper.close()
        assert shipper._proc is not None and shipper._proc.returncode == 0
        assert shipper.delivered_events == 5000  # its last counters reach the plugin

        # A new shipper (the plugin restarted) goes on from the cursor: nothing twice.
        write(clog, frames(10, start=5000))
        shipper = Shipper(env)
        attach(shipper, clog, info)
        await shipper.start()
        await asyncio.to_thread(hec.wait_for_events, 5010, 20.0)
        await shipper.close()
        assert hec.lines() == [f"line {i:06d}" for i in range(5010)]


async def test_the_shipper_dies_with_the_plugin(tmp_path: Path) -> None:
    # EOF without "close" is how a shipper sees its plugin killed: it must exit at once, not
    # flush, so that the plugin's next start never has two shippers at the same history.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "logdriver.delivery.process", "0", "info", str(os.getpid()),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdin is not None
    proc.stdin.close()
    assert await asyncio.wait_for(proc.wait(), 5) == 1


def test_state_lists_whole_frames_only(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    data = frames(3)
    write(clog, data[:-5])  # the last frame is incomplete: stored raw, not yet told
    assert _state(clog)["segments"] == [[0, len(frames(2))]]


async def test_the_shippers_own_log_reaches_the_plugins_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Its stdout carries counters to the plugin; its log lines go to the stderr it shares with
    # the plugin, so an operator sees "sink retry" wherever the plugin's log goes.
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.fifo_opened("fifo")
    opts = {"splunk-url": "http://127.0.0.1:9", "splunk-token": "s3cr3t-tok-9",
            "splunk-verify-connection": "false", "batch-wait": "50ms"}
    shipper = Shipper({**os.environ, "PYTHONPATH": str(Path.cwd())})
    await shipper.start()
    attach(shipper, clog, {"ContainerID": CID, "Config": opts})
    write(clog, frames(5))
    for _ in range(100):
        if shipper.retries:
            break
        await asyncio.sleep(0.1)
    await shipper.close()
    err = capfd.readouterr().err
    assert "WARNING logdriver.delivery: sink retry" in err and CID in err
    assert "s3cr3t" not in err


async def test_counters_of_hundreds_of_containers_reach_the_plugin(tmp_path: Path) -> None:
    # One stats line lists every worker (~400 bytes each): well past asyncio's 64 KiB default.
    n = 250
    shipper = Shipper({**os.environ, "PYTHONPATH": str(Path.cwd())})
    await shipper.start()
    opts = {"http-url": "http://127.0.0.1:9/in", "batch-wait": "50ms"}
    for i in range(n):
        cid = f"{i:064x}"
        clog = ContainerLog.open(tmp_path / cid, cid)
        clog.fifo_opened("fifo")
        attach(shipper, clog, {"ContainerID": cid, "Config": opts})
    seen = 0
    for _ in range(150):
        seen = len(shipper.snapshot().get("workers") or [])
        if seen == n:
            break
        await asyncio.sleep(0.1)
    await shipper.close()
    assert seen == n


def test_the_attach_message_carries_the_parsed_sinks(tmp_path: Path) -> None:
    # The shipper builds its workers from what the plugin parsed (regexps compiled again on
    # the way), never from raw log-opts.
    from logdriver.delivery.messages import Shipment, attach_message, encode, shipment_of

    clog = ContainerLog.open(tmp_path / CID, CID)
    info = {"ContainerID": CID, "ContainerName": "/web",
            "Config": {"http-url": "http://127.0.0.1:9/in", "multiline-pattern": "^ERROR",
                       "tag": "{{.Name}}"}}
    options = LogOptions.from_info(info, {}, hostname="h")
    assert options.context is not None
    sent = Shipment(options.sinks, options.join, options.context)
    msg = json.loads(encode(attach_message(clog, sent)))
    got = shipment_of(msg)
    assert got == sent and got.context.tag == "web"
    assert got.join.multiline_pattern is not None
    assert got.join.multiline_pattern.search("ERROR x") and not got.join.multiline_pattern.search(
        "INFO")
    assert "opts" not in msg and "info" not in msg
