"""Hostile log-opts and tag templates: every input is accepted or refused with the codebase's own
error naming the option; no other exception, no hang, bounded output."""

from __future__ import annotations

import re
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sinks
from logdriver.options import KNOWN_KEYS, LogConfig, OptionError
from sinks.docker.template import render_tag, validate_tag

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_TAG_OUTPUT = 1 << 20  # what "bounded" means below: a tag is a name, never megabytes

# Values a user (or an attacker with `docker run`) might give: random text, and text shaped
# like what the parsers look for, at the edges of what they accept.
HOSTILE_VALUES = ["9" * 400, "9" * 5000, "9" * 400 + "h", "1e400", "nan", "inf", "-0",
                  "0x10", " 1", "1_000", "true", "false", "TRUE", "", " ", "\x00",
                  "http://h:99999", "http://[::1", "https://u:p@h", "http://h/x?token=1",
                  "(" * 5000, "(a" * 3000, "[", "\\", "{{", "{{.Config}}", "\udcff",
                  "/etc/shadow", "a\x00b", "-----BEGIN CERTIFICATE-----\nx"]
_shaped = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[0-9]{1,6}(\.[0-9]{1,3})?[kKmMgG]?[iI]?[bB]?", fullmatch=True),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(HOSTILE_VALUES),
)
_keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=20))
_opts = st.dictionaries(_keys, _shaped, max_size=6)


def _names_an_option(message: str, opts: dict[str, str]) -> bool:
    return any(repr(k) in message or k in message for k in opts) or "log-opt" in message


@FAST
@given(opts=_opts)
def test_log_config_accepts_or_names_the_option(opts: dict[str, str]) -> None:
    try:
        LogConfig.from_options(opts)
    except OptionError as exc:
        assert _names_an_option(str(exc), opts), str(exc)


@FAST
@given(opts=_opts, env=st.dictionaries(st.sampled_from(["SPLUNK_TOKEN", "DD_API_KEY",
                                                         "SPLUNK_LOGGING_DRIVER_POST_MESSAGES_"
                                                         "BATCH_SIZE", "OTEL_EXPORTER_OTLP_HEADERS",
                                                         "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                                                         "OTEL_EXPORTER_OTLP_TIMEOUT"]),
                                       _shaped, max_size=2))
def test_sink_configure_accepts_or_names_the_option(
    opts: dict[str, str], env: dict[str, str]
) -> None:
    try:
        configs = sinks.configure(opts, env)
    except sinks.SinkOptionError as exc:
        text = str(exc)
        assert _names_an_option(text, opts) or "environment variable" in text or \
            any(name in text for name in env), text
    else:
        for config in configs:
            assert config.name in ("splunk", "datadog", "http", "loki", "otlp")


def _every_known_option_with(value: str) -> int:
    """Each known key with ``value``, alone and next to a working splunk or http sink; returns
    how many were refused."""
    refused = 0
    for key in KNOWN_KEYS:
        for opts in ({key: value}, {"splunk-url": "https://h:8088", "splunk-token": "t",
                                    key: value}, {"http-url": "https://h/in", key: value}):
            for parse in (LogConfig.from_options, lambda o: sinks.configure(o, {})):
                try:
                    parse(opts)
                except (OptionError, sinks.SinkOptionError) as exc:
                    refused += 1
                    assert repr(key) in str(exc) or "log-opt" in str(exc), str(exc)
    return refused


@settings(max_examples=40, deadline=None)
@given(value=_shaped)
def test_every_known_option_with_a_random_value_is_accepted_or_named(value: str) -> None:
    _every_known_option_with(value)


def test_every_known_option_with_every_hostile_value_is_accepted_or_named() -> None:
    refused = sum(_every_known_option_with(v) for v in HOSTILE_VALUES)
    assert refused > len(HOSTILE_VALUES) * len(KNOWN_KEYS)  # most of them are refused


def test_numbers_too_big_for_a_float_or_an_int_are_refused_by_name() -> None:
    for key, value in [("max-size", "9" * 400), ("max-buffer-size", "9" * 400)]:
        try:
            LogConfig.from_options({key: value})
        except OptionError as exc:
            assert repr(key) in str(exc)
    for key, value in [("batch-size", "9" * 5000), ("batch-bytes", "9" * 400),
                       ("partial-max-size", "9" * 400)]:
        try:
            sinks.configure({key: value}, {})
        except sinks.SinkOptionError as exc:
            assert repr(key) in str(exc)


def test_regexes_too_deep_to_compile_are_refused_by_name() -> None:
    for key in ("labels-regex", "env-regex"):
        for value in ("(" * 5000 + ")" * 5000, "(a" * 3000):
            for parse in (LogConfig.from_options, lambda o: sinks.configure(o, {})):
                try:
                    parse({key: value})
                except (OptionError, sinks.SinkOptionError) as exc:
                    assert repr(key) in str(exc)
    try:
        sinks.configure({"multiline-pattern": "(" * 5000 + ")" * 5000}, {})
    except sinks.SinkOptionError as exc:
        assert "'multiline-pattern'" in str(exc)


# ---- tag templates -------------------------------------------------------------------------

_pieces = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["{{", "}}", "{{-", " -}}", "(", ")", "|", ".", ".ID", ".FullID", ".Name",
                  ".ContainerLabels", ".ContainerLabels.a", ".ContainerArgs", ".Config", "$x",
                     '"', '"\\UFFFFFFFF"', '"\\ud800"', '"\\x41"', '"\\377"', "`raw`", "/*", "*/",
                  " ", "9" * 30, "9" * 5000, "-1", "true", "json", "split", "join", "title",
                  "lower", "upper", "pad", "truncate", "index", "len", "printf", '"%s%d%v%%"',
                  "if", "range", "end", "1000000000", "(" * 3000]),
)
templates = st.lists(_pieces, max_size=25).map("".join)


