"""``Delivery``: what the plugin's Driver asks of delivery, wherever the workers run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sinks import Context, JoinConfig, SinkConfig

from ..store import ContainerLog

SHUTDOWN_FLUSH_SECONDS = 4.0  # on SIGTERM, how long workers may keep sending what they hold
# (within the plugin's 10 s shutdown: 3 s to close the API, then this, then the store)


class Delivery(Protocol):
    """Implemented by ``InProcessDelivery`` (workers in this process) and ``ShipperLink``
    (workers in the shipper process, told about each container)."""

    @property
    def live(self) -> bool:
        """Whether ``snapshot`` is current (a shipper that stopped reporting is not)."""
        ...

    @property
    def delivered_events(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def dead_letters(self) -> int: ...
    @property
    def dropped_bytes(self) -> int: ...

    def attach(self, clog: ContainerLog, configs: Sequence[SinkConfig], join: JoinConfig,
               ctx: Context) -> None:
        """Ship ``clog`` to each of ``configs`` from its cursors (parsed once, by the caller)."""
        ...

    def forget(self, container_id: str) -> None:
        """The store removed this container: what it still held is lost to its sinks."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """Totals and every worker's counters as plain JSON values: ``delivered_events``,
        ``retries``, ``dead_letters``, ``dropped_bytes``, ``dropped`` (cause -> [entries,
        bytes]) and ``workers`` (one row per (container, sink), with its ``cursor``)."""
        ...

    def kernel_report(self) -> dict[str, Any] | None:
        """Which twin of each compiled kernel the process running the workers uses
        (``sinks.kernel_report()``: ``{"twin", "kernels", "why"}``); None while unknown (a
        shipper that has not told yet)."""
        ...

    async def start(self) -> None: ...

    async def close(self, timeout: float = ...) -> None:
        """Flush for up to ``timeout`` s (SHUTDOWN_FLUSH_SECONDS), then stop."""
        ...
