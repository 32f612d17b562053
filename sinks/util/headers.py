"""Header names in log-opts: RFC 9110's field-name syntax and the headers a sink sets itself."""

from __future__ import annotations

import re

from .parse import invalid

FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 section 5.1: a token
# Framing and body headers the sink (or httpx) sets from the request it builds: a value from a
# log-opt would contradict the body.
SET_BY_SINK = frozenset({"content-type", "content-encoding", "content-length", "host",
                         "transfer-encoding"})


def check_header_name(where: str, name: str, form: str, *, item: str,
                      has_value: bool = True) -> None:
    """Raise SinkOptionError (naming ``where``) unless ``name`` is a field-name that the sink
    does not set itself. ``form``: the option's syntax, for the error (``Name=value;...``);
    ``item``: which item of the list it is (``item 2 of 3``); ``has_value``: False when the item
    had no ``=``. A malformed item may be a secret (a value typed without its name), so the
    error names only its position; only a valid name is ever quoted, never a value."""
    if not has_value:
        raise invalid(where, f"{item} is not {form}")
    if not FIELD_NAME.fullmatch(name):
        raise invalid(where, f"{item}: the header name is not an RFC 9110 token (expected {form})")
    if name.lower() in SET_BY_SINK:
        raise invalid(where, f"header {name!r} is set by the sink")
