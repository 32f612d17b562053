"""``tag`` templates render as Docker renders them.

GO_TABLE's expectations were printed by Go 1.19's text/template running moby v20.10.24's
daemon/logger/templates funcs on a copy of logger.Info (loginfo.go), for the TagInfo below.
"""

from __future__ import annotations

import pytest

from sinks.docker.template import render_tag, validate_tag
from sinks.util.errors import SinkOptionError
from sinks.util.record import TagInfo

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
    ("{{.Foo}}", "can't evaluate field Foo in type *logger.Info"),
    ("{{.Name", "unclosed action"),
    ("{{nope .Name}}", "function 'nope' not defined"),
    ("{{$x}}", "undefined variable '$x'"),
    ("{{if .Name}}x", "unexpected EOF"),
    ("{{end}}", "unexpected {{end}}"),
    ("{{else}}", "unexpected {{else}}"),
    ("{{range .ContainerArgs}}{{else}}{{else}}{{end}}", "expected end; found {{else}}"),
    ("{{break}}", "{{break}} outside {{range}}"),
    ("{{nil}}", "nil is not a command"),
    ("{{upper}}", "wrong number of args for upper: want 1 got 0"),
    ("{{.Name | truncate 3}}", "expected string; found 3"),  # Go pipes the last argument
    ("{{.Name 3}}", "wrong number of args for Name: want 0 got 1"),
    ("{{.ContainerLabels.tier 3}}", "tier is not a method but has arguments"),
    ('{{"unterminated}}', "unterminated quoted string"),
    ("{{ }}", "missing value for command"),
    ("{{/* open }}", "unclosed comment"),
    ("{{/* c */ .Name}}", "comment ends before closing delimiter"),
    ('{{"x" | "y"}}', "non executable command in pipeline stage 2"),
    ("{{pad .Name -1 0}}", "negative Repeat count"),
    ("{{truncate .Name -1}}", "slice bounds out of range"),
    ("{{.ExtraAttributes}}", "wrong number of args for ExtraAttributes: want 1 got 0"),
    ('{{.ExtraAttributes "x"}}', "can't handle \"x\" for arg of type func(string) string"),
    ("{{index .ContainerArgs 9}}", "error calling index: index out of range: 9"),
    ("{{range .Name}}{{end}}", "range can't iterate over a value of type string"),
    ('{{template "nope"}}', "no template 'nope'"),
    ("{{9223372036854775808}}", "9223372036854775808 overflows int"),
    ("{{18446744073709551616}}", "integer overflow"),
    ("{{08}}", "integer overflow"),
    ("{{'ab'}}", "malformed character constant"),
    ('{{"\\z"}}', "invalid syntax"),
    ("{{lt 1 \"a\"}}", "incompatible types for comparison"),
    ("{{(1).X}}", "can't evaluate field X in type int"),
    ("{{1.X}}", "bad number syntax"),
    ("{{.ID}", "bad character U+007D"),
    ("{{.ContainerCreated.Zone}}", "with 2 results"),
    ("{{.ContainerCreated.Foo}}", "can't evaluate field Foo in type time.Time"),
    ('{{printf "%p" .}}', "not supported by this plugin"),
])
def test_bad_templates_raise_an_error_naming_tag(template: str, problem: str) -> None:
    with pytest.raises(SinkOptionError) as err:
        render_tag(template, INFO)
    assert str(err.value).startswith("invalid value for log-opt 'tag': ")
    assert problem in str(err.value)


def test_validate_tag_parses_only() -> None:
    validate_tag("{{.ImageName}}/{{.Name}}/{{.ID}}")
    validate_tag("{{index .ContainerArgs 5}}")  # depends on the container: checked at start
    with pytest.raises(SinkOptionError, match="'tag'.*function 'nope' not defined"):
        validate_tag("{{nope}}")


def test_truncate_counts_bytes_like_go() -> None:
    info = TagInfo(container_id="x" * 64, container_name="/été", image_id="", image_name="")
    assert render_tag("{{truncate .Name 2}}", info) == "é"
    assert render_tag("{{truncate .Name 1}}", info) == "\ufffd"  # half of "é": Go cuts bytes
    assert render_tag('{{"\\xff\\xc3\\xa9"}}', info) == "\ufffdé"  # one U+FFFD per bad byte
    assert render_tag("{{len .Name}}", info) == "5"


def test_from_docker_info_tolerates_nulls() -> None:
    info = TagInfo.from_docker_info(
        {"ContainerID": "a" * 64, "ContainerName": "/n", "ContainerEnv": None,
         "ContainerLabels": None, "ContainerArgs": None, "DaemonName": "docker"},
        hostname="h",
    )
    assert (info.env, dict(info.labels), info.args) == ((), {}, ())
    assert render_tag("{{.Name}}@{{.Hostname}}", info) == "n@h"


