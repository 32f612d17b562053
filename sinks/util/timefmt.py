"""Timestamps in each vendor's wire format, from a record's nanoseconds since the epoch."""

from __future__ import annotations

import datetime
import functools

NS_PER_SECOND = 1_000_000_000
NS_PER_MS = 1_000_000


def hec_time(time_ns: int) -> str:
    """Docker's splunk driver: ``fmt.Sprintf("%f", float64(UnixNano())/float64(time.Second))``.

    The int is rounded to a float64 first, then divided, exactly as Go does: at today's epoch
    the sixth decimal can differ by one from the true microsecond.
    """
    return "%f" % (float(time_ns) / 1e9)


def epoch_ms(time_ns: int) -> int:
    """Milliseconds since the epoch (Datadog's ``timestamp``)."""
    return time_ns // NS_PER_MS


def rfc3339nano(time_ns: int) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: trailing zeros of the fraction dropped, no "." if none."""
    seconds, nanos = divmod(time_ns, NS_PER_SECOND)
    fraction = f"{nanos:09d}".rstrip("0")
    return _utc_seconds(seconds) + (f".{fraction}" if fraction else "") + "Z"


@functools.lru_cache(maxsize=16)  # log lines come many to a second
def _utc_seconds(seconds: int) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
