"""``tag`` templates render as Docker renders them.

GO_TABLE's expectations were printed by Go 1.19's text/template running moby v20.10.24's
daemon/logger/templates funcs on a copy of logger.Info (loginfo.go), for the TagInfo below.
"""

from __future__ import annotations

import pytest

from sinks.errors import SinkOptionError
from sinks.record import TagInfo
from sinks.template import render_tag, validate_tag

INFO = TagInfo(
    container_id="0123456789abcdef" * 4, container_name="/web_app-1",
    entrypoint="/docker-entrypoint.sh", args=("nginx", "-g", "daemon off;"),
    image_id="sha256:" + "fedcba9876543210" * 4,
    image_name="registry.example.com:5000/team/nginx:1.25", env=("A=1",),
    labels={"com.docker.compose.service": "web", "tier": "<front>"}, daemon_name="docker",
    hostname="host1",
)

GO_TABLE = [
    ("{{.ID}}", "0123456789ab"),
    ("{{.FullID}}", "0123456789abcdef" * 4),
    ("{{.Name}}", "web_app-1"),
    ("{{.ImageID}}", "sha256:fedcb"),  # moby slices the ID with its "sha256:" prefix
    ("{{.ImageFullID}}", "sha256:" + "fedcba9876543210" * 4),
    ("{{.ImageName}}", "registry.example.com:5000/team/nginx:1.25"),
    ("{{.DaemonName}}", "docker"),
    ("{{.Command}}", "/docker-entrypoint.sh nginx -g daemon off;"),
    ("{{.Hostname}}", "host1"),
    ("{{.ImageName}}/{{.Name}}/{{.ID}}",
     "registry.example.com:5000/team/nginx:1.25/web_app-1/0123456789ab"),
    ("{{json .Name}}", '"web_app-1"'),
    ("{{json .ContainerArgs}}", '["nginx","-g","daemon off;"]'),
    ("{{json .ContainerLabels}}", '{"com.docker.compose.service":"web","tier":"<front>"}'),
    ('{{split .Name "_"}}', "[web app-1]"),
    ('{{join (split .ImageName "/") "|"}}', "registry.example.com:5000|team|nginx:1.25"),
    ("{{title .Name}}", "Web_app-1"),
    ('{{title "hello wORLD-foo_bar x.y"}}', "Hello WORLD-Foo_bar X.Y"),
    ("{{upper .Name}}", "WEB_APP-1"),
    ('{{lower "ÀB"}}', "àb"),
    ("{{pad .Name 2 3}}|", "  web_app-1   |"),
    ('{{pad "" 2 3}}|', "|"),
    ("{{truncate .Name 3}}", "web"),
    ("{{truncate .Name 100}}", "web_app-1"),
    ("{{.Name | upper}}", "WEB_APP-1"),
    ('{{.Name | printf "%s"}}', "web_app-1"),
    ('{{index .ContainerLabels "com.docker.compose.service"}}', "web"),
    ('{{index .ContainerLabels "nope"}}', ""),
    ("{{.ContainerLabels.tier}}", "<front>"),
    ("{{.ContainerLabels.nope}}", "<no value>"),
    ("{{.ContainerLabels}}", "map[com.docker.compose.service:web tier:<front>]"),
    ("{{.ContainerArgs}}", "[nginx -g daemon off;]"),
    ("{{len .Name}}", "9"),
    ("{{ .Name }}", "web_app-1"),
    ("a {{- .Name -}} b", "aweb_app-1b"),
    ("a {{- /* c */ -}} b", "ab"),
    ("{{`raw\\n`}}", "raw\\n"),
    ('{{"q\\t\\u00e9"}}', "q\té"),
    ("{{true}}", "true"),
    ("{{.ContainerEnv}}", "[A=1]"),
]


@pytest.mark.parametrize(("template", "expected"), GO_TABLE)
def test_renders_like_go_text_template(template: str, expected: str) -> None:
    assert render_tag(template, INFO) == expected


# moby daemon/logger/loggerutils/log_tag_test.go
MOBY_INFO = TagInfo(
    container_id="container-abcdefghijklmnopqrstuvwxyz01234567890",
    container_name="/test-container", image_id="image-abcdefghijklmnopqrstuvwxyz01234567890",
    image_name="test-image", daemon_name="test-dockerd",
)


@pytest.mark.parametrize(("template", "expected"), [
    (None, "container-ab"),  # TestParseLogTagDefaultTag
    ("{{.ImageName}}/{{.Name}}/{{.ID}}", "test-image/test-container/container-ab"),
    ("{{.DaemonName}}/{{.ID}}", "test-dockerd/container-ab"),
])
def test_mobys_log_tag_cases(template: str | None, expected: str) -> None:
    assert render_tag(template, MOBY_INFO) == expected


def test_empty_tag_means_no_tag_as_in_dockers_splunk_driver() -> None:
    assert render_tag("", INFO) == ""


def test_plain_text_passes_through() -> None:
    assert render_tag("my-app", INFO) == "my-app"


@pytest.mark.parametrize(("template", "problem"), [
    ("{{.Foo}}", "can't evaluate field Foo"),
    ("{{.Name", "unclosed action"),
    ("{{nope .Name}}", "function 'nope' not defined"),
    ("{{if .Name}}x{{end}}", "not supported"),
    ("{{range .ContainerArgs}}x{{end}}", "not supported"),
    ("{{$x := 1}}", "variables are not supported"),
    ("{{.}}", "secrets"),
    ("{{.Config}}", "secrets"),
    ("{{upper}}", "wrong number of args for upper: want 1 got 0"),
    ("{{.Name | truncate 3}}", "truncate: expected a string argument"),  # Go pipes last
    ("{{.Name 3}}", "not a method but has arguments"),
    ('{{"unterminated}}', "unterminated quoted string"),
    ("{{ }}", "missing value for command"),
    ("{{/* open }}", "unclosed comment"),
    ('{{printf "%x" 3}}', "only the verbs"),
    ("{{pad .Name -1 0}}", "negative"),
])
def test_bad_templates_raise_an_error_naming_tag(template: str, problem: str) -> None:
    with pytest.raises(SinkOptionError) as err:
        render_tag(template, INFO)
    assert str(err.value).startswith("invalid value for log-opt 'tag': ")
    assert problem in str(err.value)


def test_validate_tag_needs_no_container() -> None:
    validate_tag("{{.ImageName}}/{{.Name}}/{{.ID}}")
    with pytest.raises(SinkOptionError, match="'tag'"):
        validate_tag("{{.Nope}}")


def test_truncate_counts_bytes_like_go() -> None:
    info = TagInfo(container_id="x" * 64, container_name="/été", image_id="", image_name="")
    assert render_tag("{{truncate .Name 2}}", info) == "é"
    assert render_tag("{{truncate .Name 1}}", info) == "\ufffd"  # half of "é": Go cuts bytes
    assert render_tag("{{len .Name}}", info) == "5"


def test_from_docker_info_tolerates_nulls() -> None:
    info = TagInfo.from_docker_info(
        {"ContainerID": "a" * 64, "ContainerName": "/n", "ContainerEnv": None,
         "ContainerLabels": None, "ContainerArgs": None, "DaemonName": "docker"},
        hostname="h",
    )
    assert (info.env, dict(info.labels), info.args) == ((), {}, ())
    assert render_tag("{{.Name}}@{{.Hostname}}", info) == "n@h"
