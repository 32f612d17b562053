"""Loopback fake receivers for the delivery tests: Splunk HEC, Datadog Logs intake, generic HTTP,
Grafana Loki, OpenTelemetry OTLP/HTTP logs.

Each is an aiohttp server on 127.0.0.1 that runs in a thread of its own (``with FakeHec() as hec``)
or as a child process (``python -m tests.fakes.hec --port 0 --print-port``, or FakeProcess("hec")).
The classes are loaded lazily so that ``python -m tests.fakes.X`` does not import X twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .common import Answer, FakeProcess, FakeServer, Recorded, wait_for
    from .datadog import FakeDatadog
    from .hec import FakeHec
    from .http import FakeHttp
    from .loki import FakeLoki
    from .otlp import FakeOtlp

_WHERE = {
    "Answer": "common", "FakeProcess": "common", "FakeServer": "common", "Recorded": "common",
    "wait_for": "common", "FakeHec": "hec", "FakeDatadog": "datadog", "FakeHttp": "http",
    "FakeLoki": "loki", "FakeOtlp": "otlp",
}
__all__ = [
    "Answer", "FakeDatadog", "FakeHec", "FakeHttp", "FakeLoki", "FakeOtlp", "FakeProcess",
    "FakeServer", "Recorded", "wait_for",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
