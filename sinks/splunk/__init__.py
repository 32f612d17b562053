"""Splunk HEC, as a drop-in for Docker's ``splunk`` driver.

``config`` (log-opts -> SplunkConfig), ``encoder`` (Docker's envelopes, byte for byte),
``sink`` (SplunkSink: send with failover, verify, close), ``answer`` (HEC's codes -> Answer),
``ack`` (indexer acknowledgement). Imports ``sinks.util`` only.
"""

from .config import SPLUNK_KEYS, SplunkConfig
from .sink import SplunkSink

__all__ = ["SPLUNK_KEYS", "SplunkConfig", "SplunkSink"]
