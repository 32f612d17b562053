"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .delivery.harness import SOURCES, Harness, Receiver


@pytest.fixture(params=SOURCES)
async def h(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """A driver delivering to a Receiver behind httpx.MockTransport (started by the test with
    ``await h.start()``), and FIFOs to write into; once with the workers in process over the
    ContainerLog, once on the shipper's path (StoreView, told by the plugin's messages)."""
    harness = Harness(tmp_path, Receiver(), request.param)
    yield harness
    if harness.driver is not None:
        await harness.driver.close()
    for fd in harness.fds.values():
        os.close(fd)
