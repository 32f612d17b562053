"""The Loki sink end to end: a real dockerd, real containers, the plugin, and the fake Loki
(tests/fakes/loki.py, which decodes with the messages of Loki's published push.proto).

Every line arrives once, in order per stream, byte for byte, with the labels Loki's Docker driver
would give (compared with what Docker itself reports for the container); Loki answering 503 and
then down for a while loses nothing and never slows the container; a plugin killed mid-delivery
loses nothing.
"""

from __future__ import annotations

import socket
import threading
import time

from tests.fakes import FakeHttp, FakeLoki

from .corpus import Seq, Sleep, expected, script
from .helpers import Docker, PluginProcess
from .test_delivery import CORPUS, DELIVERY_TIMEOUT, lines_of, numbered, run_time

OUTAGE_SECONDS = 15  # each of the two faults (503, then down): 30 s away in all


def loki_lines(steps: list, stream: str) -> list[bytes]:  # type: ignore[type-arg]
    """The lines Loki's driver sends for ``stream``: what the container wrote, line by line,
    raw bytes, without the blank ones (its ``len(bytes.Fields(line)) == 0`` check)."""
    data = expected(steps).stream(stream)
    return [line for line in data.split(b"\n")[:-1] if line.strip()]


def by_stream(loki: FakeLoki) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    out: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for entry in loki.entries:
        out.setdefault(entry["labels"]["source"], []).append(entry)
    return out


def test_corpus_reaches_loki_once_in_order_with_lokis_driver_labels(
    docker: Docker, ours: str
) -> None:
    with FakeLoki() as loki, FakeHttp() as web:
        opts = {"loki-url": loki.push_url, "loki-batch-wait": "200ms", "labels": "team.name",
                "env": "app-version", "http-url": web.url + "/in", "http-format": "ndjson"}
        extra = ["--label", "team.name=core", "--label", "com.docker.compose.project=shop",
                 "--label", "com.docker.compose.service=web", "-e", "app-version=1.2"]
        name = docker.run_container(ours, script(CORPUS), opts, extra=extra)
        assert docker.wait(name) == 0
        info = docker.inspect(name)
        want = {s: loki_lines(CORPUS, s) for s in ("stdout", "stderr")}
        total = sum(map(len, want.values()))
        loki.wait_for(lambda: len(loki.entries) >= total, DELIVERY_TIMEOUT, what="Loki entries")
        web.wait_for(lambda: len(web.items) >= len(lines_of(CORPUS, "stdout")), DELIVERY_TIMEOUT,
                     what="HTTP items beside Loki")
        time.sleep(1)  # anything extra (a duplicate) would arrive now
        assert len(loki.entries) == total
        streams = by_stream(loki)
        for source in ("stdout", "stderr"):
            entries = streams[source]
            assert [e["line"] for e in entries] == want[source], source
            times = [e["ts"] for e in entries]
            assert times == sorted(times), f"{source} out of time order"
            labels = {k: v for k, v in entries[0]["labels"].items()}
            assert all(e["labels"] == labels for e in entries)  # one stream per label set
            expected_labels = {
                "container_name": info["Name"].lstrip("/"), "host": socket.gethostname(),
                "source": source, "team_name": info["Config"]["Labels"]["team.name"],
                "app_version": "1.2",
                "compose_project": info["Config"]["Labels"]["com.docker.compose.project"],
                "compose_service": info["Config"]["Labels"]["com.docker.compose.service"],
                # added by Loki 3 itself (discover_service_name: container_name is the first of
                # its list that the stream has), as the fake does
                "service_name": info["Name"].lstrip("/"),
            }
            if info.get("LogPath"):  # Docker gives a plugin its LogPath only on some engines
                expected_labels["filename"] = info["LogPath"]
            assert labels == expected_labels
        # Fan-out: the HTTP sink beside it got the same stdout lines (as text)
        got_http = [o["line"] for o in web.items if o["source"] == "stdout"]
        assert got_http == lines_of(CORPUS, "stdout")
        docker.remove(name)


