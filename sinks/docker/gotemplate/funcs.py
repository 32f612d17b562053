"""The functions a ``tag`` template can call: Go's builtins (text/template funcs.go) and Docker's
(moby daemon/logger/templates: json split join title lower upper pad truncate)."""

from __future__ import annotations

import math
import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from .gotime import GoTime, Location
from .printf import go_sprint, go_sprintf, go_sprintln
from .values import (
    NO_VALUE,
    GoObject,
    NilMap,
    NilSlice,
    Value,
    error,
    go_len,
    is_true,
    type_name,
)

MAX_TAG_CHARS = 65_536  # a tag names a container; a longer value is a runaway template


class FuncError(Exception):
    """A Go function's error result (or a recovered panic): "error calling NAME: ..."."""


@dataclass(frozen=True, slots=True)
class Func:
    params: tuple[str, ...]  # parameter kinds, see exec.py
    variadic: str | None  # the kind of a trailing ...T, or None
    impl: Callable[[list[Value]], Value]


def within(func: str, chars: int) -> None:
    """Refuse a result over MAX_TAG_CHARS before building it."""
    if chars > MAX_TAG_CHARS:
        raise error(f"{func}: the result would be longer than {MAX_TAG_CHARS} characters")


# ---- Go's builtins ------------------------------------------------------------------------------

def _index_arg(index: Value, cap: int) -> int:
    if index is None:
        raise FuncError("cannot index slice/array with nil")
    if isinstance(index, bool) or not isinstance(index, int):
        raise FuncError(f"cannot index slice/array with type {type_name(index)}")
    if index < 0 or index > cap:
        raise FuncError(f"index out of range: {int(index)}")
    return int(index)


def _index(args: list[Value]) -> Value:
    item = args[0]
    if item is None:
        raise FuncError("index of untyped nil")
    for index in args[1:]:
        if isinstance(item, (str, list)):
            length = go_len(item) if isinstance(item, str) else len(item)
            i = _index_arg(index, length)
            if i == length:
                raise FuncError(f"index out of range: {i}")
            if isinstance(item, str):
                item = item.encode("utf-8", "surrogateescape")[i]  # a byte: uint8
                item = _Uint8(item)
            else:
                item = item[i]
        elif isinstance(item, dict):
            if index is None:
                index = ""
            if not isinstance(index, str):
                raise FuncError(f"value has type {type_name(index)}; should be string")
            item = item.get(index, "")
        else:
            raise FuncError(f"can't index item of type {type_name(item)}")
    return item


class _Uint8(int):
    go_type = "uint8"


def _slice(args: list[Value]) -> Value:
    item, indexes = args[0], args[1:]
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        raw = item.encode("utf-8", "surrogateescape")
        cap = len(raw)
    elif isinstance(item, list):
        cap = len(item)
    else:
        raise FuncError(f"can't slice item of type {type_name(item)}")
    idx = [0, cap, cap]
    for n, index in enumerate(indexes):
        idx[n] = _index_arg(index, cap)
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if isinstance(item, str):
        return raw[idx[0]:idx[1]].decode("utf-8", "surrogateescape")
    return list(item[idx[0]:idx[1]])


def _len(args: list[Value]) -> Value:
    item = args[0]
    if isinstance(item, str):
        return go_len(item)
    if isinstance(item, (list, dict)):
        return len(item)
    if item is None:
        raise FuncError("len of nil pointer")  # Go 1.19 reads a nil interface so
    raise FuncError(f"len of type {type_name(item)}")


def _call(args: list[Value]) -> Value:
    fn = args[0]
    if fn is None:
        raise FuncError("call of nil")
    raise FuncError(f"non-function of type {type_name(fn)}")


def _not(args: list[Value]) -> Value:
    return not is_true(args[0])


def _basic_kind(v: Value) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "uint" if type_name(v).startswith("uint") else "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, complex):
        return "complex"
    if isinstance(v, str):
        return "string"
    return None


def _eq(args: list[Value]) -> Value:
    a, others = args[0], args[1:]
    if not others:
        raise FuncError("missing argument for comparison")
    ka = _basic_kind(a)
    for b in others:
        kb = _basic_kind(b)
        if ka != kb:
            if {ka, kb} == {"int", "uint"}:
                if a == b:
                    return True
                continue
            if a is not None and b is not None:
                raise FuncError(f"incompatible types for comparison: {type_name(a)} and "
                                f"{type_name(b)}")
            continue  # nil against a value: not equal
        if ka is None:  # neither is a basic kind
            if a is None or b is None:
                if a is None and b is None:
                    return True
                continue
            if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
                raise FuncError(f"non-comparable type {type_name(b)}")
            if type(a) is not type(b):
                raise FuncError(f"non-comparable types {type_name(a)}, {type_name(b)}")
            if isinstance(a, GoTime) and isinstance(b, GoTime):
                if (a.unix, a.nsec, a.loc) == (b.unix, b.nsec, b.loc):
                    return True
                continue
            if a is b:
                return True
            continue
        if ka == "string":
            if a == b:
                return True
        elif a == b:
            return True
    return False


