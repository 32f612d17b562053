"""Docker's template functions (moby daemon/logger/templates: json split join title lower upper
pad truncate), and FUNCS: the table a ``tag`` template is parsed with, Go's builtins plus these."""

from __future__ import annotations

import math

from .funcs import BUILTINS, Func, FuncError, within
from .gotime import GoTime, Location
from .values import GoObject, NilMap, NilSlice, Value, format_float


def go_json(value: Value) -> str:
    """Docker's json func: encoding/json with HTML escaping off, the newline trimmed; a value
    the encoder refuses gives "" (Docker ignores the error)."""
    try:
        text = _json(value)
    except ValueError:
        return ""
    return text.strip(" \t\r\n")


def _json(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("unsupported value")
        return _json_float(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, complex):
        raise ValueError("unsupported type")
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, NilSlice) or isinstance(value, NilMap):
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(_json_string(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-8", "surrogateescape"))
        return "{" + ",".join(_json_string(k) + ":" + _json_string(v) for k, v in items) + "}"
    if isinstance(value, GoTime):
        text = value.json()
        if text is None:
            raise ValueError("year outside of range [0,9999]")
        return text
    if isinstance(value, Location):
        return "{}"
    if isinstance(value, GoObject):
        fields = value.go_struct()
        if fields is None:
            return "{}"
        return "{" + ",".join(_json_string(k) + ":" + _json(v) for k, v in fields) + "}"
    raise ValueError("unsupported type")  # a func


def _json_float(value: float) -> str:
    """encoding/json's float64: like ES6, 'e' form below 1e-6 and from 1e21."""
    a = abs(value)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        text = format_float(value, "e", -1)
        # Go: e-07 -> e-7
        mant, _, exp = text.partition("e")
        sign, digits = exp[0], exp[1:].lstrip("0") or "0"
        return f"{mant}e{sign}{digits}"
    return format_float(value, "f", -1)


def _json_string(text: str) -> str:
    out = ['"']
    for c in text:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c < " ":
            out.append(f"\\u{ord(c):04x}")
        elif c in "\u2028\u2029":
            out.append(f"\\u{ord(c):04x}")
        elif "\ud800" <= c <= "\udfff":
            out.append("\\ufffd")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _split(args: list[Value]) -> Value:
    s, sep = args
    if sep == "":
        return list(s)  # one element per rune, or per invalid byte
    return s.split(sep)


def _join(args: list[Value]) -> Value:
    elems, sep = args
    within("join", sum(map(len, elems)) + len(sep) * max(len(elems) - 1, 0))
    return sep.join(elems)


def _map_runes(text: str, upper: bool) -> str:
    out = []
    for c in text:
        if "\udc80" <= c <= "\udcff":
            out.append("\ufffd")  # strings.Map writes RuneError for an invalid byte
            continue
        out.append(_simple_upper(c) if upper else _simple_lower(c))
    return "".join(out)


def _simple_upper(c: str) -> str:
    """unicode.ToUpper: the simple (one rune) mapping. Python's upper() is the full mapping; where
    that is several runes, the simple mapping is the title case when that is one rune (ᾀ -> ᾈ),
    else none (ß, ŉ stay)."""
    mapped = c.upper()
    if len(mapped) == 1:
        return mapped
    title = c.title()
    return title if len(title) == 1 else c


def _simple_lower(c: str) -> str:
    """unicode.ToLower: only U+0130 has a full lowercase of two runes; its simple one is "i"."""
    mapped = c.lower()
    return mapped if len(mapped) == 1 else "i" if c == "\u0130" else c


def _is_separator(c: str) -> bool:
    """Go's strings.Title word boundary."""
    if c <= "\x7f":
        return not (c.isalnum() or c == "_")
    if c.isalpha() or c.isdecimal():
        return False
    return c.isspace()


def _title(args: list[Value]) -> Value:
    out = []
    prev = " "
    for c in args[0]:
        if "\udc80" <= c <= "\udcff":
            c = "\ufffd"
        if _is_separator(prev):
            mapped = c.title()
            out.append(mapped if len(mapped) == 1 else c)
        else:
            out.append(c)
        prev = c
    return "".join(out)


def _pad(args: list[Value]) -> Value:
    s, prefix, suffix = args
    if s == "":
        return s
    if prefix < 0 or suffix < 0:
        raise FuncError("strings: negative Repeat count")
    within("pad", prefix + len(s) + suffix)
    return " " * prefix + s + " " * suffix


def _truncate(args: list[Value]) -> Value:
    s, length = args
    raw = s.encode("utf-8", "surrogateescape")
    if len(raw) < length:  # Go compares and slices bytes
        return s
    if length < 0:
        raise FuncError(f"runtime error: slice bounds out of range [:{length}]")
    return raw[:length].decode("utf-8", "surrogateescape")


FUNCS: dict[str, Func] = {
    **BUILTINS,
    "json": Func(("any",), None, lambda a: go_json(a[0])),
    "split": Func(("string", "string"), None, _split),
    "join": Func(("[]string", "string"), None, _join),
    "title": Func(("string",), None, _title),
    "lower": Func(("string",), None, lambda a: _map_runes(a[0], upper=False)),
    "upper": Func(("string",), None, lambda a: _map_runes(a[0], upper=True)),
    "pad": Func(("string", "int", "int"), None, _pad),
    "truncate": Func(("string", "int"), None, _truncate),
}

__all__ = ["FUNCS", "go_json"]
