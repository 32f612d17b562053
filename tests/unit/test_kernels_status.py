"""Which twin of the compiled kernels runs, as /status, /metrics and `logdriver status` show it:
the plugin process's own report and the one its shipper process sends (delivery/messages.py)."""

from __future__ import annotations

import asyncio
import io
import sys
import types
from pathlib import Path
from typing import Any

import httpx
import pytest

from logdriver.status_cli import render
from sinks.util import twin
from sinks.util.client import FAST_GZIP, GZIP

from .helpers import metrics_plugin

REPO = Path(__file__).resolve().parents[2]
FAKE = "tests_kernels_status_fake._echo_c"  # a test-only kernel, registered in the plugin


def package_kernels() -> set[str]:
    """The compiled modules of the package, every ``*.pyx`` under logdriver/ and sinks/, and
    zlib-ng and igzip, registered as gzip's compiled twins (sinks/util/client.py)."""
    return {".".join(p.relative_to(REPO).with_suffix("").parts)
            for pkg in ("logdriver", "sinks") for p in (REPO / pkg).rglob("*.pyx")} | {
        GZIP.name, FAST_GZIP.name}


async def _shipper_report(c: httpx.AsyncClient) -> dict[str, Any]:
    """/status's kernels once the shipper has told its own (within 20 s)."""
    for _ in range(200):
        kernels: dict[str, Any] = (await c.get("/status")).json()["kernels"]
        if kernels["shipper"] is not None:
            return kernels
        await asyncio.sleep(0.1)
    raise AssertionError("the shipper never sent its kernels report")


@pytest.mark.parametrize("no_extensions", ["", "1"])
async def test_status_and_metrics_show_each_process_kernels(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_extensions: str) -> None:
    # The shipper inherits the plugin's environment: LOGDRIVER_NO_EXTENSIONS reaches it.
    monkeypatch.setenv(twin.NO_EXTENSIONS_ENV, no_extensions)
    monkeypatch.setitem(sys.modules, FAKE, types.ModuleType(FAKE))
    monkeypatch.setattr(twin, "_TWINS", dict(twin._TWINS))  # the fake leaves with the test
    fake = twin.twin(types.ModuleType("pure"), FAKE)  # built; chosen unless disabled
    async with metrics_plugin(tmp_path) as port, httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", trust_env=False) as c:
        kernels = await _shipper_report(c)
        metrics = (await c.get("/metrics")).text

    plugin_rep, shipper_rep = kernels["plugin"], kernels["shipper"]
    assert plugin_rep == twin.report() and plugin_rep["kernels"][FAKE] == fake.which
    assert fake.which == ("pure" if no_extensions else "compiled")
    # The shipper is another process: the plugin's test-only kernel is not in it; every kernel
    # of the package is, compiled unless LOGDRIVER_NO_EXTENSIONS says otherwise (the kernels
    # are built in place by the editable install).
    assert set(shipper_rep["kernels"]) == package_kernels()
    want = "pure" if no_extensions or not shipper_rep["kernels"] else "compiled"
    assert shipper_rep["twin"] == want
    assert set(shipper_rep["kernels"].values()) <= {want}
    assert all(why == "LOGDRIVER_NO_EXTENSIONS is set" for why in shipper_rep["why"].values())

    assert (f'logdriver_kernels_info{{process="plugin",twin="{plugin_rep["twin"]}"}} 1.0'
            in metrics)
    assert f'logdriver_kernels_info{{process="shipper",twin="{want}"}} 1.0' in metrics
    assert (f'logdriver_kernel_info{{kernel="{FAKE}",process="plugin",twin="{fake.which}"}} 1.0'
            in metrics)
    assert f'kernel="{FAKE}",process="shipper"' not in metrics


def test_the_status_table_says_which_twin_each_process_runs() -> None:
    doc = {"shipper": "up", "store": {"bytes": 0, "disk_budget": 1 << 30}, "containers": [],
           "kernels": {
               "plugin": {"twin": "compiled", "kernels": {"a_c": "compiled", "b_c": "compiled"},
                          "why": {}},
               "shipper": {"twin": "pure", "kernels": {"a_c": "pure"},
                           "why": {"a_c": "LOGDRIVER_NO_EXTENSIONS is set"}}}}
    out = io.StringIO()
    render(doc, out)
    assert ("kernels: plugin compiled (2), shipper pure (1; LOGDRIVER_NO_EXTENSIONS is set)"
            in out.getvalue().splitlines())
    doc["kernels"]["shipper"] = None  # type: ignore[index]  # not told yet
    out = io.StringIO()
    render(doc, out)
    assert "kernels: plugin compiled (2), shipper ?" in out.getvalue().splitlines()
