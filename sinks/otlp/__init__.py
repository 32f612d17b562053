"""OpenTelemetry OTLP/HTTP logs sink (``otlp-*``): config, encoder, answer table, sink."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..util.lazy import lazy
from .config import OTLP_KEYS, OTLP_PREFIX, OtlpConfig

__all__ = ["OTLP_KEYS", "OTLP_PREFIX", "OtlpConfig", "OtlpSink"]

if TYPE_CHECKING:
    from .sink import OtlpSink


__getattr__ = lazy(__name__, {"OtlpSink": ".sink"})  # on first use (util/lazy.py)
