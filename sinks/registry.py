"""Config type -> sink factory: the one place that builds a Sink from a SinkConfig."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from .datadog import DatadogConfig, DatadogSink
from .http import HttpConfig, HttpSink
from .loki import LokiConfig, LokiSink
from .otlp import OtlpConfig, OtlpSink
from .splunk import SplunkConfig, SplunkSink
from .util.base import Sink, SinkConfig

Factory = Callable[..., Sink]  # (config, *, transport=None) -> Sink

FACTORIES: dict[type, Factory] = {
    SplunkConfig: SplunkSink.from_config,
    DatadogConfig: DatadogSink.from_config,
    HttpConfig: HttpSink.from_config,
    LokiConfig: LokiSink.from_config,
    OtlpConfig: OtlpSink.from_config,
}


def create(config: SinkConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> Sink:
    """The sink for ``config`` with its HTTP client built; TLS files are read here, so a bad one
    raises SinkOptionError. ``transport`` replaces the network (tests). TypeError for a config
    type no sink registered."""
    try:
        factory = FACTORIES[type(config)]
    except KeyError:
        raise TypeError(f"no sink for {type(config).__name__}") from None
    return factory(config, transport=transport)
