"""The exceptions a sink raises: bad options and a failed start-up check. Never carry a secret."""

from __future__ import annotations


class SinkOptionError(ValueError):
    """A log-opt (or its environment fallback) that cannot be used; the message names the key."""


class SinkVerifyError(SinkOptionError):
    """The start-up connection check failed (e.g. ``splunk-verify-connection``)."""
