"""How many bytes of batches the delivery workers of one process may hold, shared among them."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..options import OptionError, parse_size

# Every worker holds up to a batch being collected (or read ahead, waiting for the wire) and one
# on the wire. With few workers each gets its sink's whole batch-bytes; with many, each gets an
# equal part of this for each of those two batches, so the shipper's memory stays bounded
# however many containers log at once.
ENV_BATCH_MEMORY = "LOGDRIVER_BATCH_MEMORY"
# Batches a worker holds at once: on the wire, and the next one read ahead behind it. At 100
# workers a share counted once held 2 x 167 KB each (bench/README, "Where the memory goes").
BATCHES_HELD = 2
DEFAULT_BATCH_MEMORY = "16m"
MIN_SHARE_BYTES = 64 << 10  # below this a request costs more in overhead than it carries


def batch_memory(env: Mapping[str, str]) -> int:
    """``LOGDRIVER_BATCH_MEMORY`` in bytes (binary units, default ``16m``); ValueError naming the
    variable when it is not a size of at least 64k."""
    text = env.get(ENV_BATCH_MEMORY) or DEFAULT_BATCH_MEMORY
    try:
        size = parse_size("batch-memory", text, binary=True)
    except OptionError as exc:
        raise ValueError(f"batch memory ({ENV_BATCH_MEMORY}) {text!r}: not a size like 16m "
                         "(binary units: 16m = 16 MiB)") from exc
    if size < MIN_SHARE_BYTES:
        raise ValueError(f"batch memory ({ENV_BATCH_MEMORY}) {text!r}: at least 64k")
    return size


class BatchBudget:
    """The batch bytes one worker may collect (and read of the store at a time) now:
    ``share(wanted)`` is the sink's configured batch-bytes ``wanted``, lowered to an equal part
    of ``total`` bytes among the ``BATCHES_HELD`` batches of each of ``workers`` workers, never
    below ``MIN_SHARE_BYTES`` (nor above ``wanted``)."""

    def __init__(self, total: int | None = None) -> None:
        self.total = batch_memory({}) if total is None else total
        self.workers = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> BatchBudget:
        return cls(batch_memory(env))

    def share(self, wanted: int) -> int:
        part = self.total // (max(self.workers, 1) * BATCHES_HELD)
        return min(wanted, max(part, MIN_SHARE_BYTES))
