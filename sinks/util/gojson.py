"""JSON text as Go's encoding/json writes it, so Splunk envelopes match Docker's byte for byte.

Go differs from Python's ``json.dumps`` in three ways that show in the bytes: it escapes
``<``, ``>``, ``&`` (HTML-safe by default) and U+2028/U+2029; it writes each byte of invalid
UTF-8 as the escape ``\ufffd`` (a valid U+FFFD stays raw); and a ``json.RawMessage`` is copied
compacted, not re-encoded. Text for these encoders comes from ``go_text``, which keeps invalid
bytes as lone surrogates (``surrogateescape``) so ``go_string`` can tell them apart.
One difference is kept on purpose: Go 1.19 (Docker 20.10) writes U+0008/U+000C as ``\u0008``
and ``\u000c``, Go 1.22+ (and Python) as ``\b`` and ``\f``; both are the same JSON.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping

_GO_ERRORS = "logdriver-go-replace"


def _replace_one_byte(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\ufffd", exc.start + 1  # Go's utf8.DecodeRune: one RuneError per bad byte


codecs.register_error(_GO_ERRORS, _replace_one_byte)

_GO_ESCAPED = re.compile("[<>&\u2028\u2029\udc80-\udcff]")
_INVALID_BYTE = "\\ufffd"  # what Go writes for one byte of invalid UTF-8
_GO_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
               ("\u2029", "\\u2029"))
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # bytes kept by surrogateescape
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# In valid JSON text: a whole string token, or a run of insignificant whitespace.
_STRING_OR_SPACE = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|[ \t\n\r]+', re.DOTALL)


def decode_line(line: bytes) -> str:
    """Bytes -> text with U+FFFD for each invalid byte (as Go's decoder counts them)."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("utf-8", errors=_GO_ERRORS)


def go_text(line: bytes) -> str:
    """Bytes -> text for ``go_string``: invalid UTF-8 bytes become lone surrogates, one each."""
    return line.decode("utf-8", errors="surrogateescape")


def _go_escape(text: str) -> str:
    if _GO_ESCAPED.search(text) is None:
        return text
    for char, escape in _GO_ESCAPES:  # str.replace beats re.sub and str.translate here
        if char in text:
            text = text.replace(char, escape)
    if _ESCAPED_BYTE.search(text) is None:
        return text
    return _ESCAPED_BYTE.sub(lambda _: _INVALID_BYTE, text)


# Text that Go and Python both copy into a JSON string unchanged: printable ASCII but for the
# characters either of them escapes. Most log lines are like this.
_PLAIN = re.compile(r'[ !#-%\'-;=?-\[\]-~]*')
# The same set as bytes, for ``bytes.translate(None, PLAIN_CHARS)``: what is left is not plain.
PLAIN_CHARS = bytes(c for c in range(256) if _PLAIN.fullmatch(chr(c)))


def go_string(text: str) -> str:
    """A JSON string literal as Go's json.Marshal writes it (``text`` may come from go_text)."""
    if _PLAIN.fullmatch(text):
        return '"' + text + '"'
    return _go_escape(_dumps(text))


def go_map(values: Mapping[str, str]) -> str:
    """A ``map[string]string`` as Go writes it: keys sorted, strings Go-escaped."""
    return "{" + ",".join(f"{go_string(k)}:{go_string(values[k])}" for k in sorted(values)) + "}"


def _reject_constant(name: str) -> object:
    raise ValueError(name)  # NaN and Infinity are not JSON to Go


def raw_json(text: str) -> str | None:
    """If ``text`` is one JSON value (Go's json.Unmarshal into RawMessage accepts it), the value
    compacted and HTML-escaped as json.Marshal copies a RawMessage; else None."""
    if not text or text[0] not in ' \t\n\r{["-0123456789tfn':
        return None
    try:
        json.loads(text, parse_constant=_reject_constant)
    except ValueError:  # JSONDecodeError, RecursionError's cousin ValueError, or a constant
        return None
    except RecursionError:
        return None
    compact = _STRING_OR_SPACE.sub(lambda m: m.group(1) or "", text)
    # Go would copy invalid UTF-8 through; HEC may refuse a body that is not UTF-8, so those
    # bytes become \ufffd as in a string.
    return _go_escape(compact)
