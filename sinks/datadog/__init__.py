"""Datadog Logs intake v2.

``config`` (log-opts -> DatadogConfig), ``encoder`` (log items with the agent's Docker tags),
``sink`` (DatadogSink: send, close). Answers are the generic table (``sinks.util.retry``); a
401/403 is a configuration fault (the API key). Imports ``sinks.util`` only.
"""

from .config import DATADOG_KEYS, DATADOG_PREFIX, DatadogConfig
from .sink import DatadogSink

__all__ = ["DATADOG_KEYS", "DATADOG_PREFIX", "DatadogConfig", "DatadogSink"]
