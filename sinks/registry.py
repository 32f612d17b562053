"""Config type -> sink factory: the one place that builds a Sink from a SinkConfig."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from .datadog import DatadogConfig
from .http import HttpConfig
from .loki import LokiConfig
from .otlp import OtlpConfig
from .splunk import SplunkConfig
from .util.base import Sink, SinkConfig

if TYPE_CHECKING:
    import httpx

Factory = Callable[..., Sink]  # (config, *, transport=None) -> Sink

# config type -> (module, class): imported by ``create`` on first use, so a process imports
# only the sinks its containers use (the OTLP sink's protobuf messages, Loki's snappy codec).
FACTORIES: dict[type, tuple[str, str]] = {
    SplunkConfig: ("sinks.splunk.sink", "SplunkSink"),
    DatadogConfig: ("sinks.datadog.sink", "DatadogSink"),
    HttpConfig: ("sinks.http.sink", "HttpSink"),
    LokiConfig: ("sinks.loki.sink", "LokiSink"),
    OtlpConfig: ("sinks.otlp.sink", "OtlpSink"),
}


def factory(config_type: type) -> Factory:
    """``from_config`` of the sink class for ``config_type``; KeyError if none is registered."""
    module, name = FACTORIES[config_type]
    factory: Factory = getattr(importlib.import_module(module), name).from_config
    return factory


def create(config: SinkConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> Sink:
    """The sink for ``config`` with its HTTP client built; TLS files are read here, so a bad one
    raises SinkOptionError. ``transport`` replaces the network (tests). TypeError for a config
    type no sink registered."""
    try:
        make = factory(type(config))
    except KeyError:
        raise TypeError(f"no sink for {type(config).__name__}") from None
    return make(config, transport=transport)
