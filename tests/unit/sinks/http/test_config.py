"""The generic HTTP sink's options: errors name the key, secrets stay out of errors and reprs."""

from __future__ import annotations

import pytest

from sinks.http.config import HttpConfig
from sinks.util.errors import SinkOptionError

URL = "https://logs.example/ingest?stream=docker"


@pytest.mark.parametrize(("opts", "key"), [
    ({"http-format": "xml"}, "http-format"),
    ({"http-headers": "no-equals"}, "http-headers"),
    ({"http-headers": "Bad Name=x"}, "http-headers"),
    ({"http-headers": "Content-Type=text/html"}, "http-headers"),
    ({"http-headers": "Authorization=x", "http-bearer-token": "t"}, "http-headers"),
    ({"http-password": "pw"}, "http-user"),
    ({"http-user": "a", "http-bearer-token": "t"}, "http-bearer-token"),
    ({"http-gzip": "yes"}, "http-gzip"),
    ({"http-url": "ftp://x"}, "http-url"),
])
def test_bad_options_name_the_key(opts: dict[str, str], key: str) -> None:
    with pytest.raises(SinkOptionError, match=f"'{key}'"):
        HttpConfig.from_options({"http-url": URL, **opts}, {})


def test_header_values_are_secret() -> None:
    with pytest.raises(SinkOptionError) as err:
        HttpConfig.from_options({"http-url": URL, "http-headers": "X-Key=abc\x01def"}, {})
    assert "abc" not in str(err.value) and "X-Key" in str(err.value)
    config = HttpConfig.from_options(
        {"http-url": URL + "&token=q1w2", "http-headers": "X-Key=hunter2",
         "http-user": "u", "http-password": "pw9"}, {})
    assert "hunter2" not in repr(config) and "q1w2" not in repr(config)


@pytest.mark.parametrize(("value", "says"), [
    ("X-Key=abc;Bearer LeakedSecret123", "item 2 of 2 is not Name=value;Name2=value2"),
    ("Authorization: Bearer LeakedSecret=", "item 1 of 1: the header name is not"),
])
def test_malformed_headers_are_never_quoted(value: str, says: str) -> None:
    with pytest.raises(SinkOptionError) as err:
        HttpConfig.from_options({"http-url": "http://h/x", "http-headers": value}, {})
    assert "log-opt 'http-headers'" in str(err.value) and says in str(err.value)
    assert "Leaked" not in str(err.value)
