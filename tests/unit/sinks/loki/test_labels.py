"""The label set of a container's streams, as Loki's Docker driver builds it (config.go)."""

from __future__ import annotations

import pytest

import sinks
from sinks.loki.config import LokiConfig
from sinks.loki.labels import container_labels
from sinks.util.errors import SinkOptionError

URL = "http://loki:3100/loki/api/v1/push"
INFO = {
    "ContainerID": "c" * 64, "ContainerName": "/shop-web-1", "ContainerImageName": "nginx:1.25",
    "ContainerImageID": "sha256:" + "d" * 64, "LogPath": "/var/lib/docker/x.log",
    "ContainerLabels": {"com.docker.compose.project": "shop", "com.docker.compose.service": "web",
                        "com.docker.swarm.service.name": "svc", "com.docker.stack.namespace": "st",
                        "team.name": "core", "tier": "front"},
    "ContainerEnv": ["STAGE=prod", "app-version=1.2"],
}


def labels(**opts: str) -> dict[str, str]:
    opts = {"loki-url": URL, **opts}
    ctx = sinks.context_for({**INFO, "Config": opts}, sinks.setup(opts, {}), hostname="node1")
    return container_labels(LokiConfig.from_options(opts, {}), ctx)


def test_default_labels_are_lokis_drivers() -> None:
    assert labels() == {
        "container_name": "shop-web-1", "compose_project": "shop", "compose_service": "web",
        "swarm_service": "svc", "swarm_stack": "st", "host": "node1",
        "filename": "/var/lib/docker/x.log",
    }


def test_external_labels_are_templates_and_attributes_are_sanitised() -> None:
    got = labels(**{"loki-external-labels": "job=docker,image={{.ImageName}},id={{.ID}}",
                    "labels": "team.name", "env": "app-version", "labels-regex": "^ti"})
    assert got["job"] == "docker" and got["image"] == "nginx:1.25" and got["id"] == "c" * 12
    assert "container_name" not in got  # the default is replaced, as in Loki's driver
    assert got["team_name"] == "core" and got["app_version"] == "1.2" and got["tier"] == "front"


def test_tag_is_a_label_only_when_set() -> None:
    assert "tag" not in labels()
    assert labels(tag="{{.Name}}/{{.ImageName}}")["tag"] == "shop-web-1/nginx:1.25"


def test_empty_values_are_left_out() -> None:
    got = labels(**{"loki-external-labels": "job=docker,empty={{.DaemonName}}"})
    assert "empty" not in got


def test_over_lokis_default_label_count_refuses_the_container_at_start() -> None:
    many = ",".join(f"l{i}=v" for i in range(10))
    with pytest.raises(SinkOptionError, match="max_label_names_per_series"):
        labels(**{"loki-external-labels": many})


def test_a_template_that_fails_refuses_the_container_at_start_naming_the_label() -> None:
    with pytest.raises(SinkOptionError, match="'loki-external-labels' \\(label 'x'\\)"):
        labels(**{"loki-external-labels": "x={{index .ContainerArgs 5}}"})


@pytest.mark.parametrize("value, refused", [
    ("v" * 2048, False), ("v" * 2049, True), ("é" * 1024, False), ("é" * 1025, True),
])
def test_a_value_over_lokis_2048_bytes_refuses_the_container(value: str, refused: bool) -> None:
    opts = {"loki-url": URL, "env": "BIG"}
    info = {**INFO, "ContainerEnv": ["BIG=" + value], "Config": opts}
    if not refused:
        sinks.context_for(info, sinks.setup(opts, {}), hostname="h")
        return
    with pytest.raises(SinkOptionError, match="max_label_value_length"):
        sinks.context_for(info, sinks.setup(opts, {}), hostname="h")
