"""Grafana Loki sink: a drop-in for Loki's Docker driver (``loki-*`` log-opts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..util.lazy import lazy
from ..util.record import Context
from .config import LOKI_KEYS, LOKI_PREFIX, LokiConfig
from .labels import container_labels

__all__ = ["LOKI_KEYS", "LOKI_PREFIX", "LokiConfig", "LokiSink", "check_context"]


def check_context(config: LokiConfig, ctx: Context) -> None:
    """Build the container's labels once at its start, so a template that fails or labels over
    Loki's limits refuse the container (as Loki's driver does) rather than its delivery."""
    container_labels(config, ctx)


if TYPE_CHECKING:
    from .sink import LokiSink

__getattr__ = lazy(__name__, {"LokiSink": ".sink"})  # on first use (util/lazy.py)
