"""Generic HTTP: one POST per batch to one URL.

``config`` (log-opts -> HttpConfig), ``encoder`` (json, ndjson, text), ``sink`` (HttpSink:
send, close). Answers are the generic table (``sinks.util.retry``); 401/403/407 is a
configuration fault (the credentials). Imports ``sinks.util`` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..util.lazy import lazy
from .config import HTTP_KEYS, HTTP_LIMITS, HTTP_PREFIX, HttpConfig

__all__ = ["HTTP_KEYS", "HTTP_LIMITS", "HTTP_PREFIX", "HttpConfig", "HttpSink"]

if TYPE_CHECKING:
    from .sink import HttpSink


__getattr__ = lazy(__name__, {"HttpSink": ".sink"})  # on first use (util/lazy.py)
