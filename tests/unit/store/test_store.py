"""All containers within the disk budget: eviction order, reopening, the growth rate."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from logdriver.framing import encode_entry
from logdriver.store import DISK_BUDGET, SPOOL_FULL, ContainerLog, Store, cursor_path
from logdriver.store.store import TRASH_SUFFIX

from ..helpers import entry, frames
from .helpers import CID, lines, write

FRAME = len(encode_entry(entry(0)))


def test_disk_budget_evicts_stopped_containers_oldest_first_never_running(tmp_path: Path) -> None:
    store = Store(tmp_path, disk_budget=600_000)
    store.open()
    ids = [c * 64 for c in "bcd"]
    for n, cid in enumerate(ids):
        clog = store.get(cid)
        clog.fifo_opened("/x")
        write(clog, frames(5000))  # 175 KB each
        clog.running_fifos.clear()
        clog.meta["stopped_at"] = 1000.0 + n
    running = store.get("e" * 64)
    running.fifo_opened("/y")
    store._checked = -1e9
    write(running, frames(5000))  # 700 KB in all: over the budget by one container
    assert sorted(store.logs) == sorted([ids[1], ids[2], "e" * 64])  # the oldest stop went
    assert not (tmp_path / "containers" / ids[0]).exists()
    assert store.total_bytes <= 600_000
    write(running, frames(20_000, start=5000))  # the running one alone exceeds the budget
    store._checked = -1e9
    write(running, frames(1, start=25_000))
    assert list(store.logs) == ["e" * 64]  # every stopped one went; the running one stays
    assert len(lines(running)) == 25_001


def test_store_reopens_every_container(tmp_path: Path) -> None:
    store = Store(tmp_path, disk_budget=1 << 30)
    store.open()
    for cid in ("1" * 64, "2" * 64):
        write(store.get(cid), frames(3))
        store.get(cid).save_meta()
    store.close()
    again = Store(tmp_path, disk_budget=1 << 30)
    again.open()
    assert sorted(again.logs) == ["1" * 64, "2" * 64]
    assert lines(again.logs["2" * 64]) == [b"line 000000", b"line 000001", b"line 000002"]


def _stopped(store: Store, cid: str, n: int, *, sinks: tuple[str, ...], delivered: bool,
             stopped_at: float) -> ContainerLog:
    clog = store.get(cid)
    clog.configure(max_size=FRAME * 100, max_file=100, sinks=sinks, spool_max_size=None,
                   when_full="drop-oldest")
    write(clog, frames(n), chunk=FRAME * 10)
    if delivered:
        for s in sinks:
            cursor_path(clog.path, s).write_text(f'{{"seq": {clog.end[0]}, "off": {clog.end[1]}}}')
    else:
        for s in sinks:
            cursor_path(clog.path, s).write_text('{"seq": 0, "off": 0}')
    clog.meta["stopped_at"] = stopped_at
    return clog


def test_budget_eviction_order(tmp_path: Path) -> None:
    """Delivered history of stopped containers first, then undelivered data of stopped ones,
    never a running container's undelivered spool under ``block``."""
    store = Store(tmp_path, disk_budget=1 << 40)
    store.open()
    delivered_old = _stopped(store, "1" * 64, 300, sinks=("http",), delivered=True,
                             stopped_at=1.0)
    undelivered = _stopped(store, "2" * 64, 300, sinks=("http",), delivered=False,
                           stopped_at=0.5)
    no_sinks = _stopped(store, "3" * 64, 300, sinks=(), delivered=True, stopped_at=2.0)
    running = store.get("4" * 64)
    running.fifo_opened("fifo")
    running.configure(max_size=FRAME * 100, max_file=1, sinks=("http",), spool_max_size=None,
                      when_full="block")
    write(running, frames(300), chunk=FRAME * 10)
    assert running.spool
    total = store.recount()
    # Over budget by less than one delivered container: only the oldest delivered goes, even
    # though an undelivered one stopped earlier.
    store.disk_budget = total - 10
    store.evict()
    assert "1" * 64 not in store.logs and undelivered.id in store.logs
    # Then the other delivered one (no sinks), then undelivered data, oldest segments first.
    store.disk_budget = store.recount() - no_sinks.size - FRAME * 150
    store.evict()
    assert no_sinks.id not in store.logs
    assert undelivered.id in store.logs and undelivered.kept[0].seq > 0
    assert undelivered.ledger and all(d.cause == DISK_BUDGET for d in undelivered.ledger.values())
    assert running.spool and not running.blocked
    # Only when nothing stopped is left does the running container's own policy act: block.
    store.disk_budget = running.size - 1
    store.evict()
    assert undelivered.id not in store.logs
    assert running.spool and running.blocked and running.budget_blocked
    store.disk_budget = 1 << 40
    store.maintain()
    assert not running.blocked
    del delivered_old


