"""How long the plugin takes to answer each plugin API call: a histogram per endpoint, for /metrics.

Kept apart from observe.py so the driver, which records the times, does not import the module that
reports on the driver.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.core import HistogramMetricFamily

API_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 30.0)


class RequestTimes:
    """How long the plugin took to answer each kind of API call (a histogram per endpoint)."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def observe(self, endpoint: str, seconds: float) -> None:
        counts = self.counts.setdefault(endpoint, [0] * (len(API_BUCKETS) + 1))
        counts[bisect_left(API_BUCKETS, seconds)] += 1
        self.sums[endpoint] = self.sums.get(endpoint, 0.0) + seconds

    def family(self) -> HistogramMetricFamily:
        from prometheus_client.core import HistogramMetricFamily  # at a scrape (observe.py)

        hist = HistogramMetricFamily("logdriver_api_request_duration_seconds",
                                     "Time to answer the daemon's (and operators') API calls",
                                     labels=["endpoint"])
        for endpoint, counts in sorted(self.counts.items()):
            hist.add_metric([endpoint], histogram_buckets(API_BUCKETS, counts),
                            sum_value=self.sums[endpoint])
        return hist


def histogram_buckets(bounds: tuple[float, ...], counts: list[int]) -> list[tuple[str, int]]:
    """Prometheus histogram buckets (cumulative, ending at +Inf) from per-bucket counts."""
    return list(zip([*map(str, bounds), "+Inf"], accumulate(counts), strict=True))
