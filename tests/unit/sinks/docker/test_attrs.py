"""Extra attributes follow moby's logger.Info.ExtraAttributes."""

from __future__ import annotations

import pytest

from sinks.docker.attrs import extra_attributes
from sinks.docker.context import context_for
from sinks.util.errors import SinkOptionError


def test_mobys_json_file_labels_env_case() -> None:
    # moby daemon/logger/jsonfilelog/jsonfilelog_test.go TestJSONFileLoggerWithLabelsEnv
    opts = {"labels": "rack,dc", "labels-regex": "^loc", "env": "environ,debug,ssl",
            "env-regex": "^dc"}
    labels = {"rack": "101", "dc": "lhr", "location": "here"}
    env = ["environ=production", "debug=false", "port=10001", "ssl=true", "dc_region=west"]
    assert extra_attributes(opts, labels, env) == {
        "rack": "101", "dc": "lhr", "location": "here", "environ": "production",
        "debug": "false", "ssl": "true", "dc_region": "west",
    }


def test_mobys_splunk_inline_case() -> None:
    # moby daemon/logger/splunk/splunk_test.go TestInlineFormatWithNonDefaultOptions
    assert extra_attributes({"labels": "a", "env-regex": "^foo"}, {"a": "b"},
                            ["foo_finder=bar"]) == {"a": "b", "foo_finder": "bar"}


@pytest.mark.parametrize(("opts", "labels", "env", "expected"), [
    ({}, {"a": "1"}, ["A=1"], {}),
    ({"labels": "a,missing"}, {"a": "1"}, [], {"a": "1"}),
    ({"labels": "a, b"}, {"a": "1", "b": "2", " b": "3"}, [], {"a": "1", " b": "3"}),  # no trim
    ({"labels": "x", "env": "x"}, {"x": "label"}, ["x=env"], {"x": "env"}),  # env wins
    ({"labels-regex": "x", "env-regex": "x"}, {"x": "label"}, ["x=env"], {"x": "env"}),
    ({"env": "A"}, {}, ["A=1=2", "B"], {"A": "1=2"}),  # split at the first "="; "B" has none
    ({"env-regex": "B"}, {}, ["AB=1", "C=2"], {"AB": "1"}),  # unanchored, like MatchString
    ({"labels": ""}, {"": "x"}, [], {}),  # an empty option selects nothing
])
def test_attribute_table(opts: dict[str, str], labels: dict[str, str], env: list[str],
                         expected: dict[str, str]) -> None:
    assert extra_attributes(opts, labels, env) == expected


def test_attributes_come_sorted() -> None:
    got = extra_attributes({"labels-regex": "."}, {"b": "1", "a": "2", "c": "3"}, None)
    assert list(got) == ["a", "b", "c"]


@pytest.mark.parametrize("key", ["labels-regex", "env-regex"])
def test_bad_regex_names_the_key(key: str) -> None:
    with pytest.raises(SinkOptionError, match=f"'{key}'"):
        extra_attributes({key: "("}, {}, [])


def test_context_for_docker_info() -> None:
    info = {
        "ContainerID": "c" * 64, "ContainerName": "/web", "ContainerImageID": "sha256:" + "1" * 64,
        "ContainerImageName": "nginx", "ContainerLabels": {"tier": "front"},
        "ContainerEnv": ["SECRET=x", "REGION=eu"], "DaemonName": "docker",
        "ContainerCreated": "2024-01-01T00:00:00Z",
    }
    ctx = context_for(info, {"tag": "{{.Name}}", "labels": "tier", "env": "REGION"},
                      hostname="host1")
    assert (ctx.container_name, ctx.tag, dict(ctx.attrs), ctx.hostname, ctx.created) == (
        "web", "web", {"REGION": "eu", "tier": "front"}, "host1", "2024-01-01T00:00:00Z")
    assert context_for(info, {}, hostname="h").tag == "c" * 12
