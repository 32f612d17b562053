"""OTLP/HTTP delivery end to end: a real dockerd, real containers, the plugin and the loopback OTLP
fake (tests/fakes/otlp.py, which parses with the official opentelemetry-proto messages and takes
what the official SDK exporters send).

The lines a container wrote come from Docker itself: the same script run under Docker's `local`
driver, read back with `docker logs`. Every line must arrive once (at most one batch again
across a plugin SIGKILL), in order per stream, byte for byte (bytes bodies where the line is not
UTF-8), with Docker's timestamps, beside another sink, through outages of the receiver.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from tests.fakes import FakeHttp
from tests.fakes.otlp import FakeOtlp, status_body

from .corpus import script
from .helpers import Docker, PluginProcess, parse_ts
from .test_delivery import (
    CORPUS,
    DELIVERY_TIMEOUT,
    OUTAGE_SECONDS,
    killed_mid_delivery,
    outage_then_recovery,
)


def body_of(item: dict[str, Any]) -> bytes:
    return base64.b64decode(item["body_b64"]) if "body_b64" in item else item["body"].encode()


def lines_by_stream(items: list[dict[str, Any]]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    for item in items:
        out[item["attributes"]["log.iostream"]].append(body_of(item))
    return out


def written_by(docker: Docker, steps_script: str) -> dict[str, list[bytes]]:
    """What the script writes, per stream, as Docker's own `local` driver gives it back."""
    baseline = docker.run_container("local", steps_script)
    assert docker.wait(baseline) == 0
    out, err = docker.logs(baseline)
    docker.remove(baseline)
    return {"stdout": out.split(b"\n")[:-1], "stderr": err.split(b"\n")[:-1]}


def test_corpus_reaches_otlp_beside_another_sink_byte_for_byte_in_order(
    docker: Docker, ours: str
) -> None:
    want = written_by(docker, script(CORPUS))
    total = len(want["stdout"]) + len(want["stderr"])
    assert any(b"\xff" in line for line in want["stdout"])  # the corpus has invalid UTF-8
    with FakeOtlp() as rx, FakeHttp() as web:
        opts = {"otlp-endpoint": rx.url, "batch-wait": "200ms", "tag": "{{.Name}}",
                "labels": "team", "http-url": web.url + "/in", "http-format": "ndjson"}
        name = docker.run_container(ours, script(CORPUS), opts, extra=[
            "--label", "team=core", "--label", "com.docker.compose.service=shop"])
        assert docker.wait(name) == 0
        cid = docker.inspect(name)["Id"]
        rx.wait_for(lambda: len(rx.items) >= total, DELIVERY_TIMEOUT, what="OTLP records")
        web.wait_for(lambda: len(web.items) >= total, DELIVERY_TIMEOUT, what="HTTP items")
        time.sleep(1)  # anything extra (a duplicate) would arrive now
        items = rx.items
        assert len(items) == total
        got = lines_by_stream(items)
        for stream in ("stdout", "stderr"):
            assert got[stream] == want[stream], f"OTLP {stream}"
        bad = [i for i in items if b"\xff\xfeabc" == body_of(i)]
        assert len(bad) == 1 and "body_b64" in bad[0]  # bytes, not altered
        assert all("body" in i for i in items if _utf8(body_of(i)))

        resource = items[0]["resource"]
        image, _, image_tag = docker.image.rpartition(":")
        assert resource["container.id"] == cid and resource["container.name"] == name
        assert resource["service.name"] == "shop" and resource["docker.log.tag"] == name
        assert resource["team"] == "core" and resource["host.name"]
        assert resource["container.image.name"] == (image or docker.image)
        assert resource.get("container.image.tags", []) == ([image_tag] if image else [])
        assert all(i["resource"] == resource for i in items)

        # Docker's times, served from the plugin's store: a line Docker cut into 16 KiB pieces
        # prints each piece's time, and the record carries its first piece's
        out, err = docker.logs(name, "-t")
        times = {"stdout": line_times(out), "stderr": line_times(err)}
        for stream in ("stdout", "stderr"):
            sent = [i["time_unix_nano"] for i in items
                    if i["attributes"]["log.iostream"] == stream]
            assert sent == times[stream], f"OTLP {stream} times"
        assert all(i["observed_time_unix_nano"] >= i["time_unix_nano"] for i in items)
        assert {i["severity_number"] for i in items} == {0}
        docker.remove(name)


def line_times(output: bytes) -> list[int]:
    """The time `docker logs -t` prints at the start of each line."""
    return [parse_ts(line.split(b" ", 1)[0]) for line in output.split(b"\n")[:-1]]


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def outage_opts(rx: FakeOtlp) -> dict[str, str]:
    return {"otlp-endpoint": rx.url, "otlp-protocol": "http/json", "batch-wait": "200ms"}


def text_lines(rx: FakeOtlp) -> Callable[[], list[str]]:
    return lambda: [line.decode() for line in rx.lines()]


def test_otlp_answering_503_with_retry_after_for_a_while_loses_nothing(
    docker: Docker, ours: str
) -> None:
    with FakeOtlp() as rx:
        outage_then_recovery(
            docker, ours, outage_opts(rx), text_lines(rx),
            lambda: rx.fail_with(503, status_body("busy", json_encoding=True),
                                 {"Retry-After": "2", "Content-Type": "application/json"},
                                 for_seconds=OUTAGE_SECONDS + 5),
            rx.clear_faults)
        assert rx.count(503) >= 2
        assert rx.count(503) < 100  # Retry-After and backoff: no request storm


def test_otlp_receiver_down_for_a_while_loses_nothing(docker: Docker, ours: str) -> None:
    with FakeOtlp() as rx:
        def start_again() -> None:
            if not rx.running:
                rx.start()

        outage_then_recovery(docker, ours, outage_opts(rx), text_lines(rx), rx.stop,
                             start_again)


def test_plugin_killed_mid_otlp_delivery_delivers_everything_with_at_most_one_batch_again(
    docker: Docker, plugin: PluginProcess
) -> None:
    with FakeOtlp() as rx:
        killed_mid_delivery(docker, plugin, rx, {"otlp-endpoint": rx.url, "batch-wait": "200ms"},
                            text_lines(rx))
