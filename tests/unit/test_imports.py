"""Each process imports only what it uses: most of a process's memory is what it imports (issue
#17, bench/README "Where the memory goes"), so a library that creeps back into a process that
never uses it fails here, named with the reason it stays out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# What a fresh interpreter imports to become the process, and what must stay out of it, each with
# why. The shipper's entry is its ``python -m`` module with the sink the bench uses created.
SHIPPER = """
import logdriver.delivery.process
from sinks import SplunkConfig, create
create(SplunkConfig.from_options({"splunk-url": "http://127.0.0.1:9", "splunk-token": "t"}, {}))
"""
PLUGIN = "import logdriver.cli\nimport logdriver.app\n"

SHIPPER_NEVER = {
    "aiohttp.web": "the plugin's server; the shipper only sends (aiohttp's client)",
    "prometheus_client": "/metrics is served by the plugin",
    "httpx": "tests' MockTransport only; the sinks send with aiohttp",
    "re2": "imported with the first regex log-opt (labels-regex, env-regex, multiline-pattern)",
    "logdriver.observe": "/status and /metrics are the plugin's",
    "logdriver.readlogs": "`docker logs` is answered by the plugin",
    "difflib": "only an unknown log-opt's hint uses it, in the plugin",
}
PLUGIN_NEVER = {
    "prometheus_client": "imported at the first scrape of /metrics (logdriver/observe.py)",
    "httpx": "tests' MockTransport only; the sinks send with aiohttp",
    "re2": "imported with the first regex log-opt (labels-regex, env-regex, multiline-pattern)",
    "logdriver.delivery.worker": "the workers run in the shipper process",
    "logdriver.delivery.inprocess": "the workers run in the shipper process",
    "sinks.splunk.sink": "sinks are created in the shipper (sinks/util/lazy.py)",
    "sinks.splunk.encoder": "events are encoded in the shipper",
    "difflib": "only an unknown log-opt's hint uses it",
}


def imported(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize(("code", "never"), [(SHIPPER, SHIPPER_NEVER), (PLUGIN, PLUGIN_NEVER)],
                         ids=["shipper", "plugin"])
def test_a_process_imports_no_library_it_never_uses(code: str, never: dict[str, str]) -> None:
    mods = imported(code)
    crept = {name: why for name, why in never.items() if name in mods}
    assert not crept, f"imported where it is never used: {crept}"


def test_the_probe_sees_what_each_process_does_use() -> None:
    # The check above means something only if the probe sees real imports: each process holds
    # its own side of aiohttp, and the plugin still reaches prometheus-client when scraped.
    assert {"aiohttp", "sinks.splunk.sink", "logdriver.delivery.worker"} <= imported(SHIPPER)
    assert {"aiohttp.web", "logdriver.observe"} <= imported(PLUGIN)
    scraped = imported(PLUGIN + "import logdriver.observe as o\no.CONTENT_TYPE_LATEST\n")
    assert "prometheus_client" in scraped
