"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .test_delivery import Harness, Receiver


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A driver with in-process delivery to a Receiver behind httpx.MockTransport (started by
    the test with ``await h.start()``), and FIFOs to write into."""
    harness = Harness(tmp_path, Receiver())
    yield harness
    if harness.driver is not None:
        await harness.driver.close()
    for fd in harness.fds.values():
        os.close(fd)
