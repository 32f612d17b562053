"""Header names from log-opts (http-headers, otlp-headers): RFC 9110 field-names only, and none
the sink sets itself."""

from __future__ import annotations

import pytest

from sinks.util.errors import SinkOptionError
from sinks.util.headers import check_header_name

WHERE = "log-opt 'x-headers'"


@pytest.mark.parametrize("name", ["X-Key", "api-key", "x_tenant", "A1!#$%&'*+.^_`|~"])
def test_field_names_pass(name: str) -> None:
    check_header_name(WHERE, name, "k=v", item="item 1 of 1")


@pytest.mark.parametrize(("name", "has_value", "says"), [
    ("Bad Name", True, "item 2 of 3: the header name is not an RFC 9110 token (expected k=v)"),
    ("", True, "item 2 of 3: the header name is not"),
    ("na\u00efve", True, "expected k=v"),
    ("X-Key", False, "item 2 of 3 is not k=v"),
    ("Content-Type", True, "header 'Content-Type' is set by the sink"),
    ("content-encoding", True, "is set by the sink"),
    ("HOST", True, "is set by the sink"),
    ("Content-Length", True, "is set by the sink"),
    ("Transfer-Encoding", True, "is set by the sink"),
])
def test_refused_names_are_named(name: str, has_value: bool, says: str) -> None:
    with pytest.raises(SinkOptionError) as err:
        check_header_name(WHERE, name, "k=v", item="item 2 of 3", has_value=has_value)
    assert WHERE in str(err.value) and says in str(err.value)


@pytest.mark.parametrize(("name", "has_value"), [
    ("Authorization: Bearer LeakedSecret456", True),  # "=" in the token: a name that is a secret
    ("LeakedSecret789", False), ("Bearer LeakedSecret123", False)])
def test_a_malformed_item_is_never_quoted(name: str, has_value: bool) -> None:
    with pytest.raises(SinkOptionError) as err:
        check_header_name(WHERE, name, "k=v", item="item 1 of 1", has_value=has_value)
    assert "Leaked" not in str(err.value) and "item 1 of 1" in str(err.value)