def test_templates_tag_tenant_and_json_format(docker: Docker, ours: str) -> None:
    steps = [Seq("stdout", "json %04d", 1, 50)]
    with FakeLoki(tenant="team-a") as loki:
        opts = {"loki-url": loki.push_url, "loki-batch-wait": "200ms", "loki-format": "json",
                "loki-tenant-id": "team-a", "tag": "{{.Name}}",
                "loki-external-labels": "job=docker,image={{.ImageName}},short={{.ID}}"}
        name = docker.run_container(ours, script(steps), opts)
        assert docker.wait(name) == 0
        info = docker.inspect(name)
        loki.wait_for(lambda: len(loki.entries) >= 50, DELIVERY_TIMEOUT, what="entries")
        time.sleep(0.5)
        assert loki.lines("stdout") == loki_lines(steps, "stdout")
        labels = loki.entries[0]["labels"]
        assert labels["job"] == "docker" and labels["image"] == info["Config"]["Image"]
        assert labels["short"] == info["Id"][:12] and labels["tag"] == info["Name"].lstrip("/")
        assert "container_name" not in labels  # loki-external-labels replaces the default
        assert {r.headers.get("Content-Type") for r in loki.requests} == {"application/json"}
        docker.remove(name)


def test_a_bad_label_template_refuses_the_container_naming_the_option(
    docker: Docker, ours: str
) -> None:
    cp = docker("run", "--rm", "--network", "none", "--log-driver", ours,
                "--log-opt", "loki-url=http://127.0.0.1:9/loki/api/v1/push",
                "--log-opt", "loki-external-labels=x={{index .ContainerArgs 99}}",
                docker.image, "true", check=False)
    assert cp.returncode != 0
    assert b"loki-external-labels" in cp.stderr


def test_loki_503_then_down_for_a_while_loses_nothing_and_never_slows_the_container(
    docker: Docker, ours: str
) -> None:
    n = 10_000
    baseline = docker.run_container("local", script(numbered(n)))
    docker.wait(baseline)
    base_s = run_time(docker, baseline)
    with FakeLoki() as loki:
        loki.fail_with(503, "ingester unavailable", for_seconds=OUTAGE_SECONDS)
        timers = [threading.Timer(OUTAGE_SECONDS, loki.stop),
                  threading.Timer(2 * OUTAGE_SECONDS, loki.start)]
        for timer in timers:
            timer.start()
        try:
            name = docker.run_container(ours, script(numbered(n)), {
                "loki-url": loki.push_url, "loki-batch-wait": "200ms",
                "loki-min-backoff": "200ms", "loki-max-backoff": "2s"})
            assert docker.wait(name) == 0
            ran_s = run_time(docker, name)
            assert ran_s <= max(3 * base_s, base_s + 2.0), (ran_s, base_s)
            assert not loki.entries  # nothing could have been delivered yet
            loki.wait_for(lambda: len(loki.entries) >= n, 2 * OUTAGE_SECONDS + DELIVERY_TIMEOUT,
                          what="every line after the outage")
            time.sleep(1)
            assert loki.lines("stdout") == loki_lines(numbered(n), "stdout")
            assert 2 <= loki.count(503) < 200  # retried, with backoff: no request storm
        finally:
            for timer in timers:
                timer.cancel()
            if not loki.running:
                loki.start()
    docker.remove(name, baseline)


def test_plugin_killed_mid_delivery_to_loki_loses_nothing(
    docker: Docker, plugin: PluginProcess
) -> None:
    n = 40_000
    batch = 500
    with FakeLoki() as loki:
        loki.slow(0.05)  # delivery is still under way when the plugin dies
        steps = [Seq("stdout", "line %06d", 1, n // 2), Sleep(2),
                 Seq("stdout", "line %06d", n // 2 + 1, n)]
        name = docker.run_container(plugin.name, script(steps), {
            "loki-url": loki.push_url, "batch-size": str(batch)})
        loki.wait_for(lambda: len(loki.entries) >= 2000, 60, what="delivery under way")
        plugin.kill9()
        time.sleep(1)
        plugin.start()
        assert docker.wait(name, timeout=180) == 0
        loki.slow(0)
        want = loki_lines(steps, "stdout")
        loki.wait_for(lambda: len(set(loki.lines())) >= n, DELIVERY_TIMEOUT, what="every line")
        time.sleep(1)
        got = loki.lines()
        assert set(got) == set(want)
        duplicates = len(got) - n
        assert 0 <= duplicates <= batch, duplicates  # at most the request in flight, again
        print(f"plugin SIGKILL mid-delivery to Loki: {n} lines, {duplicates} sent twice")
        docker.remove(name)
