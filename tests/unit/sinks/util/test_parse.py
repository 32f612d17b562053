"""Option value syntax: Go durations and booleans, Docker sizes, URLs."""

from __future__ import annotations

import pytest

from sinks.util.errors import SinkOptionError
from sinks.util.parse import (
    parse_bool,
    parse_duration,
    parse_http_url,
    parse_int,
    parse_size,
    redact_url,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("500ms", 0.5), ("5s", 5.0), ("1m", 60.0), ("1h30m", 5400.0), ("1.5s", 1.5), (".5s", 0.5),
    ("300us", 0.0003), ("300µs", 0.0003), ("2ns", 2e-9), ("+2s", 2.0), ("1m0.5s", 60.5),
])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration("x", text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1.5", "s", "1 s", "-1s", "1d", "0", "1s2"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(SinkOptionError):
        parse_duration("log-opt 'batch-wait'", text)


@pytest.mark.parametrize(("text", "size"), [
    ("512", 512), ("64k", 64_000), ("1m", 1_000_000), ("1MB", 1_000_000), ("1mib", 1_000_000),
    ("2 g", 2_000_000_000), ("1.5m", 1_500_000),
])
def test_docker_sizes(text: str, size: int) -> None:
    assert parse_size("x", text) == size


@pytest.mark.parametrize("text", ["", "m", "1x", "-1", "1.2.3m", "1 mbb"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(SinkOptionError):
        parse_size("x", text)


def test_go_booleans() -> None:
    for text in ("1", "t", "T", "TRUE", "true", "True"):
        assert parse_bool("x", text) is True
    for text in ("0", "f", "F", "FALSE", "false", "False"):
        assert parse_bool("x", text) is False
    for text in ("yes", "on", "", " true"):
        with pytest.raises(SinkOptionError, match="not true or false"):
            parse_bool("x", text)


def test_ints_are_strict() -> None:
    assert parse_int("x", "-1", minimum=-1, maximum=9) == -1
    for text in ("1_000", " 1", "0x1", "10"):
        with pytest.raises(SinkOptionError):
            parse_int("x", text, minimum=-1, maximum=9)


def test_urls() -> None:
    assert parse_http_url("x", "https://hec.example:8088", allow_path=False).port == 8088
    assert parse_http_url("x", "https://hec.example:8088/", allow_path=False).hostname
    assert parse_http_url("x", "http://h/p?q=1", allow_path=True).path == "/p"
    for bad in ("hec.example:8088", "ftp://h", "http://", "http://h:99999",
                "https://h:8088/services/collector", "https://h?x=1"):
        with pytest.raises(SinkOptionError):
            parse_http_url("x", bad, allow_path=False)


def test_urls_with_credentials_are_refused_without_echoing_them() -> None:
    with pytest.raises(SinkOptionError) as err:
        parse_http_url("log-opt 'http-url'", "https://user:hunter2@h/p?token=abc", allow_path=True)
    assert "hunter2" not in str(err.value) and "abc" not in str(err.value)
    assert redact_url("https://u:p@h:1/x?token=abc#f") == "https://h:1/x"


@pytest.mark.parametrize("value", [
    "user:LeakPw1@lokihost:3100/loki/api/v1/push",  # no scheme: urlsplit reads "user" as one
    "user:LeakPw1@lokihost",
    "http:/user:LeakPw1@host/x",
    "https://user:LeakPw1@h:99999/x",
    "https://user:LeakPw1@h/x",
    "https://user:LeakPw1@bad host/x",
])
def test_url_errors_never_show_a_password(value: str) -> None:
    with pytest.raises(SinkOptionError) as err:
        parse_http_url("log-opt 'x-url'", value, allow_path=True)
    assert "LeakPw1" not in str(err.value) and "log-opt 'x-url'" in str(err.value)


def test_url_errors_never_show_text_the_user_did_not_type() -> None:
    with pytest.raises(SinkOptionError) as err:
        parse_http_url("x", "not a url", allow_path=True)
    assert "://" not in str(err.value).replace("http:// or https://", "")
    assert redact_url("user:pw@h:1/x") == "<unparsable URL>"
    assert redact_url("http://u:12/pw@h/x") == "<unparsable URL>"


def test_a_host_with_a_space_is_refused() -> None:
    with pytest.raises(SinkOptionError) as err:
        parse_http_url("x", "http://user:pw@bad host/x", allow_path=True)
    assert "pw" not in str(err.value)
    with pytest.raises(SinkOptionError, match="contains a space"):
        parse_http_url("x", "http://bad host/x", allow_path=True)
