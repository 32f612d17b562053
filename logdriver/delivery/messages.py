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
  and each change of ``blocked``. While the kept segments stay the same ones (no rotation, none
  deleted), only the last one grows: the message then carries ``"last": [seq, size]`` instead
  of ``segments`` (the other sizes are as last told). A state message with neither changes no
  segment.
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
import functools
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


# What a full ``state`` message told of the kept segments: (first seq, last seq, last size), or
# None when none were kept. Sequence numbers are consecutive and only the last segment grows, so
# while the first two stay and the size does not shrink, ``last`` alone says what changed.
KeptSpan = tuple[int, int, int] | None


def kept_span(kept: Sequence[SegmentSize]) -> KeptSpan:
    """The ``KeptSpan`` of ``kept`` (spool then history)."""
    return (kept[0].seq, kept[-1].seq, kept[-1].size) if kept else None


def only_last_grew(told: KeptSpan, now: KeptSpan) -> bool:
    """Whether a receiver told ``told`` learns all of ``now`` from its last segment's size."""
    return (told is not None and now is not None and told[0] == now[0] and told[1] == now[1]
            and now[2] >= told[2])


def state_message(clog: StoreState, *, ledger: bool = True,
                  told: KeptSpan = None) -> dict[str, Any]:
    """The ``state`` message; the drop ledger only with ``ledger`` (it changes rarely).
    ``told``: the ``KeptSpan`` the receiver knows (None: nothing); when only the last segment
    grew since, the message carries it alone (``last``), else every segment (``segments``)."""
    msg: dict[str, Any] = {"op": "state", "id": clog.id, "running": clog.running,
                           "blocked": clog.blocked}
    kept = clog.kept
    if only_last_grew(told, kept_span(kept)):
        last = kept[-1]
        msg["last"] = [last.seq, last.size]
    else:
        msg["segments"] = [[s.seq, s.size] for s in kept]
    if ledger:
        msg["dropped"] = [d.to_json() for d in clog.ledger.values()]
    return msg


@functools.lru_cache(maxsize=4096)
def _json_string(text: str) -> str:
    return json.dumps(text)


def state_line(clog: StoreState, *, ledger: bool = True,
               told: KeptSpan = None) -> tuple[bytes, KeptSpan]:
    """``encode(state_message(clog, ledger=ledger, told=told))``, byte for byte, and the
    ``KeptSpan`` it tells. The usual message (only the last segment grew, the ledger did not
    change), sent every ``STATE_EVERY_SECONDS`` while a container logs, is formatted directly."""
    kept = clog.kept
    span = kept_span(kept)
    if ledger or span is None or not only_last_grew(told, span):
        return encode(state_message(clog, ledger=ledger, told=told)), span
    running = "true" if clog.running else "false"
    blocked = "true" if clog.blocked else "false"
    line = (f'{{"op":"state","id":{_json_string(clog.id)},"running":{running},'
            f'"blocked":{blocked},"last":[{span[1]},{span[2]}]}}\n')
    return line.encode(), span
