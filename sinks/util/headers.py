"""Header names in log-opts: RFC 9110's field-name syntax and the headers a sink sets itself."""

from __future__ import annotations

import re

from .parse import invalid

FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 section 5.1: a token
# Framing and body headers the sink (or httpx) sets from the request it builds: a value from a
# log-opt would contradict the body.
SET_BY_SINK = frozenset({"content-type", "content-encoding", "content-length", "host",
                         "transfer-encoding"})
NAME_SHOWN_CHARS = 40  # how much of a malformed name an error quotes


def check_header_name(where: str, name: str, form: str, *, has_value: bool = True) -> None:
    """Raise SinkOptionError (naming ``where``) unless ``name`` is a field-name that the sink
    does not set itself. ``form``: the option's syntax, for the error (``Name=value;...``);
    ``has_value``: False when the item had no ``=``. Only names are quoted, never values."""
    if not has_value or not FIELD_NAME.fullmatch(name):
        raise invalid(where, f"expected {form} (near {name[:NAME_SHOWN_CHARS]!r})")
    if name.lower() in SET_BY_SINK:
        raise invalid(where, f"header {name!r} is set by the sink")
