"""Batch limits: options and env defaults, vendor ceilings, and cutting events into requests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sinks.util.batch import (
    SEPARATOR_ALLOWANCE,
    BatchLimits,
    JoinConfig,
    batch_config,
    batch_cost,
    batch_fit,
    plan_batches,
)
from sinks.util.errors import SinkOptionError

from ..helpers import halves

LIMITS = BatchLimits(default_events=1000, default_bytes=1_000_000, default_wait_seconds=5.0,
                     max_events=1000, max_bytes=5_000_000)


def test_defaults() -> None:
    cfg = batch_config({}, {}, LIMITS)
    assert (cfg.events, cfg.bytes, cfg.wait_seconds) == (1000, 1_000_000, 5.0)


def test_log_opts_override_env_which_overrides_defaults() -> None:
    env = {"LOGDRIVER_BATCH_SIZE": "10", "LOGDRIVER_BATCH_BYTES": "64k",
           "LOGDRIVER_BATCH_WAIT": "250ms"}
    assert batch_config({}, env, LIMITS) == batch_config(
        {"batch-size": "10", "batch-bytes": "64000", "batch-wait": "0.25s"}, {}, LIMITS)
    cfg = batch_config({"batch-size": "20", "batch-wait": "1m"}, env, LIMITS)
    assert (cfg.events, cfg.bytes, cfg.wait_seconds) == (20, 64_000, 60.0)


def test_sink_specific_env_sits_between_log_opts_and_plugin_env() -> None:
    env = {"LOGDRIVER_BATCH_SIZE": "10", "SPECIFIC": "30"}
    assert batch_config({}, env, LIMITS, extra_env={"batch-size": "SPECIFIC"}).events == 30
    assert batch_config({"batch-size": "5"}, env, LIMITS,
                        extra_env={"batch-size": "SPECIFIC"}).events == 5


def test_values_above_a_vendor_ceiling_are_lowered_to_it() -> None:
    cfg = batch_config({"batch-size": "5000", "batch-bytes": "10m"}, {}, LIMITS)
    assert (cfg.events, cfg.bytes) == (1000, 5_000_000)


def test_batch_bytes_uses_decimal_units_like_dockers_max_size() -> None:
    assert batch_config({"batch-bytes": "5m"}, {}, LIMITS).bytes == 5_000_000
    assert batch_config({"batch-bytes": "1.5MB"}, {}, LIMITS).bytes == 1_500_000
    assert batch_config({"batch-bytes": "2 kb"}, {}, LIMITS).bytes == 2_000


@pytest.mark.parametrize(("opts", "env", "named"), [
    ({"batch-size": "0"}, {}, "log-opt 'batch-size'"),
    ({"batch-size": "ten"}, {}, "log-opt 'batch-size'"),
    ({"batch-size": " 10"}, {}, "log-opt 'batch-size'"),
    ({"batch-bytes": "lots"}, {}, "log-opt 'batch-bytes'"),
    ({"batch-bytes": "10"}, {}, "log-opt 'batch-bytes'"),  # below the 1 KiB minimum
    ({"batch-wait": "5"}, {}, "log-opt 'batch-wait'"),  # Go needs a unit
    ({"batch-wait": "0s"}, {}, "log-opt 'batch-wait'"),
    ({"batch-wait": "-1s"}, {}, "log-opt 'batch-wait'"),
    ({}, {"LOGDRIVER_BATCH_WAIT": "soon"}, "environment variable LOGDRIVER_BATCH_WAIT"),
    ({}, {"LOGDRIVER_BATCH_SIZE": "-3"}, "environment variable LOGDRIVER_BATCH_SIZE"),
])
def test_bad_values_name_their_source(opts: dict[str, str], env: dict[str, str],
                                      named: str) -> None:
    with pytest.raises(SinkOptionError, match=named):
        batch_config(opts, env, LIMITS)


def test_plan_cuts_at_the_event_limit() -> None:
    assert plan_batches([10] * 7, max_events=3, max_bytes=10_000) == [
        range(0, 3), range(3, 6), range(6, 7)]


def test_plan_cuts_at_the_byte_limit_counting_separators() -> None:
    cost = 10 + SEPARATOR_ALLOWANCE
    plans = plan_batches([10] * 10, max_events=1000, max_bytes=cost * 4)
    assert plans == [range(0, 4), range(4, 8), range(8, 10)]
    assert plan_batches([10] * 4, max_events=1000, max_bytes=cost * 4 - 1) == [
        range(0, 3), range(3, 4)]


def test_plan_gives_an_oversized_event_a_batch_of_its_own() -> None:
    assert plan_batches([5, 500, 5, 5], max_events=10, max_bytes=100) == [
        range(0, 1), range(1, 2), range(2, 4)]


def _plan_by_hand(sizes: list[int], max_events: int, max_bytes: int) -> list[range]:
    batches, start, used = [], 0, 0
    for i, size in enumerate(sizes):
        cost = size + SEPARATOR_ALLOWANCE
        if i > start and (i - start >= max_events or used + cost > max_bytes):
            batches.append(range(start, i))
            start, used = i, 0
        used += cost
    if start < len(sizes):
        batches.append(range(start, len(sizes)))
    return batches


@given(st.lists(st.integers(0, 300), max_size=60), st.integers(1, 8), st.integers(1, 900))
def test_plan_is_the_greedy_cut(sizes: list[int], max_events: int, max_bytes: int) -> None:
    assert plan_batches(sizes, max_events=max_events, max_bytes=max_bytes) == _plan_by_hand(
        sizes, max_events, max_bytes)


def test_plan_of_nothing_is_nothing() -> None:
    assert plan_batches([], max_events=10, max_bytes=100) == []


def test_batch_cost_matches_the_plan() -> None:
    encoded = [b"a" * 10, b"b" * 20]
    assert batch_cost(encoded) == 30 + 2 * SEPARATOR_ALLOWANCE
    assert plan_batches([len(e) for e in encoded], max_events=10,
                        max_bytes=batch_cost(encoded)) == [range(0, 2)]


def test_halves_split_a_batch_for_a_413() -> None:
    assert halves(range(4, 9)) == (range(4, 6), range(6, 9))
    assert halves(range(0, 2)) == (range(0, 1), range(1, 2))


def test_join_config_defaults_and_validation() -> None:
    cfg = JoinConfig.from_options({})
    assert (cfg.partial_max_size, cfg.multiline_pattern, cfg.multiline_timeout) == (
        1_000_000, None, 1.0)
    cfg = JoinConfig.from_options({"partial-max-size": "256k", "multiline-pattern": r"^\S",
                                   "multiline-timeout": "500ms"})
    assert cfg.partial_max_size == 256_000 and cfg.multiline_timeout == 0.5
    assert cfg.multiline_pattern is not None and cfg.multiline_pattern.search("x")
    for key, value in (("partial-max-size", "1k"), ("multiline-pattern", "(["),
                       ("multiline-timeout", "1")):
        with pytest.raises(SinkOptionError, match=f"log-opt '{key}'"):
            JoinConfig.from_options({key: value})


@given(st.lists(st.integers(0, 600), max_size=1200), st.integers(0, 1300),
       st.integers(-1, 200_000))
def test_batch_fit_is_the_longest_prefix_within_both_limits(
        sizes: list[int], max_events: int, max_bytes: int) -> None:
    encoded = [b"x" * size for size in sizes]
    n, cost = batch_fit(encoded, max_events=max_events, max_bytes=max_bytes)
    want = 0
    while (want < min(len(encoded), max_events)
           and batch_cost(encoded[: want + 1]) <= max_bytes):
        want += 1
    assert (n, cost) == (want, batch_cost(encoded[:want]))
