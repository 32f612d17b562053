"""Delivery to the OTLP sink against the loopback OTLP fake, over both paths (in-process and the
shipper's): order, retries, partial successes (counted in delivery, /status and /metrics, never
resent; the counters cross the forked shipper's pipe) and dead letters."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from logdriver import observe
from logdriver.delivery import ShipperLink as Shipper
from logdriver.store import ContainerLog
from tests.fakes.otlp import FakeOtlp, status_body

from ..helpers import frames
from ..store.helpers import write
from .harness import CID, Harness, until
from .test_process import attach

LINES = [f"line {i:06d}".encode() for i in range(300)]


def opts(rx: FakeOtlp, **more: str) -> dict[str, str]:
    return {"otlp-endpoint": rx.url, "batch-wait": "50ms", "batch-size": "100", **more}


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
async def test_503_then_200_delivers_everything_once_in_order(h: Harness, protocol: str) -> None:
    with FakeOtlp() as rx:
        rx.fail_with(503, status_body("busy"), {"Retry-After": "0"}, count=3)
        driver = await h.start(network=True)
        path = h.fifo()
        await h.start_logging(path, opts(rx, **{"otlp-protocol": protocol}))
        h.write(path, frames(300))
        await until(lambda: len(rx.items) >= 300)
        await asyncio.sleep(0.2)  # anything sent twice would arrive now
        assert rx.lines() == LINES
        assert rx.items[0]["resource"]["container.id"] == CID
        assert rx.items[0]["resource"]["service.name"] == "web"
    assert driver.delivery.retries == 3 and driver.delivery.delivered_events == 300


async def test_a_partial_success_is_counted_reported_and_not_resent(
        h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with FakeOtlp() as rx:
        rx.partial(2, "2 records too old")
        driver = await h.start(network=True)
        path = h.fifo()
        with caplog.at_level(logging.WARNING, logger="logdriver.delivery"):
            await h.start_logging(path, opts(rx, **{"batch-size": "10"}))
            h.write(path, frames(10))
            await until(lambda: rx.rejected >= 2)
            await asyncio.sleep(0.3)
        assert rx.count() == 1  # not retried
        assert rx.lines() == LINES[:8]
        [worker] = driver.delivery.snapshot()["workers"]
        assert (worker["delivered_events"], worker["rejected"]) == (8, 2)
        assert "2 records too old" in worker["last_rejection"]
        status = json.dumps(observe.status(driver))
        assert "2 lines rejected by the server" in status and '"rejected": 2' in status
        metrics = observe.metrics_text(driver).decode()
        assert f'logdriver_sink_rejected_events_total{{container="{CID}",sink="otlp"}} 2.0' \
            in metrics
    records = [r for r in caplog.records if r.getMessage() == "sink rejected part of a batch"]
    assert records and getattr(records[0], "reason", "").endswith("2 records too old")


async def test_a_400_goes_to_the_dead_letter_file(h: Harness) -> None:
    with FakeOtlp() as rx:
        rx.fail_with(400, status_body("bad timestamp"), count=1)
        driver = await h.start(network=True)
        path = h.fifo()
        await h.start_logging(path, opts(rx, **{"batch-size": "10"}))
        h.write(path, frames(20))
        await until(lambda: len(rx.items) >= 10)
        await asyncio.sleep(0.2)
        assert rx.lines() == LINES[10:20]
    assert driver.delivery.dead_letters == 10
    letters = (h.state / "containers" / CID / "deadletter-otlp.ndjson").read_text().splitlines()
    assert len(letters) == 10 and "bad timestamp" in json.loads(letters[0])["reason"]


async def test_rejected_counts_cross_the_real_shipper_pipe(tmp_path: Path) -> None:
    # The forked shipper, as in production: OtlpConfig pickled in the attach message, the
    # counters back in its JSON stats lines, where /status and /metrics read them.
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.fifo_opened("fifo")
    shipper = Shipper({**os.environ, "PYTHONPATH": str(Path.cwd())})
    with FakeOtlp() as rx:
        rx.partial(3, "3 records too old")
        await shipper.start()
        try:
            attach(shipper, clog, {"ContainerID": CID, "ContainerName": "/web",
                                   "Config": opts(rx, **{"batch-size": "10"})})
            write(clog, frames(10))
            workers: list[dict[str, Any]] = []
            for _ in range(100):
                workers = shipper.snapshot().get("workers") or []
                if workers and workers[0].get("rejected"):
                    break
                await asyncio.sleep(0.1)
        finally:
            await shipper.close()
        assert rx.lines() == LINES[:7]
    [worker] = workers
    assert (worker["sink"], worker["delivered_events"], worker["rejected"]) == ("otlp", 7, 3)
    assert worker["last_rejection"].endswith("3 records too old")
