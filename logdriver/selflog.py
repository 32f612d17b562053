"""The plugin's own log lines: a fixed message, then its fields as key=value, on stdout (dockerd
and journald pick them up from there). Kept apart from the CLI so the shipper process can use it
without importing the plugin's HTTP server."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    """A fixed message followed by its fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        fields = " ".join(
            f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}"
            for k, v in record.__dict__.items()
            if k not in _STANDARD
        )
        return f"{base} {fields}" if fields else base


def setup_logging(level: str, stream: TextIO | None = None) -> None:
    """Log at ``level`` to ``stream`` (stdout; the shipper, whose stdout carries its counters to
    the plugin, passes stderr, which it shares with the plugin)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx/httpcore log every request at INFO: a line per batch sent, which costs CPU on the
    # delivery path and buries the plugin's own messages. Their warnings still show.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
