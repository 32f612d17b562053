"""The lines the plugin and its shipper process exchange: one JSON object per line.

plugin -> shipper (its stdin):
- ``{"op": "attach", "id", "path", "sinks"}``: ship a container's store at ``path``;
  ``sinks`` is the container's parsed delivery (``Shipment``: sink configs, join config,
  context), pickled and base64-encoded, so the shipper never parses log-opts again. It holds
  secrets (tokens): the pipe is private to the two processes and neither ever logs a message.
- ``{"op": "state", "id", "running", "blocked", "segments": [[seq, size], ...], "dropped"?:
  [...]}``: the kept segments (spool then history) as sizes of whole frames, whether the store
  waits for delivery before it reads more (``spool-when-full=block``), and the drop ledger
  (``store.ledger.Dropped.to_json``) when it changed; sent again, coalesced, after each write
  and each change of ``blocked``.
- ``{"op": "forget", "id", "dropped"}``: the store removed the container; what it still kept is
  in ``dropped``.
- ``{"op": "close"}``: flush and exit.

shipper -> plugin (its stdout):
- ``{"op": "kernels", "twin", "kernels", "why"}`` once, at start: which twin of each compiled
  kernel the shipper runs (``sinks.kernel_report()``, after ``sinks.load_kernels()``).
- ``{"op": "stats", ...InProcessDelivery.snapshot(), "tasks"}`` every ``STATS_EVERY_SECONDS``.
"""

from __future__ import annotations

import base64
import json
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sinks import Context, JoinConfig, SinkConfig, kernel_report, load_kernels

STATS_EVERY_SECONDS = 1.0
NICE = 10  # the shipper's niceness: the container's own path gets the CPU first


class SegmentSize(Protocol):
    """A kept segment as ``state`` names it: sequence number, bytes of whole frames."""

    @property
    def seq(self) -> int: ...
    @property
    def size(self) -> int: ...


class LedgerItem(Protocol):
    """A drop-ledger record (``store.ledger.Dropped``)."""

    def to_json(self) -> list[Any]: ...


class ContainerState(Protocol):
    """A container's store as both sides name it: the plugin's ``store.ContainerLog`` and the
    shipper's ``StoreView``."""

    @property
    def id(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def running(self) -> bool: ...
    @property
    def blocked(self) -> bool:
        """The store reads no more of the container's output until delivery makes room
        (``spool-when-full=block``): what a worker holds should go now, not at batch-wait."""
        ...


class StoreState(ContainerState, Protocol):
    """What ``attach`` and ``state`` messages read of a container's store (``ContainerLog``)."""

    @property
    def kept(self) -> Sequence[SegmentSize]: ...
    @property
    def ledger(self) -> Mapping[int, LedgerItem]: ...


@dataclass(frozen=True, slots=True)
class Shipment:
    """One container's delivery, parsed once by the plugin (``options.LogOptions``)."""

    sinks: tuple[SinkConfig, ...]
    join: JoinConfig
    context: Context


def encode(msg: Mapping[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


def attach_message(clog: StoreState, shipment: Shipment) -> dict[str, Any]:
    return {"op": "attach", "id": clog.id, "path": str(clog.path),
            "sinks": base64.b64encode(pickle.dumps(shipment)).decode()}


def shipment_of(msg: Mapping[str, Any]) -> Shipment:
    """The ``sinks`` of an ``attach`` message (from the plugin, the process's own parent);
    raises ValueError if it is not a Shipment."""
    try:
        shipment = pickle.loads(base64.b64decode(str(msg["sinks"])))  # noqa: S301 - our parent
    except Exception as exc:  # a damaged line: any unpickling error
        raise ValueError("unreadable attach message") from exc
    if not isinstance(shipment, Shipment):
        raise ValueError("unreadable attach message")
    return shipment


KERNEL_REPORT_KEYS = ("twin", "kernels", "why")  # sinks.kernel_report()'s


def kernels_message() -> dict[str, Any]:
    """The ``kernels`` message: this process's twin report, every kernel of the package loaded."""
    load_kernels()
    return {"op": "kernels", **kernel_report()}


def kernels_of(msg: Mapping[str, Any]) -> dict[str, Any]:
    """The twin report a ``kernels`` message carries (``{"twin", "kernels", "why"}``)."""
    return {k: msg.get(k) for k in KERNEL_REPORT_KEYS}


def state_message(clog: StoreState, *, ledger: bool = True) -> dict[str, Any]:
    """The ``state`` message; the drop ledger only with ``ledger`` (it changes rarely)."""
    msg = {"op": "state", "id": clog.id, "running": clog.running, "blocked": clog.blocked,
           "segments": [[s.seq, s.size] for s in clog.kept]}
    if ledger:
        msg["dropped"] = [d.to_json() for d in clog.ledger.values()]
    return msg
