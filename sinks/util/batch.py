"""Batching and line-joining options, and how encoded events are cut into requests."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, islice, repeat
from operator import add

from .goregexp import GoRegexp
from .parse import env_var as env_label
from .parse import opt, parse_duration, parse_int, parse_regex, parse_size

BATCH_SIZE = "batch-size"
BATCH_BYTES = "batch-bytes"
BATCH_WAIT = "batch-wait"
PARTIAL_MAX_SIZE = "partial-max-size"
MULTILINE_PATTERN = "multiline-pattern"
MULTILINE_TIMEOUT = "multiline-timeout"
BATCH_KEYS = frozenset({BATCH_SIZE, BATCH_BYTES, BATCH_WAIT})
JOIN_KEYS = frozenset({PARTIAL_MAX_SIZE, MULTILINE_PATTERN, MULTILINE_TIMEOUT})

ENV_BATCH_SIZE = "LOGDRIVER_BATCH_SIZE"  # plugin-wide defaults; log-opts override them
ENV_BATCH_BYTES = "LOGDRIVER_BATCH_BYTES"
ENV_BATCH_WAIT = "LOGDRIVER_BATCH_WAIT"

FIT_CHUNK = 256  # events whose lengths batch_fit sums at once
SEPARATOR_ALLOWANCE = 1  # bytes counted per event for its separator (",", "\n"; HEC has none)
MIN_BATCH_BYTES = 1024  # smaller batches would cost more in request overhead than they carry
DEFAULT_PARTIAL_MAX_SIZE = 1_000_000  # "1m": Datadog's own per-log limit; Docker cuts at 16 KiB
MIN_PARTIAL_MAX_SIZE = 16 * 1024  # Docker's partial piece; joining less than one is meaningless
DEFAULT_MULTILINE_TIMEOUT = 1.0  # seconds: the longest a multi-line event spans from its first line


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """When a batch is flushed: at ``events`` events, ``bytes`` bytes, or ``wait_seconds`` age.

    ``bytes`` counts each encoded event plus ``SEPARATOR_ALLOWANCE``; see ``plan_batches``.
    """

    events: int
    bytes: int
    wait_seconds: float


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """One sink's defaults and API ceilings; a configured value above a ceiling is lowered to it."""

    default_events: int
    default_bytes: int
    default_wait_seconds: float
    max_events: int
    max_bytes: int


def batch_config(
    opts: Mapping[str, str],
    env: Mapping[str, str],
    limits: BatchLimits,
    *,
    extra_env: Mapping[str, str] | None = None,
) -> BatchConfig:
    """Log-opt, else a sink-specific env var (``extra_env``), else ``LOGDRIVER_BATCH_*``, else
    the sink's default. Values above the sink's API ceiling are lowered to it.

    ``extra_env`` maps a batch key to a more specific environment variable (Docker's splunk driver
    reads ``SPLUNK_LOGGING_DRIVER_POST_MESSAGES_BATCH_SIZE``, for example).
    """
    specific = extra_env or {}

    def pick(key: str, env_name: str) -> tuple[str, str] | None:
        if key in opts:
            return opts[key], opt(key)
        for name in (specific.get(key), env_name):
            if name and env.get(name):
                return env[name], env_label(name)
        return None

    events = limits.default_events
    if (found := pick(BATCH_SIZE, ENV_BATCH_SIZE)) is not None:
        events = parse_int(found[1], found[0], minimum=1)
    size = limits.default_bytes
    if (found := pick(BATCH_BYTES, ENV_BATCH_BYTES)) is not None:
        size = parse_size(found[1], found[0], minimum=MIN_BATCH_BYTES)
    wait = limits.default_wait_seconds
    if (found := pick(BATCH_WAIT, ENV_BATCH_WAIT)) is not None:
        wait = parse_duration(found[1], found[0])
    return BatchConfig(min(events, limits.max_events), min(size, limits.max_bytes), wait)


@dataclass(frozen=True, slots=True)
class JoinConfig:
    """How the caller joins lines before they reach a sink (the sinks only validate these)."""

    partial_max_size: int = DEFAULT_PARTIAL_MAX_SIZE
    multiline_pattern: GoRegexp | None = field(default=None, compare=False)  # Go (RE2) syntax
    multiline_timeout: float = DEFAULT_MULTILINE_TIMEOUT

    @classmethod
    def from_options(cls, opts: Mapping[str, str]) -> JoinConfig:
        size = DEFAULT_PARTIAL_MAX_SIZE
        if PARTIAL_MAX_SIZE in opts:
            size = parse_size(opt(PARTIAL_MAX_SIZE), opts[PARTIAL_MAX_SIZE],
                              minimum=MIN_PARTIAL_MAX_SIZE)
        pattern = None
        if MULTILINE_PATTERN in opts:
            pattern = parse_regex(opt(MULTILINE_PATTERN), opts[MULTILINE_PATTERN])
        timeout = DEFAULT_MULTILINE_TIMEOUT
        if MULTILINE_TIMEOUT in opts:
            timeout = parse_duration(opt(MULTILINE_TIMEOUT), opts[MULTILINE_TIMEOUT])
        return cls(size, pattern, timeout)


def batch_cost(encoded: Sequence[bytes]) -> int:
    """What a batch of these encoded events counts against ``BatchConfig.bytes``."""
    return sum(map(len, encoded)) + SEPARATOR_ALLOWANCE * len(encoded)


def batch_fit(encoded: Sequence[bytes], *, max_events: int, max_bytes: int) -> tuple[int, int]:
    """How many of the first ``encoded`` events fit within both limits, and what they cost
    (``batch_cost``): (0, 0) when the first alone costs more than ``max_bytes``.

    One pass over the lengths, summed ``FIT_CHUNK`` at a time (no int object per event); only
    the chunk where the limit falls is summed event by event."""
    n = min(len(encoded), max_events)
    lengths = map(len, encoded)
    done = cost = 0
    while done < n:
        step = min(FIT_CHUNK, n - done)
        part = sum(islice(lengths, step)) + SEPARATOR_ALLOWANCE * step
        if cost + part > max_bytes:
            chunk = encoded[done : done + step]
            costs = list(accumulate(map(add, map(len, chunk), repeat(SEPARATOR_ALLOWANCE)),
                                    initial=cost))  # costs[j]: with the chunk's first j events
            k = max(bisect_right(costs, max_bytes) - 1, 0)
            return done + k, costs[k]
        cost += part
        done += step
    return n, cost


def plan_batches(sizes: Sequence[int], *, max_events: int, max_bytes: int) -> list[range]:
    """Cut events (by encoded size, in order) into consecutive batches within both limits.

    An event whose cost alone exceeds ``max_bytes`` gets a batch of its own: the server decides
    (a 413 for it becomes a DROP in the sink), so nothing is dropped here.
    """
    n = len(sizes)
    # costs[i]: what events 0..i cost together (bisect finds each cut without a Python loop)
    costs = list(accumulate(map(add, sizes, repeat(SEPARATOR_ALLOWANCE))))
    batches: list[range] = []
    start = 0
    while start < n:
        before = costs[start - 1] if start else 0
        stop = min(bisect_right(costs, before + max_bytes, start), start + max_events, n)
        stop = max(stop, start + 1)
        batches.append(range(start, stop))
        start = stop
    return batches

