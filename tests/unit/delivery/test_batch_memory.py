"""A worker's batch is one request: events read past its limits wait for the next one, and the
cursor position it keeps is its last event's, whatever its size."""

from __future__ import annotations

import gc
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logdriver.delivery.batch import Batch, fill
from logdriver.delivery.records import packed, unpacked
from sinks import BatchConfig, Body, batch_cost, batch_fit
from sinks.util.body import BACK_TO_BACK, EVENT_LIST, JSON_ARRAY, Framing, framed

CONFIG = BatchConfig(events=4, bytes=10, wait_seconds=1.0)
FRAMINGS = [BACK_TO_BACK, JSON_ARRAY, EVENT_LIST]


def ends(n: int, first: int = 1) -> list[int]:
    return [packed((7, first + i)) for i in range(n)]


def take(batch: Batch, events: list[bytes], marks: list[int],
         config: BatchConfig = CONFIG) -> Batch | None:
    """What the worker does with a take: encode into the batch's body, then cut it."""
    batch.body.extend(events)
    batch.marks += marks
    return fill(batch, config)


def new(framing: Framing = BACK_TO_BACK) -> Batch:
    return Batch(Body(framing))


@pytest.mark.parametrize("framing", FRAMINGS)
def test_what_fits_goes_in_and_the_batch_keeps_its_last_position(framing: Framing) -> None:
    batch = new(framing)
    assert take(batch, [b"a", b"bb"], ends(2)) is None
    assert (batch.body.events(), batch.size, unpacked(batch.end)) == ([b"a", b"bb"], 5, (7, 2))
    assert bytes(batch.body.payload()) == framed(framing, [b"a", b"bb"])


@pytest.mark.parametrize("framing", FRAMINGS)
def test_a_take_past_the_byte_limit_is_cut_and_the_rest_kept_in_order(framing: Framing) -> None:
    batch = new(framing)
    rest = take(batch, [b"aaa", b"bbb", b"ccc", b"d"], ends(4))
    assert batch.body.events() == [b"aaa", b"bbb"]
    assert batch.size == batch_cost(batch.body.events()) == 8
    assert unpacked(batch.end) == (7, 2)
    assert rest is not None and rest.body.events() == [b"ccc", b"d"] and rest.marks == ends(2, 3)
    assert fill(rest, CONFIG) is None  # the next batch starts with it
    assert unpacked(rest.end) == (7, 4)
    assert bytes(rest.body.payload()) == framed(framing, [b"ccc", b"d"])
    assert bytes(batch.body.payload()) == framed(framing, [b"aaa", b"bbb"])


def test_a_take_past_the_event_limit_is_cut() -> None:
    batch = new()
    rest = take(batch, [b"a"] * 6, ends(6))
    assert len(batch) == 4 and unpacked(batch.end) == (7, 4)
    assert rest is not None and rest.marks == ends(2, 5)


@pytest.mark.parametrize("framing", FRAMINGS)
def test_an_event_over_the_limit_goes_alone_never_dropped(framing: Framing) -> None:
    batch = new(framing)
    rest = take(batch, [b"x" * 50, b"y"], ends(2))
    assert batch.body.events() == [b"x" * 50] and rest is not None
    assert rest.body.events() == [b"y"]
    alone = new(framing)
    assert take(alone, [b"z" * 50], ends(1)) is None  # nothing left behind
    assert alone.body.events() == [b"z" * 50] and unpacked(alone.end) == (7, 1)
    partly = new(framing)
    assert take(partly, [b"a"], ends(1)) is None
    rest = take(partly, [b"x" * 50], ends(1, 2))
    assert partly.body.events() == [b"a"] and rest is not None
    assert rest.body.events() == [b"x" * 50]


def test_a_position_past_64_bits_is_kept_exactly() -> None:
    batch = new()
    huge = packed((1 << 24, 9))  # segment number 2**24: 65 bits
    take(batch, [b"b"], [huge])
    assert unpacked(batch.end) == (1 << 24, 9)