def _lt(args: list[Value]) -> bool:
    a, b = args
    ka, kb = _basic_kind(a), _basic_kind(b)
    if ka is None or kb is None:
        raise FuncError("invalid type for comparison")
    if ka != kb:
        if {ka, kb} == {"int", "uint"}:
            return bool(a < b)
        raise FuncError(f"incompatible types for comparison: {type_name(a)} and "
                        f"{type_name(b)}")
    if ka in ("bool", "complex"):
        raise FuncError("invalid type for comparison")
    if ka == "string":
        return bool(a.encode("utf-8", "surrogateescape") < b.encode("utf-8", "surrogateescape"))
    return bool(a < b)


def _le(args: list[Value]) -> Value:
    return _lt(args) or _eq(args)


def _html(args: list[Value]) -> Value:
    text = _eval_args(args)
    out = []
    for c in text:
        out.append({'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;",
                    "\0": "\ufffd"}.get(c, c))
    return "".join(out)


def _js(args: list[Value]) -> Value:
    text = _eval_args(args)
    out = []
    for c in text:
        if c in "\\'\"<>&=":
            out.append({"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
                        "&": "\\u0026", "=": "\\u003D"}[c])
        elif c < " ":
            out.append(f"\\u00{ord(c):02X}")
        elif c < "\x80":
            out.append(c)
        elif "\udc80" <= c <= "\udcff":  # an invalid UTF-8 byte decodes as U+FFFD, printable
            out.append(c)
        elif _is_print(c):
            out.append(c)
        else:
            out.append(f"\\u{ord(c):04X}")
    return "".join(out)


def _is_print(c: str) -> bool:
    """Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020."""
    return c == " " or unicodedata.category(c)[0] in "LMNPS"


def _urlquery(args: list[Value]) -> Value:
    raw = _eval_args(args).encode("utf-8", "surrogateescape")
    return urllib.parse.quote_plus(raw, safe="-_.~")


def _eval_args(args: list[Value]) -> str:
    """text/template evalArgs: fmt.Sprint, but a missing value prints as <no value>."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return go_sprint([NO_VALUE if a is None else _Indirect(a) if isinstance(a, GoObject)
                      and a.is_pointer() else a for a in args])


class _Indirect(GoObject):
    """A pointer's target: printableValue takes a pointer away before fmt prints it."""

    def __init__(self, target: GoObject) -> None:
        self.target = target
        self.go_type = target.go_type.removeprefix("*")

    def go_string(self) -> str | None:
        return self.target.go_string()

    def go_struct(self) -> list[tuple[str, Value]] | None:
        return self.target.go_struct()


# ---- Docker's functions -------------------------------------------------------------------------

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
    from .values import format_float

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


def _printf(args: list[Value]) -> Value:
    return go_sprintf(args[0], args[1:], MAX_TAG_CHARS)


def _print(args: list[Value]) -> Value:
    return go_sprint(args, MAX_TAG_CHARS)


def _println(args: list[Value]) -> Value:
    return go_sprintln(args, MAX_TAG_CHARS)


FUNCS: dict[str, Func] = {
    # Go's builtins
    "and": Func(("any",), "any", lambda a: a[-1]),  # short-circuit: special-cased in exec
    "or": Func(("any",), "any", lambda a: a[-1]),
    "not": Func(("any",), None, _not),
    "len": Func(("any",), None, _len),
    "index": Func(("any",), "any", _index),
    "slice": Func(("any",), "any", _slice),
    "call": Func(("any",), "any", _call),
    "eq": Func(("any",), "any", _eq),
    "ne": Func(("any", "any"), None, lambda a: not _eq(a)),
    "lt": Func(("any", "any"), None, _lt),
    "le": Func(("any", "any"), None, _le),
    "gt": Func(("any", "any"), None, lambda a: not _le(a)),
    "ge": Func(("any", "any"), None, lambda a: not _lt(a)),
    "html": Func((), "any", _html),
    "js": Func((), "any", _js),
    "urlquery": Func((), "any", _urlquery),
    "print": Func((), "any", _print),
    "println": Func((), "any", _println),
    "printf": Func(("string",), "any", _printf),
    # Docker's
    "json": Func(("any",), None, lambda a: go_json(a[0])),
    "split": Func(("string", "string"), None, _split),
    "join": Func(("[]string", "string"), None, _join),
    "title": Func(("string",), None, _title),
    "lower": Func(("string",), None, lambda a: _map_runes(a[0], upper=False)),
    "upper": Func(("string",), None, lambda a: _map_runes(a[0], upper=True)),
    "pad": Func(("string", "int", "int"), None, _pad),
    "truncate": Func(("string", "int"), None, _truncate),
}

__all__ = ["FUNCS", "MAX_TAG_CHARS", "Func", "FuncError", "go_json"]