# ---- the language (each value here was also rendered by Docker's splunk driver in
# tests/e2e/test_tag_templates.py, or printed by Go 1.19 for GO_TABLE above)

LANG = TagInfo(
    container_id="0123456789abcdef" * 4, container_name="/web", entrypoint="sh",
    args=("-c", "echo hi"), image_id="sha256:" + "fedcba9876543210" * 4, image_name="busybox",
    env=("os=linux",), labels={"production_status": "testing", "Team": "Core", "b": "2"},
    daemon_name="docker", hostname="host1", created="2026-11-30T09:12:31.123456789Z",
    config={"labels": "production_status", "env": "os", "tag": "t"},
)

LANGUAGE = [
    # the two samples of issue #14
    ("{{ (.ExtraAttributes nil).production_status }}--{{ (.ExtraAttributes nil).os }}",
     "testing--linux"),
    ("{{if .ContainerLabels.environment}}env={{.ContainerLabels.environment}}{{else}}none{{end}}",
     "none"),
    # if / else if / else, with, range, variables
    ("{{if .ContainerLabels.nope}}a{{else if .ContainerLabels.Team}}b{{else}}c{{end}}", "b"),
    ("{{if and .Name (not .ContainerLabels.nope)}}yes{{end}}", "yes"),
    ("{{with .ContainerLabels.Team}}{{.}}{{else}}no{{end}}|{{with .ContainerLabels.x}}{{.}}"
     "{{else}}no{{end}}", "Core|no"),
    ("{{range $k, $v := .ContainerLabels}}{{$k}}={{$v}};{{end}}",
     "Team=Core;b=2;production_status=testing;"),  # sorted keys (bytes: upper case first)
    ("{{range $v := .ContainerLabels}}{{$v}},{{end}}", "Core,2,testing,"),
    ("{{range $i, $e := .ContainerArgs}}[{{$i}}:{{$e}}]{{end}}", "[0:-c][1:echo hi]"),
    ("{{range .ContainerLabels.nope}}x{{else}}empty{{end}}", "empty"),
    ("{{range $i, $e := .ContainerArgs}}{{if $i}}{{break}}{{end}}{{$e}}{{end}}", "-c"),
    ("{{range .ContainerArgs}}{{continue}}x{{end}}.", "."),
    # forms of newer Go than Docker 20.10's 1.19 (accepted: a superset refuses nothing 1.19 runs)
    ("{{range 3}}{{.}}{{end}}", "012"),  # Go 1.22
    ("{{with .ContainerLabels.nope}}a{{else with .Name}}{{.}}{{end}}", "web"),  # Go 1.23
    ("{{.ContainerCreated.Compare .ContainerCreated}}", "0"),  # Go 1.20
    ("{{$n := .Name}}{{$n = printf \"%s!\" $n}}{{$n}}-{{$.ID}}", "web!-0123456789ab"),
    ("{{with $x := \"a\"}}{{$x}}{{$x = \"b\"}}{{$x}}{{end}}", "ab"),
    ("{{define \"T\"}}<{{.}}>{{end}}{{template \"T\" .Name}}{{template \"T\"}}|"
     "{{block \"B\" .ID}}[{{.}}]{{end}}", "<web><<no value>>|[0123456789ab]"),
    ("{{- /* comment */ -}}  {{ .Name -}}  x  {{- \"y\" }} {{/* c */}}z", "webxy z"),
    ("{{.Name | printf \"%s-%s\" \"pre\"}}|{{.ContainerArgs | len}}", "pre-web|2"),
    ("{{(index .ContainerArgs 1) | upper}}", "ECHO HI"),
    ("{{.ContainerLabels.nope.foo}}", "<no value>"),
    # literals
    ("{{\"a\\tb\\u00e9\\x41\\101\"}}|{{`raw\\n`}}|{{'a'}} {{'\\n'}} {{0x1F}} {{0o17}} {{0b101}} "
     "{{017}} {{1_000}} {{1e3}} {{1.5}} {{-2}} {{+3}} {{.5}} {{1i}} {{true}}",
     "a\tbéAA|raw\\n|97 10 31 15 5 15 1000 1000 1.5 -2 3 0.5 (0+1i) true"),
    ("{{0x1p-2}} {{1e100}} {{123456789.0}} {{0.000001}} {{1e-7}}",
     "0.25 1e+100 1.23456789e+08 1e-06 1e-07"),
    # builtins
    ("{{print 1 2 \"a\" \"b\" 3 nil true}}|{{println \"x\" 1}}|", "1 2ab3 <nil> true|x 1\n|"),
    ("{{printf \"%5.2f|%-4d|%+d|%x|%X|%o|%b|%c|%U|%q|%v|%T|%t|%e|%g|%8.3s|%%|%05d\" 3.14159 7 7 "
     "255 255 8 5 65 65 \"hi\" .ContainerArgs .ContainerLabels true 1234.5678 0.000001 "
     "\"abcdef\" -42}}",
     " 3.14|7   |+7|ff|FF|10|101|A|U+0041|\"hi\"|[-c echo hi]|map[string]string|true|"
     "1.234568e+03|1e-06|     abc|%|-0042"),
    # %+v: the + asks for field names and gives numbers no sign (Docker's driver: 5|3.5|1e+21|002)
    ("{{printf \"%+v|%+v|%+v|%+.3v|%+d\" 5 3.5 1e21 2 5}}", "5|3.5|1e+21|002|+5"),
    ("{{printf \"%d %s\" \"x\" 3}}|{{printf \"%d\"}}|{{printf \"x\" 1 \"y\"}}|{{printf \"%\"}}|"
     "{{printf \"%[2]d %[1]d\" 1 2}}|{{printf \"%z\" 1}}|{{printf \"%s\" nil}}",
     "%!d(string=x) %!s(int=3)|%!d(MISSING)|x%!(EXTRA int=1, string=y)|%!(NOVERB)|2 1|"
     "%!z(int=1)|%!s(<nil>)"),
    ("{{html \"<a href='x'>&\\\"</a>\"}}|{{js \"a'b<c>&=\\n\"}}|{{urlquery \"a b&c=d/é~\"}}|"
     "{{html .ContainerLabels.nope}}",
     "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;|a\\'b\\u003Cc\\u003E\\u0026\\u003D\\u000A|"
     "a+b%26c%3Dd%2F%C3%A9~|&lt;no value&gt;"),
    ("{{and 1 0 \"x\"}}|{{and 1 \"x\"}}|{{or 0 \"\" \"y\"}}|{{or 0 \"\"}}|{{not \"\"}}|"
     "{{and .ContainerLabels.nope .Nope}}|{{or .Name .Nope}}", "0|x|y||true|<no value>|web"),
    ("{{eq 1 1}} {{eq \"a\" \"b\" \"a\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} "
     "{{ge 1.5 2.5}} {{lt \"B\" \"a\"}} {{eq .ContainerLabels.nope \"x\"}}",
     "true true true true true true false true false"),
    ("{{len .Name}} {{len .ContainerLabels}} {{index .ContainerLabels \"b\"}}|"
     "{{index .ContainerLabels \"nope\"}}|{{index \"abc\" 1}}", "3 3 2||98"),
    ("{{slice .Name 0 2}} {{slice .ContainerArgs 1}} {{slice \"abcdef\" 1 3}}", "we [echo hi] bc"),
    # Docker's functions
    ("{{json .ContainerLabels}} {{json .ContainerArgs}} {{json 1.5}} {{json \"<&>\\u2028\"}} "
     "{{json .ContainerLabels.nope}} {{json 1e21}} {{json 1i}}|",
     '{"Team":"Core","b":"2","production_status":"testing"} ["-c","echo hi"] 1.5 '
     '"<&>\\u2028" null 1e+21 |'),
    ("{{split \"a,b,,c\" \",\"}} {{join (split .ImageName \"y\") \"+\"}} "
     "{{title \"hello wORLD-foo_bar x.y\"}} {{lower \"ÀB\"}} {{upper \"straße\"}} "
     "{{pad \"x\" 2 3}}|{{pad \"\" 2 3}}|{{truncate \"abcdef\" 3}}",
     "[a b  c] bus+box Hello WORLD-Foo_bar X.Y àb STRAßE   x   ||abc"),
    # logger.Info
    ("{{.ID}}|{{.Name}}|{{.ImageID}}|{{.Command}}|{{.Hostname}}|{{.DaemonName}}|{{.LogPath}}|",
     "0123456789ab|web|sha256:fedcb|sh -c echo hi|host1|docker||"),
    ("{{.Config}}|{{.ContainerName}}|{{(.ExtraAttributes nil)}}",
     "map[env:os labels:production_status tag:t]|/web|map[os:linux production_status:testing]"),
    ("{{.}}", "{map[env:os labels:production_status tag:t] " + "0123456789abcdef" * 4
     + " /web sh [-c echo hi] sha256:" + "fedcba9876543210" * 4 + " busybox "
     "2026-11-30 09:12:31.123456789 +0000 UTC [os=linux] map[Team:Core b:2 "
     "production_status:testing]  docker}"),
    ("{{printf \"%v\" .ContainerCreated}}", "2026-11-30 09:12:31.123456789 +0000 UTC"),
    # ContainerCreated: a Go time.Time
    ("{{.ContainerCreated}}|{{json .ContainerCreated}}",
     '2026-11-30 09:12:31.123456789 +0000 UTC|"2026-11-30T09:12:31.123456789Z"'),
    ("{{.ContainerCreated.Year}}-{{.ContainerCreated.Month}}-{{.ContainerCreated.Day}} "
     "{{.ContainerCreated.Weekday}} {{.ContainerCreated.YearDay}} {{.ContainerCreated.Location}} "
     "{{printf \"%d\" .ContainerCreated.Month}} {{.ContainerCreated.Unix}} "
     "{{.ContainerCreated.UnixNano}} {{.ContainerCreated.Nanosecond}}",
     "2026-November-30 Monday 334 UTC 11 1796029951 1796029951123456789 123456789"),
    ("{{.ContainerCreated.Format \"Mon Jan _2 2006 15h MST -07:00 Z07:00 pm 06 1/2 __2 .000 "
     ",999 03:04:05PM Monday January\"}}",
     "Mon Nov 30 2026 09h UTC +00:00 Z am 26 11/30 334 .123 ,123 09:12:31AM Monday November"),
    ("{{.ContainerCreated.Format \"Janet 2006-01-02T15:04:05.999999999Z07:00\"}}",
     "Janet 2026-11-30T09:12:31.123456789Z"),
    ("{{.ContainerCreated.Sub .ContainerCreated}} {{(.ContainerCreated.AddDate 0 2 1)}} "
     "{{.ContainerCreated.Add 5400000000000}} {{.ContainerCreated.Truncate 3600000000000}} "
     "{{.ContainerCreated.Round 1000000000}} {{.ContainerCreated.IsZero}}",
     "0s 2027-01-31 09:12:31.123456789 +0000 UTC 2026-11-30 10:42:31.123456789 +0000 UTC "
     "2026-11-30 09:00:00 +0000 UTC 2026-11-30 09:12:31 +0000 UTC false"),
]