@given(st.lists(st.binary(max_size=12), min_size=1, max_size=40),
       st.integers(1, 50), st.integers(1, 120), st.sampled_from(FRAMINGS),
       st.integers(1, 5))
def test_cutting_the_body_is_batch_fit_over_the_events(
        events: list[bytes], max_events: int, max_bytes: int, framing: Framing,
        takes: int) -> None:
    """Taken in ``takes`` parts and cut after each, the batches are the ones ``batch_fit`` makes
    of the event list, each body the old joined body of its events and never longer than the
    limit plus the framing's opening."""
    config = BatchConfig(events=max_events, bytes=max_bytes, wait_seconds=1.0)
    marks = ends(len(events))
    step = -(-len(events) // takes)
    got: list[list[bytes]] = []
    batch = new(framing)
    for i in range(0, len(events), step):
        rest = take(batch, events[i : i + step], marks[i : i + step], config)
        while rest is not None:
            got.append(batch.body.events())
            batch, rest = rest, fill(rest, config)
    got.append(batch.body.events())
    want: list[list[bytes]] = []
    left = events
    while left:
        k, _cost = batch_fit(left, max_events=max_events, max_bytes=max_bytes)
        k = max(k, 1)
        want.append(left[:k])
        left = left[k:]
    assert got == want
    for part in got:  # each as its own body: the old join, within the limit when it fits
        body = Body.of(framing, part)
        assert bytes(body.payload()) == framed(framing, part)
        if len(part) > 1:
            assert len(body.payload()) <= body.cost(len(part)) + len(framing.opening)
            assert body.cost(len(part)) == batch_cost(part) <= max_bytes


@pytest.mark.parametrize("make", [lambda: Body(JSON_ARRAY), lambda: Body.of(BACK_TO_BACK, [b"a"]),
                                  lambda: Body.of(BACK_TO_BACK, [b""]),
                                  lambda: Body.of(EVENT_LIST, [b"a", b""])])
def test_a_body_goes_with_its_last_reference_not_at_a_collection(make: Any) -> None:
    """No reference cycle: a sent batch's buffer is freed at once, not when the cyclic
    collector runs (rarely, on a path that allocates few containers: the scale case's shipper
    held megabytes per worker that way)."""
    gc.disable()
    try:
        body = make()
        assert body.key is not None
        buf = body.buf
        before = sys.getrefcount(buf)
        del body
        assert sys.getrefcount(buf) == before - 1
    finally:
        gc.enable()


@given(st.lists(st.lists(st.binary(max_size=6), max_size=8), min_size=1, max_size=5),
       st.integers(0, 40), st.integers(1, 12))
def test_a_listed_body_counts_and_cuts_as_its_bytes_would(takes: list[list[bytes]], cut: int,
                                                         max_bytes: int) -> None:
    """Loki's and OTLP's body keeps the event objects (no copy in, none out) and answers every
    question about them as a back-to-back body of the same events does."""
    listed, joined = Body(EVENT_LIST), Body(BACK_TO_BACK)
    for events in takes:
        listed.extend(events)
        joined.extend(events)
    every = [e for events in takes for e in events]
    assert listed.events() == joined.events() == every and not listed.buf
    assert all(a is b for a, b in zip(listed.events(), every, strict=True))
    assert listed.wire_events() == joined.wire_events() == [e for e in every if e]
    assert list(listed.ends) == list(joined.ends) and listed.empty == joined.empty
    assert listed.nonempty_indices() == joined.nonempty_indices()
    assert listed.fit(len(every), max_bytes) == joined.fit(len(every), max_bytes)
    assert bytes(listed.payload()) == bytes(joined.payload())
    k = min(cut, len(every))
    rest_l, rest_j = listed.cut(k), joined.cut(k)
    for a, b in ((listed, joined), (rest_l, rest_j)):
        assert a.events() == b.events() and a.wire_events() == b.wire_events()
        assert (a.empty, a.cost(len(a))) == (b.empty, b.cost(len(b)))
        assert a.nonempty_indices() == b.nonempty_indices()
    listed.clear()
    assert listed.events() == [] and len(listed) == 0
