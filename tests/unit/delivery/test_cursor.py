"""The cursor file: one fixed-size record overwritten in place, torn reads, older files."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import logdriver.store.ledger as ledger
from logdriver.delivery.cursor import Cursor
from logdriver.store import UnreadableCursor, cursor_path, cursor_record, load_cursor, read_cursor
from logdriver.store.ledger import CURSOR_RECORD_BYTES, parse_cursor

positions = st.tuples(st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1))


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "CURSOR_RETRY_SECONDS", 0.0001)


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_saves_overwrite_one_record_in_place_and_load_back(tmp_path: Path) -> None:
    cursor = Cursor(tmp_path, "hec")
    cursor.save((1, 0))
    inode = cursor.path.stat().st_ino
    for pos in [(1, 130), (1, 99_999_870), (2, 0), (12_345, 7), (2**62, 0), (3, 4)]:
        cursor.save(pos)
        assert cursor.path.stat().st_size == CURSOR_RECORD_BYTES
        assert cursor.path.stat().st_ino == inode  # written in place, not renamed
        assert load_cursor(cursor.path) == pos
        assert Cursor(tmp_path, "hec").load() == pos
    assert not list(tmp_path.glob("*.tmp"))
    cursor.close()


def test_the_record_reads_as_the_json_older_versions_read(tmp_path: Path) -> None:
    # A downgrade: the previous load_cursor was json.loads(text) then int(raw["seq"]),
    # int(raw["off"]); the record must give it the same position.
    cursor = Cursor(tmp_path, "hec")
    cursor.save((7, 1234))
    cursor.save((8, 56))
    raw = json.loads(cursor.path.read_text())
    assert (int(raw["seq"]), int(raw["off"])) == (8, 56)
    cursor.close()


@pytest.mark.parametrize("text", ['{"seq": 3, "off": 17}', '{"off": 17, "seq": 3}\n',
                                  '{"seq": 3, "off": 17, "crc": null}'])
def test_a_cursor_file_of_an_older_version_loads_and_is_replaced_by_the_next_save(
        tmp_path: Path, text: str) -> None:
    path = cursor_path(tmp_path, "hec")
    path.write_text(text + " " * 200)  # longer than a record: nothing of it may survive
    cursor = Cursor(tmp_path, "hec")
    assert cursor.load() == (3, 17)
    cursor.save((3, 40))
    assert path.read_bytes() == cursor_record((3, 40))
    cursor.save((4, 0))
    assert load_cursor(path) == (4, 0)
    cursor.close()


@pytest.mark.parametrize("raw", [b"", b"\0" * CURSOR_RECORD_BYTES, b"{", b"[]", b'{"seq": 1}',
                                 b'{"seq": "x", "off": 0}'])
def test_a_file_holding_no_position_is_unreadable_and_holds_the_spool(
        tmp_path: Path, raw: bytes) -> None:
    path = cursor_path(tmp_path, "hec")
    path.write_bytes(raw)
    with pytest.raises(UnreadableCursor):
        load_cursor(path)
    assert read_cursor(tmp_path, "hec") is None  # the store then releases nothing


def test_every_cut_of_a_record_is_unreadable(tmp_path: Path) -> None:
    # A record cut short (a file half-written, however it came to be) never gives a position.
    record = cursor_record((123_456, 987_654_321))
    for n in range(len(record) - 1):  # all but the newline
        assert parse_cursor(record[:n]) is None, record[:n]


def test_a_record_whose_check_fails_is_unreadable(tmp_path: Path) -> None:
    record = cursor_record((5, 100))
    bad = record.replace(b"100,", b"900,")
    assert len(bad) == len(record) and json.loads(bad)["off"] == 900
    assert parse_cursor(record) == (5, 100)
    assert parse_cursor(bad) is None


@settings(max_examples=200, deadline=None)
@given(old=positions, new=positions, mask=st.lists(st.booleans(), min_size=CURSOR_RECORD_BYTES,
                                                   max_size=CURSOR_RECORD_BYTES))
def test_a_torn_record_gives_the_old_position_the_new_one_or_none(
        old: tuple[int, int], new: tuple[int, int], mask: list[bool]) -> None:
    # A read racing a pwrite may see any mix of the two records' bytes (each field at its fixed
    # offset): never a third position.
    a, b = cursor_record(old), cursor_record(new)
    torn = bytes(y if m else x for x, y, m in zip(a, b, mask, strict=True))
    assert parse_cursor(torn) in (old, new, None)
    for cut in range(0, CURSOR_RECORD_BYTES, 7):  # the new record's head over the old tail
        assert parse_cursor(b[:cut] + a[cut:]) in (old, new, None)
        assert parse_cursor(a[:cut] + b[cut:]) in (old, new, None)


def test_a_torn_read_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = cursor_path(tmp_path, "hec")
    good = cursor_record((9, 90))
    torn = cursor_record((10, 5))[:30] + good[30:]
    assert parse_cursor(torn) is None
    reads = iter([torn, torn, good])
    monkeypatch.setattr(Path, "read_bytes", lambda self: next(reads))
    assert load_cursor(path) == (9, 90)


def test_positions_that_do_not_fit_a_record_are_refused() -> None:
    for pos in [(-1, 0), (0, -1), (10**20, 0)]:
        with pytest.raises(ValueError, match="out of range"):
            cursor_record(pos)


def test_a_reader_in_another_process_only_ever_sees_saved_positions(tmp_path: Path) -> None:
    # The plugin reads the cursor files the shipper overwrites: each read is a position that
    # was saved (they only grow here), never a torn mix, never unreadable.
    cursor = Cursor(tmp_path, "hec")
    cursor.save((1, 0))
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from logdriver.store import load_cursor
        path, last, n = Path({str(cursor.path)!r}), (0, 0), 0
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            pos = load_cursor(path)
            assert pos >= last and pos[1] == pos[0] * 1000003 % 10**15, pos
            last, n = pos, n + 1
        print(n, last)
    """)], stdout=subprocess.PIPE, text=True)
    seq = 1
    while reader.poll() is None:
        seq += 1
        cursor.save((seq, seq * 1000003 % 10**15))
    out, _ = reader.communicate()
    assert reader.returncode == 0, out
    reads = int(out.split()[0])
    assert reads > 100 and seq > 1000, (reads, seq)
    cursor.close()


