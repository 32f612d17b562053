"""OpenTelemetry OTLP/HTTP logs sink (``otlp-*``): config, encoder, answer table, sink."""

from __future__ import annotations

from .config import OTLP_KEYS, OTLP_PREFIX, OtlpConfig
from .sink import OtlpSink

__all__ = ["OTLP_KEYS", "OTLP_PREFIX", "OtlpConfig", "OtlpSink"]
