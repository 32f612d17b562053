"""The ``state`` messages the plugin sends its shipper: every kept segment when they changed, only
the last one's size while it just grows, and the shipper's view always equal to the store."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from logdriver.delivery import ShipperLink
from logdriver.delivery.messages import encode, kept_span, state_line, state_message
from logdriver.delivery.process import ShipperProcess
from logdriver.delivery.shipper import STATE_EVERY_SECONDS
from logdriver.framing import encode_entry
from logdriver.store import SPOOL_FULL, ContainerLog, StoreView
from sinks import JoinConfig

from ..helpers import entry, frames
from ..sinks.fakes import context
from ..store.helpers import write

CID = "d" * 64
FRAME = len(encode_entry(entry(0)))


class Pipe:
    """Stands in for the shipper's stdin: keeps every message written, decoded."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        assert data.endswith(b"\n") and data.count(b"\n") == 1  # one JSON object per line
        self.sent.append(json.loads(data))

    def is_closing(self) -> bool:
        return False

    def take(self) -> list[dict[str, Any]]:
        out, self.sent = self.sent, []
        return out


def linked(clog: ContainerLog) -> tuple[ShipperLink, Pipe]:
    """A ShipperLink attached to ``clog`` whose shipper process is a ``Pipe``."""
    link = ShipperLink({})
    pipe = Pipe()
    link._proc = SimpleNamespace(stdin=pipe)  # type: ignore[assignment]
    link.attach(clog, (), JoinConfig(), context(container_id=CID))
    return link, pipe


def shipper_of(clog: ContainerLog) -> tuple[ShipperProcess, StoreView]:
    """A shipper process's state with a view of ``clog`` (as its ``attach`` would make)."""
    shipper = ShipperProcess()
    view = shipper.views[CID] = StoreView(CID, clog.path)
    return shipper, view


def told_segments(clog: ContainerLog) -> list[tuple[int, int]]:
    return [(s.seq, s.size) for s in clog.kept]


async def test_deltas_keep_the_view_equal_to_the_store_through_rotation_drop_and_restart(
    tmp_path: Path,
) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    # A rotated segment stays in the spool (the sink has no cursor yet).
    clog.configure(max_size=FRAME * 50, max_file=2, sinks=("http",), spool_max_size=None,
                   when_full="drop-oldest")
    link, pipe = linked(clog)
    shipper, view = shipper_of(clog)
    kinds: list[str] = []

    def deliver() -> None:
        for msg in pipe.take():
            if msg["op"] == "state":
                kinds.append("full" if "segments" in msg else "last")
            shipper.handle(msg)

    deliver()
    assert kinds == ["full"]  # attach: the whole state
    n = 0
    for step in range(40):
        if step == 25:  # the first kept segment leaves, nothing else changes
            assert clog.drop_oldest_spooled(SPOOL_FULL)
        else:
            write(clog, frames(7, start=n), chunk=3 * FRAME + 5)  # frames cut across chunks
            n += 7
        link._flush()
        deliver()
        assert view.segments == told_segments(clog)
        assert view.ledger == clog.ledger
    assert len(clog.kept) > 3
    # Most messages carry the last segment alone; each change of the kept set sends them all.
    assert kinds.count("last") > kinds.count("full") > 3

    # The shipper restarted: the plugin tells it everything again, then deltas resume.
    link._replay()
    shipper, view = shipper_of(clog)
    sent = pipe.take()
    assert [m["op"] for m in sent] == ["attach", "state"] and "segments" in sent[1]
    assert "dropped" in sent[1]  # a new shipper needs the ledger too
    for msg in sent:
        shipper.handle(msg)
    assert view.segments == told_segments(clog) and view.ledger == clog.ledger
    write(clog, frames(3, start=n))
    link._flush()
    sent = pipe.take()
    assert "last" in sent[0] and "segments" not in sent[0] and "dropped" not in sent[0]
    for msg in sent:
        shipper.handle(msg)
    assert view.segments == told_segments(clog)


