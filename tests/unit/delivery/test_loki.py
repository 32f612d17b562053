"""Delivery to the Loki sink (fake Loki on loopback): a 400 naming entries costs only those."""

from __future__ import annotations

import asyncio
import base64
import json

from logdriver.framing import Entry, encode_entry
from tests.fakes import FakeLoki

from ..helpers import T0
from .harness import CID, Harness, until


async def test_a_loki_400_dead_letters_only_the_entries_it_names(h: Harness) -> None:
    lines = [b"line %06d" % i + (b"-" * 100 if i in (7, 42) else b"") for i in range(100)]
    with FakeLoki(max_line_size=50) as loki:
        driver = await h.start(network=True)
        path = h.fifo()
        await h.start_logging(path, {"loki-url": loki.push_url, "batch-wait": "50ms"})
        h.write(path, b"".join(encode_entry(Entry("stdout", T0 + i, ln))
                               for i, ln in enumerate(lines)))
        await until(lambda: driver.delivery.dead_letters >= 2)
        await until(lambda: len(loki.entries) >= 98)
        await asyncio.sleep(0.2)  # anything sent twice would arrive now
        assert loki.lines() == [ln for i, ln in enumerate(lines) if i not in (7, 42)]
    assert (driver.delivery.dead_letters, driver.delivery.delivered_events) == (2, 98)
    letters = (h.state / "containers" / CID / "deadletter-loki.ndjson").read_text().splitlines()
    dead = [base64.b64decode(json.loads(x)["event_b64"]) for x in letters]
    assert [d.startswith(b"stdout\0") and d.endswith(lines[i]) for d, i in zip(
        dead, (7, 42), strict=True)] == [True, True]
