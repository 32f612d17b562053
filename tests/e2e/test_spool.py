"""The delivery spool end to end (issue #12): history and delivery are two limits.

`docker logs` keeps Docker `local`'s history (max-size x max-file, compared byte for byte with
`local` itself); what a sink has not yet accepted stays on disk past it, within spool-max-size and
the disk budget, under the spool-when-full policy: drop-oldest (counted exactly, the container
never waits) or block (the container waits while the spool is full, nothing is lost). Docker's
default options unless a test is about them.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.fakes import FakeHec
from tests.fakes.sequence import SequenceHec

from .helpers import Docker, PluginProcess, parse_ts

TOKEN = "e2e-spool-token"
PAD = 92  # "%07d " + 92 x = 100 characters, then the newline


def numbered_awk(n: int, first: int = 1) -> str:
    """busybox awk printing lines first..n of 100 characters as fast as it can."""
    return (f"awk 'BEGIN {{ x = sprintf(\"%{PAD}s\", \"\"); gsub(/ /, \"x\", x); "
            f"for (i = {first}; i <= {n}; i++) printf \"%07d %s\\n\", i, x }}'")


def want(n: int) -> list[str]:
    return [f"{i:07d} " + "x" * PAD for i in range(1, n + 1)]


def status(plugin: PluginProcess) -> dict[str, Any]:
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(plugin.socket_path)),
                      trust_env=False, timeout=10) as client:
        doc: dict[str, Any] = client.get("http://plugin/status").json()
        return doc


def container_row(plugin: PluginProcess, cid: str) -> dict[str, Any]:
    rows = [c for c in status(plugin)["containers"] if c["id"] == cid]
    assert rows, f"the plugin's /status does not know container {cid[:12]}"
    return rows[0]


def wait_until(cond: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(interval)


def hec_opts(url: str, **extra: str) -> dict[str, str]:
    return {"splunk-url": url, "splunk-token": TOKEN, "splunk-verify-connection": "false",
            **extra}


def writing_seconds(docker: Docker, name: str) -> float:
    """From the container's start to the daemon's timestamp on its last line (the daemon stamps
    a line when it reads it from the container: a container kept waiting shows it here)."""
    out, _ = docker.logs(name, "-t", "--tail", "1")
    started = parse_ts(docker.inspect(name)["State"]["StartedAt"])
    return (parse_ts(out.split(b" ", 1)[0]) - started) / 1e9


def test_a_million_line_burst_to_a_healthy_hec_arrives_whole_once_in_order(
    docker: Docker, plugin: PluginProcess
) -> None:
    n = 1_000_000
    with SequenceHec(n) as hec:
        name = docker.run_container(plugin.name, numbered_awk(n), hec_opts(hec.url))
        cid = docker.inspect(name)["Id"]
        spool_peak = 0

        def arrived() -> bool:
            nonlocal spool_peak
            spool_peak = max(spool_peak, container_row(plugin, cid)["spool_bytes"])
            return hec.stats()["events"] >= n

        wait_until(arrived, 600, f"{n} events at the HEC", interval=0.5)
        assert docker.wait(name) == 0
        time.sleep(1)  # a duplicate would arrive now
        st = hec.stats()
        assert st["unique"] == n and st["duplicates"] == 0 and st["out_of_order"] == 0, st
        row = container_row(plugin, cid)
        assert row["received_lines"] == n
        assert all(not s["dropped"] for s in row["sinks"]), row["sinks"]
        # Docker's default options: `docker logs` shows the history local would keep, ending
        # with the last line.
        out, _ = docker.logs(name, "--tail", "1")
        assert out.decode() == want(n)[-1] + "\n"
        print(f"1M-line burst: spool peak {spool_peak} bytes, {st['requests']} requests")
        docker.remove(name)


def test_hec_down_past_twice_the_history_then_up_delivers_everything(
    docker: Docker, plugin: PluginProcess
) -> None:
    n = 40_000  # ~4.4 MB of frames through a history of about 2 MB
    opts = {"max-size": "1m", "max-file": "2"}
    local = docker.run_container("local", numbered_awk(n), opts)
    with FakeHec(TOKEN) as hec:
        url = hec.url
        hec.stop()
        name = docker.run_container(plugin.name, numbered_awk(n), {**hec_opts(url), **opts})
        cid = docker.inspect(name)["Id"]
        assert docker.wait(name) == 0 and docker.wait(local) == 0
        row = container_row(plugin, cid)
        assert row["received_lines"] == n
        assert row["spool_bytes"] > 0, "history rotated out before delivery must be spooled"
        # `docker logs` shows exactly local's history for the same options, byte for byte.
        ours_out, ours_err = docker.logs(name)
        local_out, local_err = docker.logs(local)
        assert len(local_out.splitlines()) < n, "the history limit did not cut (test too small)"
        assert ours_out == local_out and ours_err == local_err == b""
        hec.start()
        hec.wait_for(lambda: len(hec.events) >= n, 180, what="every line after the outage")
        time.sleep(1)
        assert hec.lines() == want(n)
        wait_until(lambda: container_row(plugin, cid)["spool_bytes"] == 0, 10,
                   "the spool released once delivered")
        assert docker.logs(name) == (local_out, b"")
        docker.remove(name, local)


def test_spool_full_drop_oldest_counts_exactly_and_the_container_never_waits(
    docker: Docker, plugin: PluginProcess
) -> None:
    n = 30_000
    opts = {"max-size": "100k", "max-file": "2"}
    prog = numbered_awk(n) + "; sleep 600"  # kept running: its sink row stays in /status
    local = docker.run_container("local", numbered_awk(n), opts)
    with FakeHec(TOKEN) as hec:
        url = hec.url
        hec.stop()
        name = docker.run_container(plugin.name, prog,
                                    {**hec_opts(url), **opts, "spool-max-size": "300k"})
        cid = docker.inspect(name)["Id"]
        wait_until(lambda: container_row(plugin, cid)["received_lines"] == n, 60,
                   "every line stored")
        assert docker.wait(local) == 0
        ours_s, local_s = writing_seconds(docker, name), writing_seconds(docker, local)
        assert ours_s <= max(3 * local_s, local_s + 2.0), (ours_s, local_s)
        row = container_row(plugin, cid)
        assert not row["blocked"] and row["spool_bytes"] <= 300_000 + 110_000
        hec.start()
        hec.wait_for(lambda: hec.lines() and hec.lines()[-1] == want(n)[-1], 120,
                     what="the last line")
        got = hec.lines()
        numbers = [int(x.split()[0]) for x in got]
        assert numbers == sorted(set(numbers)), "delivered once, in order"

        def counted() -> int:
            sinks = container_row(plugin, cid)["sinks"]
            return int(sinks[0]["dropped"].get("spool_full", [0])[0]) if sinks else -1

        wait_until(lambda: counted() == n - len(got), 10,
                   f"{n - len(got)} lines counted as dropped (spool_full)")
        assert n - len(got) > 0
        text = metrics(plugin)
        assert f'logdriver_sink_dropped_lines_total{{cause="spool_full",container="{cid}"' \
            in text, text
        assert f'logdriver_spool_bytes{{container="{cid}"}}' in text
        docker.remove(name, local)


def test_spool_full_block_loses_nothing_and_the_container_waits_only_while_full(
    docker: Docker, plugin: PluginProcess
) -> None:
    # More than the pipes between the container and the plugin hold (the plugin's FIFO is 1 MiB,
    # dockerd's copier and the shim hold more), so the writer itself is kept waiting. (A
    # container that exits while its last output waits in the pipes holds dockerd's lock on it
    # until the plugin reads again, as with any blocking driver: moby#42705. docs/operators.md.)
    n = 60_000
    opts = {"max-size": "100k", "max-file": "2", "spool-max-size": "200k",
            "spool-when-full": "block"}
    with FakeHec(TOKEN) as hec:
        url = hec.url
        hec.stop()
        name = docker.run_container(plugin.name, numbered_awk(n), {**hec_opts(url), **opts})
        cid = docker.inspect(name)["Id"]
        wait_until(lambda: container_row(plugin, cid)["blocked"], 60, "the spool to fill")
        held = container_row(plugin, cid)["received_lines"]
        time.sleep(3)
        row = container_row(plugin, cid)
        assert row["received_lines"] == held < n, "nothing is read while the spool is full"
        assert docker.is_running(name), "the container waits on its output"
        assert any("spool is full" in w for w in status(plugin)["warnings"])
        hec.start()
        t0 = time.monotonic()
        assert docker.wait(name, timeout=120) == 0
        resumed_s = time.monotonic() - t0
        hec.wait_for(lambda: len(hec.events) >= n, 120, what="every line")
        time.sleep(1)
        assert hec.lines() == want(n)
        row = container_row(plugin, cid)
        assert not row["blocked"] and all(not s["dropped"] for s in row["sinks"])
        print(f"block: held at {held} of {n} lines; the container finished {resumed_s:.1f} s "
              "after the HEC came back")
        docker.remove(name)


def test_plugin_sigkill_while_the_spool_holds_undelivered_segments_loses_nothing(
    docker: Docker, plugin: PluginProcess
) -> None:
    n = 20_000
    opts = {"max-size": "100k", "max-file": "2", "batch-wait": "200ms"}
    prog = f"{numbered_awk(n // 2)}; sleep 3; {numbered_awk(n, first=n // 2 + 1)}"
    with FakeHec(TOKEN) as hec:
        url = hec.url
        hec.stop()
        name = docker.run_container(plugin.name, prog, {**hec_opts(url), **opts})
        cid = docker.inspect(name)["Id"]
        wait_until(lambda: container_row(plugin, cid)["spool_bytes"] > 0, 60, "a spool")
        plugin.kill9()
        time.sleep(1)
        plugin.start()
        assert docker.wait(name, timeout=120) == 0
        assert container_row(plugin, cid)["spool_bytes"] > 0, "the spool survived the kill"
        hec.start()
        hec.wait_for(lambda: len(hec.events) >= n, 180, what="every line")
        time.sleep(1)
        assert hec.lines() == want(n)
        docker.remove(name)


def metrics(plugin: PluginProcess) -> str:
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(plugin.socket_path)),
                      trust_env=False, timeout=10) as client:
        return client.get("http://plugin/metrics").text