def test_a_failed_write_keeps_the_position_and_the_next_save_replaces_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import logdriver.delivery.cursor as cursor_module

    cursor = Cursor(tmp_path, "hec")
    cursor.save((1, 10))

    def broken(fd: int, data: bytes, offset: int) -> int:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(cursor_module, "pwrite", broken)
    with pytest.raises(OSError):
        cursor.save((1, 20))
    assert cursor.position == (1, 20)
    assert load_cursor(cursor.path) == (1, 10)  # the old record, whole
    cursor.save((1, 30))  # the file is opened again (rename), not written in place
    assert load_cursor(cursor.path) == (1, 30)
    cursor.close()


def test_the_file_is_closed_by_close_or_when_the_cursor_is_dropped(tmp_path: Path) -> None:
    before = open_fds()
    cursor = Cursor(tmp_path, "hec")
    cursor.save((1, 0))
    assert len(open_fds() - before) == 1
    cursor.close()
    cursor.close()
    assert open_fds() <= before
    cursor.save((2, 0))  # opened again
    assert load_cursor(cursor.path) == (2, 0)
    del cursor
    gc.collect()
    assert open_fds() <= before


def test_a_save_takes_a_few_microseconds(tmp_path: Path) -> None:
    # The point of the record: no open, rename or JSON encoder per accepted request.
    cursor = Cursor(tmp_path, "hec")
    cursor.save((1, 0))
    t = time.perf_counter()
    for i in range(2000):
        cursor.save((1, i))
    per_save = (time.perf_counter() - t) / 2000
    assert per_save < 200e-6, per_save
    cursor.close()
