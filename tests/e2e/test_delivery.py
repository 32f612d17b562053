"""Delivery end to end: a real dockerd, real containers, the plugin, and loopback fake receivers
(tests/fakes, each checked against Docker's own splunk driver or Datadog's own model). The
corpus to all five sinks at once is in test_all_sinks.py.

Every line must arrive exactly once (or, across a plugin crash, at most one batch twice), in
order per stream, with the right envelope, tag and attributes; sink outages are waited out
without slowing the container.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.fakes import FakeHec, FakeServer, wait_for

from .corpus import Long, Seq, Sleep, Step, Text, script
from .helpers import Docker, PluginProcess, parse_ts, plugin_command

TOKEN = "e2e-hec-token-0123"
API_KEY = "0123456789abcdef0123456789abcdef"
OUTAGE_SECONDS = 30  # as the issue asks: the sink is away this long
DELIVERY_TIMEOUT = 120.0

CORPUS: list[Step] = [
    Text("stdout", b"first line on stdout\n"),
    Text("stderr", b"first line on stderr\n"),
    Text("stdout", b"\n"),
    Text("stdout", "héllo wörld — 日本語\n".encode()),
    Text("stderr", b"bad utf-8 \xc3\x28 \xa0\xa1 end\n"),
    Text("stdout", b"\xff\xfeabc\n"),
    Text("stdout", b"crlf line\r\n"),
    Long("stdout", 40 * 1024),
    Long("stderr", 20_000),
    Seq("stdout", "stdout %05d: the quick brown fox jumps over the lazy dog", 1, 10_000),
    Seq("stderr", "stderr %05d: pack my box with five dozen liquor jugs", 1, 1000),
    Text("stdout", b"last line\n"),
]


def lines_of(steps: list[Step], stream: str) -> list[str]:
    """The lines a sink must receive for ``stream``, in order, as text (invalid UTF-8 becomes
    U+FFFD per bad byte, as Docker's own splunk driver renders it)."""
    out: list[bytes] = []
    for step in steps:
        if isinstance(step, Sleep) or step.stream != stream:
            continue
        if isinstance(step, Text):
            out += step.data.split(b"\n")[:-1]
        elif isinstance(step, Seq):
            out += [(step.fmt % i).encode() for i in range(step.first, step.last + 1)]
        elif isinstance(step, Long):
            out.append(step.output().rstrip(b"\n"))
    return [b.decode("utf-8", "replace") for b in out]


def numbered(n: int) -> list[Step]:
    return [Seq("stdout", "line %06d", 1, n)]


def run_time(docker: Docker, name: str) -> float:
    state = docker.inspect(name)["State"]
    return (parse_ts(state["FinishedAt"]) - parse_ts(state["StartedAt"])) / 1e9


def hec_opts(hec: FakeHec, **extra: str) -> dict[str, str]:
    return {"splunk-url": hec.url, "splunk-token": TOKEN, "batch-wait": "200ms", **extra}


def outage_then_recovery(
    docker: Docker,
    ours: str,
    opts: dict[str, str],
    lines: Callable[[], list[Any]],
    begin_outage: Callable[[], object],
    end_outage: Callable[[], object],
) -> None:
    """10,000 numbered lines logged through a sink outage: the container runs as fast as under
    `local`, and ``lines()`` (what the receiver holds) ends as every line once, in order."""
    n = 10_000
    baseline = docker.run_container("local", script(numbered(n)))
    docker.wait(baseline)
    base_s = run_time(docker, baseline)

    begin_outage()
    timer = threading.Timer(OUTAGE_SECONDS, end_outage)
    timer.start()
    try:
        name = docker.run_container(ours, script(numbered(n)), opts)
        assert docker.wait(name) == 0
        ran_s = run_time(docker, name)
        assert ran_s <= max(3 * base_s, base_s + 2.0), (ran_s, base_s)  # unaffected by the outage
        assert not lines()  # nothing could have been delivered yet
        wait_for(lambda: len(lines()) >= n, OUTAGE_SECONDS + DELIVERY_TIMEOUT,
                 what="every line after the outage")
        time.sleep(1)
        assert lines() == [f"line {i:06d}" for i in range(1, n + 1)]
    finally:
        timer.cancel()
        end_outage()
    docker.remove(name, baseline)


def _outage_then_recovery(
    docker: Docker,
    ours: str,
    hec: FakeHec,
    begin_outage: Callable[[], object],
    end_outage: Callable[[], object],
) -> None:
    outage_then_recovery(docker, ours, hec_opts(hec, **{"splunk-verify-connection": "false"}),
                         hec.lines, begin_outage, end_outage)


def test_hec_answering_503_for_30_s_loses_nothing_and_never_slows_the_container(
    docker: Docker, ours: str
) -> None:
    with FakeHec(TOKEN) as hec:
        _outage_then_recovery(
            docker, ours, hec,
            lambda: hec.fail_with(503, json.dumps({"text": "Server is busy", "code": 9}),
                                  for_seconds=OUTAGE_SECONDS + 5),
            hec.clear_faults,
        )
        assert hec.count(503) >= 2
        assert hec.count(503) < 200  # backoff: no request storm


def test_hec_down_for_30_s_loses_nothing_and_never_slows_the_container(
    docker: Docker, ours: str
) -> None:
    with FakeHec(TOKEN) as hec:
        def start_again() -> None:
            if not hec.running:
                hec.start()

        _outage_then_recovery(docker, ours, hec, hec.stop, start_again)


def killed_mid_delivery(docker: Docker, plugin: PluginProcess, fake: FakeServer,
                        opts: dict[str, str], lines: Callable[[], list[Any]]) -> None:
    """60,000 lines in batches of 1000 to a slow receiver, the plugin SIGKILLed mid-delivery and
    started again: ``lines()`` ends holding every line, and at most one batch twice."""
    n = 60_000
    batch = 1000
    fake.slow(0.05)  # delivery is still under way when the plugin dies
    steps = [Seq("stdout", "line %06d", 1, n // 2), Sleep(2), Seq("stdout", "line %06d",
                                                                    n // 2 + 1, n)]
    name = docker.run_container(plugin.name, script(steps), {**opts, "batch-size": str(batch)})
    fake.wait_for(lambda: len(lines()) >= batch * 3, 60, what="delivery under way")
    plugin.kill9()
    time.sleep(1)
    plugin.start()
    assert docker.wait(name, timeout=180) == 0
    fake.slow(0)
    fake.wait_for(lambda: len(set(lines())) >= n, DELIVERY_TIMEOUT, what="every line")
    time.sleep(1)
    got = lines()
    assert set(got) == {f"line {i:06d}" for i in range(1, n + 1)}
    duplicates = len(got) - n
    assert 0 <= duplicates <= batch, duplicates
    print(f"plugin SIGKILL mid-delivery ({type(fake).__name__}): {n} lines, {duplicates} "
          f"duplicates (batch {batch})")
    docker.remove(name)


def test_plugin_killed_mid_delivery_delivers_everything_with_at_most_one_batch_again(
    docker: Docker, plugin: PluginProcess
) -> None:
    with FakeHec(TOKEN) as hec:
        killed_mid_delivery(docker, plugin, hec, hec_opts(hec), hec.lines)


def _status(plugin: PluginProcess, *args: str) -> str:
    out = subprocess.run([*plugin_command(), "status", "--name", plugin.name, *args],
                         capture_output=True, text=True, timeout=30, check=True)
    return out.stdout


def test_status_and_metrics_show_a_failing_sink_then_its_recovery(
    docker: Docker, plugin: PluginProcess
) -> None:
    n = 2000
    with FakeHec(TOKEN) as hec:
        hec.fail_with(503, json.dumps({"text": "Server is busy", "code": 9}))
        name = docker.run_container(plugin.name, script(numbered(n)),
                                    hec_opts(hec, **{"splunk-verify-connection": "false"}))
        assert docker.wait(name) == 0
        deadline = time.monotonic() + 30
        while True:  # the shipper reports once a second
            doc = json.loads(_status(plugin, "--json"))
            (row,) = [c for c in doc["containers"] if c["name"] == name]
            sink = row["sinks"][0] if row["sinks"] else {}
            if sink.get("state") == "failing" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert row["received_lines"] == n and not row["running"]
        assert sink["state"] == "failing" and "503" in sink["last_error"]
        assert sink["backlog_events"] == n and sink["delivered_events"] == 0
        table = _status(plugin)
        short = row["id"][:12]
        assert re.search(rf"^{short}\s+{name} \(stopped\)\s+splunk\s+failing\s+0\s+{n} ", table,
                         re.M), table
        assert f"WARNING: {name} ({short}) -> splunk: failing" in table
        assert TOKEN not in table and TOKEN not in json.dumps(doc)

        hec.clear_faults()
        hec.wait_for(lambda: len(hec.events) >= n, DELIVERY_TIMEOUT, what="every line")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            doc = json.loads(_status(plugin, "--json"))
            (row,) = [c for c in doc["containers"] if c["name"] == name]
            if not row["sinks"] or row["sinks"][0]["state"] == "ok":
                break  # a worker whose container stopped leaves once everything is delivered
            time.sleep(0.5)
        assert not row["sinks"] or (row["sinks"][0]["backlog_events"] == 0
                                    and row["sinks"][0]["state"] == "ok")
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(plugin.socket_path)),
                          trust_env=False) as client:
            metrics = client.get("http://plugin/metrics").text
        assert 'logdriver_received_lines_total{container="' in metrics
        assert "logdriver_shipper_up 1.0" in metrics
        assert TOKEN not in metrics
        docker.remove(name)