def test_state_message_sends_the_last_segment_only_while_the_kept_ones_stay(
    tmp_path: Path,
) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.configure(max_size=FRAME * 10, max_file=5, sinks=(), spool_max_size=None,
                   when_full="drop-oldest")
    write(clog, frames(3))
    told = kept_span(clog.kept)
    assert state_message(clog)["segments"] == [[0, 3 * FRAME]]  # nothing told: all of it
    write(clog, frames(2, start=3))
    msg = state_message(clog, ledger=False, told=told)
    assert msg == {"op": "state", "id": CID, "running": False, "blocked": False,
                   "last": [0, 5 * FRAME]}
    write(clog, frames(10, start=5))  # rotates: a new segment
    assert state_message(clog, ledger=False, told=told)["segments"] == [
        [seq, size] for seq, size in told_segments(clog)]
    # A told size past the store's (a segment dropped and started anew): all of it again.
    assert "segments" in state_message(clog, told=(0, clog.kept[-1].seq, 1 << 40))


def test_the_view_ignores_a_last_size_for_a_segment_it_was_not_told(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    view = StoreView(CID, tmp_path)
    view.update([[3, 100], [4, 50]], True)
    view.update(None, True, last=[4, 80])
    assert view.segments == [(3, 100), (4, 80)]
    with caplog.at_level(logging.WARNING, logger="logdriver.store.view"):
        view.update(None, True, last=[7, 10])  # out of step: ignored, warned once
        view.update(None, True, last=[7, 20])
    assert view.segments == [(3, 100), (4, 80)]
    assert [r.getMessage() for r in caplog.records].count(
        "state message for an unknown segment ignored") == 1
    # A state message with neither segments nor last changes no segment, only the flags.
    view.update(None, False, blocked=True)
    assert view.segments == [(3, 100), (4, 80)] and not view.running and view.blocked


def test_the_shipper_process_applies_a_state_without_segments_without_clearing(
    tmp_path: Path,
) -> None:
    shipper = ShipperProcess()
    view = shipper.views[CID] = StoreView(CID, tmp_path)
    shipper.handle({"op": "state", "id": CID, "running": True, "blocked": False,
                    "segments": [[0, 10]]})
    shipper.handle({"op": "state", "id": CID, "running": True, "blocked": False,
                    "last": [0, 30]})
    shipper.handle({"op": "state", "id": CID, "running": True, "blocked": False})
    shipper.handle({"op": "whatever", "id": CID})  # unknown: ignored
    assert view.segments == [(0, 30)]


@pytest.mark.parametrize(("running", "blocked"), [(False, False), (True, True)])
def test_state_line_is_the_encoded_state_message_byte_for_byte(
    tmp_path: Path, running: bool, blocked: bool
) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.configure(max_size=FRAME * 10, max_file=5, sinks=(), spool_max_size=None,
                   when_full="drop-oldest")
    if running:
        clog.fifo_opened("fifo")
    clog.set_blocked(spool=blocked)
    write(clog, frames(3))
    told = kept_span(clog.kept)
    write(clog, frames(2, start=3))
    for ledger, span in [(False, told), (True, told), (False, None)]:  # last; ledger; all
        line, now = state_line(clog, ledger=ledger, told=span)
        assert line == encode(state_message(clog, ledger=ledger, told=span))
        assert now == kept_span(clog.kept)
    assert b'"last":[0,%d]' % (5 * FRAME) in state_line(clog, ledger=False, told=told)[0]


async def test_a_change_is_told_at_once_unless_a_state_went_out_less_than_the_interval_ago(
    tmp_path: Path,
) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    _link, pipe = linked(clog)
    pipe.take()
    write(clog, frames(3))
    await asyncio.sleep(0)  # the same turn of the loop: no timer of its own
    assert [m["segments"] for m in pipe.take()] == [[[0, 3 * FRAME]]]  # the first segment
    write(clog, frames(2, start=3))
    await asyncio.sleep(0)
    assert pipe.take() == []  # at most one state per STATE_EVERY_SECONDS
    await asyncio.sleep(STATE_EVERY_SECONDS * 3)
    assert [m["last"] for m in pipe.take()] == [[0, 5 * FRAME]]
