"""Delivery: for each (container, sink), a cursor over the store -> records -> batches -> sink.

Who runs where:

- The plugin holds a ``Delivery`` (protocol.py). In production that is a ``ShipperLink``
  (shipper.py): it starts the *shipper process* (``python -m logdriver.delivery.process``, at
  nice +10, dying with the plugin, restarted if it dies) and tells it about each container. In
  tests it may be an ``InProcessDelivery`` running the workers in the plugin's own loop.
- The shipper process (process.py, ``ShipperProcess``) keeps a ``StoreView`` per container (the
  plugin's segment files, read only below the sizes it was told) and runs an
  ``InProcessDelivery`` (inprocess.py) over those views.
- An ``InProcessDelivery`` owns one ``SinkWorker`` (worker.py) per (container, sink); the worker
  reads records (records.py: frames -> records, partial and multi-line joining, loss counting),
  batches and sends them, and settles its cursor (cursor.py). Counters: stats.py.

Why a process: encoding and sending costs more CPU than storing; in the plugin's loop it would
compete with the FIFO readers (a full pipe blocks the container). The shipper catches up from
the store when the machine is busy.

Messages (messages.py), one JSON line each: plugin -> shipper ``attach`` (the container's parsed
sink configs, never raw log-opts), ``state`` (kept segments and the drop ledger, after each
write), ``forget``, ``close``; shipper -> plugin ``stats`` every second.

At least once, through cursors: workers ship from the store, never from memory. A cursor is the
position after the last frame its sink accepted, saved after every accepted request, so a sink
outage, a slow sink or a restart of either process only makes the cursor wait while the
container writes on. After a crash at most the request in flight is sent again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .protocol import SHUTDOWN_FLUSH_SECONDS, Delivery
from .shipper import ShipperLink
from .stats import LATENCY_BUCKETS

if TYPE_CHECKING:
    from .inprocess import InProcessDelivery


def __getattr__(name: str) -> Any:
    """The workers (inprocess.py and what it runs) load on first use: the shipper process and
    tests use them, the plugin, which only talks to the shipper, never does."""
    if name == "InProcessDelivery":
        from .inprocess import InProcessDelivery

        return InProcessDelivery
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["LATENCY_BUCKETS", "SHUTDOWN_FLUSH_SECONDS", "Delivery", "InProcessDelivery",
           "ShipperLink"]
