"""Each vendor's sink (its HTTP side, encoders and their libraries) and RE2 are imported on first
use only: a process that parses log-opts, or ships to one sink, does not pay for the others'
memory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = """
import json, sys
import sinks
configs = sinks.configure({"splunk-url": "https://hec:8088", "splunk-token": "t"}, {})
parsed = sorted(m for m in sys.modules if m.startswith(("sinks.", "opentelemetry", "cramjam",
                                                        "re2")))
sinks.create(configs[0])
made = sorted(m for m in sys.modules if m.startswith(("sinks.", "opentelemetry", "cramjam")))
from sinks.otlp import OtlpSink
sinks.configure({"splunk-url": "https://hec:8088", "splunk-token": "t",
                 "multiline-pattern": "^[0-9]"}, {})
print(json.dumps([parsed, made, OtlpSink.__module__, "re2" in sys.modules]))
"""


def test_a_sink_is_imported_when_first_created() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, check=True,
                         text=True).stdout
    parsed, made, otlp_module, re2_after_a_pattern = json.loads(out)
    assert "sinks.splunk.config" in parsed and "sinks.otlp.config" in parsed
    assert not [m for m in parsed if m.endswith(".sink") or m.startswith(("opentelemetry",
                                                                          "cramjam", "re2"))]
    assert "sinks.splunk.sink" in made
    assert not [m for m in made if m.startswith(("sinks.otlp.sink", "sinks.loki.sink",
                                                 "opentelemetry", "cramjam"))]
    assert otlp_module == "sinks.otlp.sink"
    assert re2_after_a_pattern  # RE2 comes with the first regex option


def test_an_unknown_name_is_an_attribute_error() -> None:
    import sinks.splunk

    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        sinks.splunk.Nope  # noqa: B018