def _render_bounded(template: str) -> None:
    t0 = time.monotonic()
    try:
        out = render_tag(template, sinks.TagInfo(
            container_id="a" * 64, container_name="/web", image_id="sha256:" + "b" * 64,
            image_name="nginx", entrypoint="sh", args=("-c", "x" * 100),
            labels={"a": "x" * 100}, env=("A=1",)))
    except sinks.SinkOptionError as exc:
        assert "'tag'" in str(exc)
    else:
        assert len(out) <= MAX_TAG_OUTPUT
        out.encode()  # what a sink does with it: no lone surrogates
    assert time.monotonic() - t0 < 2.0


@FAST
@given(template=templates)
def test_random_templates_render_or_are_refused_naming_tag(template: str) -> None:
    _render_bounded(template)
    try:
        validate_tag(template)
    except sinks.SinkOptionError as exc:
        assert "'tag'" in str(exc)


@settings(max_examples=100, deadline=None)
@given(template=st.text(max_size=200))
def test_random_text_as_a_template(template: str) -> None:
    _render_bounded(template)


def test_templates_that_would_grow_without_bound_are_refused() -> None:
    grow = '{{join (split .FullID "") "0123456789"}}'
    for _ in range(8):  # each level multiplies the length by 11
        grow = grow.replace(".FullID", '(join (split .FullID "") "0123456789")', 1)
    for template in (
        "{{pad .ID 1000000000000 0}}",
        "{{pad .ID 100000000 100000000}}",
        grow,
        "{{" + "(" * 3000 + ".ID" + ")" * 3000 + "}}",
        '{{printf "%d" ' + "9" * 5000 + "}}",
        '{{len "\\ud800"}}',
        '{{"\\UFFFFFFFF"}}',
    ):
        _render_bounded(template)


def test_the_templates_people_use_still_render() -> None:
    info = sinks.TagInfo(container_id="a" * 64, container_name="/web",
                         image_id="sha256:" + "b" * 64, image_name="nginx")
    assert render_tag("{{.ID}}", info) == "a" * 12
    assert render_tag("{{.Name}}/{{.ImageName}}", info) == "web/nginx"
    assert render_tag("{{.ImageName | upper | printf \"%s-x\"}}", info) == "NGINX-x"
    assert render_tag("{{pad .Name 2 3}}", info) == "  web   "
    assert re.fullmatch("[a]{12}", render_tag("{{truncate .FullID 12}}", info))