def test_a_running_drop_oldest_spool_gives_way_to_the_budget(tmp_path: Path) -> None:
    store = Store(tmp_path, disk_budget=1 << 40)
    store.open()
    clog = store.get(CID)
    clog.fifo_opened("fifo")
    clog.configure(max_size=FRAME * 100, max_file=1, sinks=("http",), spool_max_size=None,
                   when_full="drop-oldest")
    write(clog, frames(1000), chunk=FRAME * 10)
    spooled = len(clog.spool)
    store.disk_budget = store.recount() - FRAME * 250
    store.evict()
    assert len(clog.spool) == spooled - 3 and not clog.blocked
    assert [d.cause for d in clog.ledger.values()] == [SPOOL_FULL] * 3


def test_time_to_full_follows_the_net_growth_not_the_writes(tmp_path: Path) -> None:
    """A container whose history rotates (no sink) writes on but the store does not grow: the
    budget is never full. A spool that grows is."""
    store = Store(tmp_path, disk_budget=1 << 30)
    store.open()
    clog = store.get(CID)
    clog.fifo_opened("fifo")
    clog.configure(max_size=FRAME * 50, max_file=2, sinks=(), spool_max_size=None,
                   when_full="drop-oldest")
    write(clog, frames(500), chunk=3000)
    store.maintain()
    store._sizes[0] = (store._sizes[0][0] - 10, store._sizes[0][1])  # 10 s ago
    write(clog, frames(500, start=500), chunk=3000)
    store.maintain()
    # 500 lines (about 17 KB) were written in those 10 s; the store grew by less than the
    # active segment's fill, which rotation takes back.
    assert store.written > 30_000 and store.growth_rate * 10 <= FRAME * 60
    spooling = store.get("b" * 64)
    spooling.fifo_opened("fifo")
    spooling.configure(max_size=FRAME * 50, max_file=2, sinks=("http",), spool_max_size=None,
                       when_full="drop-oldest")
    write(spooling, frames(500), chunk=3000)
    store.maintain()
    assert store.growth_rate > 0
    left = store.seconds_left()
    assert left is not None and left > 0


def test_over_budget_a_block_spool_waits_at_once_beside_a_drop_oldest_one(tmp_path: Path) -> None:
    store = Store(tmp_path, disk_budget=1 << 40)
    store.open()
    logs = {}
    for cid, policy in (("5" * 64, "block"), ("6" * 64, "drop-oldest")):
        clog = logs[policy] = store.get(cid)
        clog.fifo_opened("fifo")
        clog.configure(max_size=FRAME * 100, max_file=1, sinks=("http",), spool_max_size=None,
                       when_full=policy)
        write(clog, frames(1000), chunk=FRAME * 10)
    store.disk_budget = store.recount() - FRAME * 150
    store.evict()
    assert logs["block"].blocked  # waits now, not once the other has nothing left to drop
    assert logs["drop-oldest"].ledger and not logs["block"].ledger


def test_a_removed_history_is_deleted_off_the_callers_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Unlinking a big synced history takes a while (about 0.2 s per 300 MB on ext4): the loop
    # that reads every FIFO must not wait for it. The deletion is held here until released.
    release, deleting = threading.Event(), threading.Event()
    real_rmtree = shutil.rmtree

    def slow_rmtree(path: str | Path, *args: Any, **kwargs: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            real_rmtree(path, *args, **kwargs)  # (pytest's own tmp_path clean-up)
            return
        deleting.set()
        assert release.wait(10)
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", slow_rmtree)
    store = Store(tmp_path, disk_budget=1 << 30)
    store.open()
    write(store.get(CID), frames(100))
    store.remove(CID)  # returns while the deletion is held
    assert deleting.wait(10)
    assert CID not in store.logs and not (tmp_path / "containers" / CID).exists()
    again = store.get(CID)  # the same id starts a new, empty history at once
    write(again, frames(2))
    release.set()
    store.close()  # waits for the background jobs
    assert [p.name for p in (tmp_path / "containers").iterdir()] == [CID]
    assert lines(store.get(CID)) == [b"line 000000", b"line 000001"]


def test_a_removal_cut_short_by_a_stop_is_finished_at_the_next_open(tmp_path: Path) -> None:
    store = Store(tmp_path, disk_budget=1 << 30)
    store.open()
    write(store.get(CID), frames(3))
    store.close()
    left = tmp_path / "containers" / f".{CID}.123{TRASH_SUFFIX}"
    (tmp_path / "containers" / CID).rename(left)  # as a plugin killed mid-removal leaves it
    again = Store(tmp_path, disk_budget=1 << 30)
    again.open()
    assert again.logs == {}  # not a container's history
    again.close()
    assert not left.exists()
