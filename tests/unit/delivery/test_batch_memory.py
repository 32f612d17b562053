"""A worker's batch is one request: events read past its limits wait for the next one, and the
cursor position it keeps is its last event's, whatever its size."""

from __future__ import annotations

from logdriver.delivery.batch import Batch, Taken, fill
from logdriver.delivery.records import packed, unpacked
from sinks import BatchConfig, batch_cost

CONFIG = BatchConfig(events=4, bytes=10, wait_seconds=1.0)


def ends(n: int, first: int = 1) -> list[int]:
    return [packed((7, first + i)) for i in range(n)]


def test_what_fits_goes_in_and_the_batch_keeps_its_last_position() -> None:
    batch = Batch()
    assert fill(batch, Taken([b"a", b"bb"], ends(2)), CONFIG) is None
    assert (batch.events, batch.size, unpacked(batch.end)) == ([b"a", b"bb"], 5, (7, 2))


def test_a_take_past_the_byte_limit_is_cut_and_the_rest_kept_in_order() -> None:
    batch = Batch()
    rest = fill(batch, Taken([b"aaa", b"bbb", b"ccc", b"d"], ends(4)), CONFIG)
    assert batch.events == [b"aaa", b"bbb"] and batch.size == batch_cost(batch.events) == 8
    assert unpacked(batch.end) == (7, 2)
    assert rest is not None and rest.events == [b"ccc", b"d"] and rest.ends == ends(2, 3)
    following = Batch()
    assert fill(following, rest, CONFIG) is None
    assert following.events == [b"ccc", b"d"] and unpacked(following.end) == (7, 4)


def test_a_take_past_the_event_limit_is_cut() -> None:
    batch = Batch()
    rest = fill(batch, Taken([b"a"] * 6, ends(6)), CONFIG)
    assert len(batch.events) == 4 and unpacked(batch.end) == (7, 4)
    assert rest is not None and rest.ends == ends(2, 5)


def test_an_event_over_the_limit_goes_alone_never_dropped() -> None:
    batch = Batch()
    rest = fill(batch, Taken([b"x" * 50, b"y"], ends(2)), CONFIG)
    assert batch.events == [b"x" * 50] and rest is not None and rest.events == [b"y"]
    alone = Batch()
    assert fill(alone, Taken([b"z" * 50], ends(1)), CONFIG) is None  # nothing left behind
    assert alone.events == [b"z" * 50] and unpacked(alone.end) == (7, 1)
    partly = Batch()
    assert fill(partly, Taken([b"a"], ends(1)), CONFIG) is None
    rest = fill(partly, Taken([b"x" * 50], ends(1, 2)), CONFIG)
    assert partly.events == [b"a"] and rest is not None and rest.events == [b"x" * 50]


def test_a_position_past_64_bits_is_kept_exactly() -> None:
    batch = Batch()
    huge = packed((1 << 24, 9))  # segment number 2**24: 65 bits
    fill(batch, Taken([b"b"], [huge]), CONFIG)
    assert unpacked(batch.end) == (1 << 24, 9)
