"""A worker's batch keeps each event's cursor position in 8 bytes, and any position at all."""

from __future__ import annotations

from array import array

from logdriver.delivery.records import packed, unpacked
from logdriver.delivery.worker import _Batch


def test_positions_are_kept_compactly_and_exactly() -> None:
    batch = _Batch()
    ends = [packed((7, 100)), packed((7, 200)), packed(((1 << 24) - 1, (1 << 40) - 1))]
    assert batch.add([b"a", b"bb", b"ccc"], ends) > 0
    assert isinstance(batch.ends, array) and batch.ends.itemsize == 8
    assert [unpacked(e) for e in batch.ends] == [(7, 100), (7, 200),
                                                 ((1 << 24) - 1, (1 << 40) - 1)]


def test_a_position_past_64_bits_is_kept_too() -> None:
    batch = _Batch()
    batch.add([b"a"], [packed((3, 5))])
    huge = packed((1 << 24, 9))  # segment number 2**24: 65 bits
    batch.add([b"b", b"c"], [packed((3, 6)), huge])
    assert list(batch.ends) == [packed((3, 5)), packed((3, 6)), huge]
    assert unpacked(batch.ends[-1]) == (1 << 24, 9)
    assert batch.events == [b"a", b"b", b"c"]
