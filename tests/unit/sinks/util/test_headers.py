"""Header names from log-opts (http-headers, otlp-headers): RFC 9110 field-names only, and none
the sink sets itself."""

from __future__ import annotations

import pytest

from sinks.util.errors import SinkOptionError
from sinks.util.headers import check_header_name

WHERE = "log-opt 'x-headers'"


@pytest.mark.parametrize("name", ["X-Key", "api-key", "x_tenant", "A1!#$%&'*+.^_`|~"])
def test_field_names_pass(name: str) -> None:
    check_header_name(WHERE, name, "k=v")


@pytest.mark.parametrize(("name", "has_value", "says"), [
    ("Bad Name", True, "expected k=v (near 'Bad Name')"),
    ("", True, "expected k=v (near '')"),
    ("na\u00efve", True, "expected k=v"),
    ("X-Key", False, "expected k=v (near 'X-Key')"),
    ("x" * 100 + " y", True, f"(near {'x' * 40!r})"),
    ("Content-Type", True, "header 'Content-Type' is set by the sink"),
    ("content-encoding", True, "is set by the sink"),
    ("HOST", True, "is set by the sink"),
    ("Content-Length", True, "is set by the sink"),
    ("Transfer-Encoding", True, "is set by the sink"),
])
def test_refused_names_are_named(name: str, has_value: bool, says: str) -> None:
    with pytest.raises(SinkOptionError) as err:
        check_header_name(WHERE, name, "k=v", has_value=has_value)
    assert WHERE in str(err.value) and says in str(err.value)
