"""Datadog Logs intake v2.

``config`` (log-opts -> DatadogConfig), ``encoder`` (log items with the agent's Docker tags),
``sink`` (DatadogSink: send, close). Answers are the generic table (``sinks.util.retry``); a
401/403 is a configuration fault (the API key). Imports ``sinks.util`` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..util.lazy import lazy
from .config import DATADOG_KEYS, DATADOG_PREFIX, DatadogConfig

__all__ = ["DATADOG_KEYS", "DATADOG_PREFIX", "DatadogConfig", "DatadogSink"]

if TYPE_CHECKING:
    from .sink import DatadogSink


__getattr__ = lazy(__name__, {"DatadogSink": ".sink"})  # on first use (util/lazy.py)
