"""The operator docs and the Grafana dashboard stay true to the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from logdriver.options import KNOWN_KEYS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_log_opt_is_in_the_operator_reference() -> None:
    text = (DOCS / "operators.md").read_text()
    documented = set(re.findall(r"`([a-z][a-z0-9-]+)`", text))
    # "datadog-tls-ca, -cert, ..." rows name the siblings by suffix.
    for prefix in ("datadog-tls", "http-tls"):
        if f"`{prefix}-ca`, `-cert`, `-key`, `-server-name`, `-skip-verify`" in text:
            documented |= {f"{prefix}-{s}" for s in ("ca", "cert", "key", "server-name",
                                                      "skip-verify")}
    missing = sorted(set(KNOWN_KEYS) - documented)
    assert not missing, f"log-opts missing from docs/operators.md: {missing}"


def dashboard_metrics() -> set[str]:
    dash = json.loads((DOCS / "grafana-dashboard.json").read_text())
    names = set()
    for panel in dash["panels"]:
        for target in panel["targets"]:
            names |= set(re.findall(r"logdriver_[a-z_]+", target["expr"]))
    return names


def test_the_dashboard_is_valid_grafana_json() -> None:
    dash = json.loads((DOCS / "grafana-dashboard.json").read_text())
    assert dash["panels"] and all(p["targets"][0]["expr"] for p in dash["panels"])
    assert len({p["id"] for p in dash["panels"]}) == len(dash["panels"])
