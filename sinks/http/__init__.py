"""Generic HTTP: one POST per batch to one URL.

``config`` (log-opts -> HttpConfig), ``encoder`` (json, ndjson, text), ``sink`` (HttpSink:
send, close). Answers are the generic table (``sinks.util.retry``); 401/403/407 is a
configuration fault (the credentials). Imports ``sinks.util`` only.
"""

from .config import HTTP_KEYS, HTTP_LIMITS, HTTP_PREFIX, HttpConfig
from .sink import HttpSink

__all__ = ["HTTP_KEYS", "HTTP_LIMITS", "HTTP_PREFIX", "HttpConfig", "HttpSink"]
