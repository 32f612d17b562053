"""Splunk HEC, as a drop-in for Docker's ``splunk`` driver.

``config`` (log-opts -> SplunkConfig), ``encoder`` (Docker's envelopes, byte for byte),
``sink`` (SplunkSink: send with failover, verify, close), ``answer`` (HEC's codes -> Answer),
``ack`` (indexer acknowledgement). Imports ``sinks.util`` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..util.lazy import lazy
from .config import SPLUNK_KEYS, SplunkConfig

__all__ = ["SPLUNK_KEYS", "SplunkConfig", "SplunkSink"]

if TYPE_CHECKING:
    from .sink import SplunkSink


__getattr__ = lazy(__name__, {"SplunkSink": ".sink"})  # on first use (util/lazy.py)