@pytest.mark.parametrize(("template", "expected"), LANGUAGE)
def test_go_template_language(template: str, expected: str) -> None:
    assert render_tag(template, LANG) == expected


def test_a_missing_container_created_is_go_zero_time() -> None:
    info = TagInfo(container_id="a" * 64, container_name="/n", image_id="", image_name="")
    assert render_tag("{{.ContainerCreated}}|{{.ContainerCreated.IsZero}}", info) == (
        "0001-01-01 00:00:00 +0000 UTC|true")


def test_null_lists_and_maps_are_go_nil_for_json() -> None:
    info = TagInfo.from_docker_info({"ContainerID": "a" * 64, "ContainerArgs": None,
                                     "ContainerLabels": None, "ContainerEnv": []}, hostname="h")
    template = ("{{json .ContainerArgs}} {{json .ContainerLabels}} {{json .ContainerEnv}}"
                " {{len .ContainerArgs}} {{.ContainerLabels}}")
    assert render_tag(template, info) == "null null [] 0 map[]"


@pytest.mark.parametrize(("template", "problem"), [
    ("{{" + "(" * 101 + ".ID" + ")" * 101 + "}}", "nested deeper than 100"),
    ("{{if 1}}" * 101 + "{{end}}" * 101, "nested deeper than 100"),
    ("{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}",
     "exceeded maximum template depth (100)"),
    ("{{range 1000}}{{range 1000}}{{end}}{{end}}", "more than 200000 steps"),
    ("{{range 70000}}x{{end}}", "longer than 65536 characters"),
    ("{{pad .ID 100000 0}}", "longer than 65536 characters"),
    ('{{printf "%70000d" 1}}', "longer than 65536"),
    ("{{" + "9" * 500 + "}}", "too long"),
])
def test_runaway_templates_are_refused_naming_tag(template: str, problem: str) -> None:
    with pytest.raises(SinkOptionError) as err:
        render_tag(template, LANG)
    assert "'tag'" in str(err.value) and problem in str(err.value)


def test_errors_never_quote_a_value_a_secret_could_be_in() -> None:
    info = TagInfo(container_id="a" * 64, container_name="/n", image_id="", image_name="",
                   config={"splunk-token": "s3cr3t-t0ken"})
    for template in ('{{range index .Config "splunk-token"}}{{end}}',
                     '{{eq .Config (index .Config "splunk-token")}}',
                     '{{eq .Config .Config}}', '{{pad (index .Config "splunk-token") "x" 1}}',
                     '{{lt .Config 1}}', '{{index .Config 1}}'):
        with pytest.raises(SinkOptionError) as err:
            render_tag(template, info)
        assert "s3cr3t" not in str(err.value), template
    # a template that asks for it gets it, as with Docker's driver
    assert render_tag('{{index .Config "splunk-token"}}', info) == "s3cr3t-t0ken"
