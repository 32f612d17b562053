"""The values and functions of ``tag`` templates: moby's ``daemon/logger/templates`` funcs
(json split join title lower upper pad truncate) with Go's semantics, plus Go's index, len and a
printf limited to %s %v %d %%, and how Go prints a value."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from .errors import SinkOptionError

TAG = "tag"
MAX_TAG_CHARS = 65_536  # a tag names a container; a value longer than this is a runaway template
Value = str | int | bool | list[str] | dict[str, str] | None  # None: Go's "<no value>"
NO_VALUE_TEXT = "<no value>"


def error(problem: str) -> SinkOptionError:
    return SinkOptionError(f"invalid value for log-opt {TAG!r}: {problem}")


def print_value(value: Value) -> str:
    """Go's fmt.Fprint of a template value."""
    if value is None:
        return NO_VALUE_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _want_str(func: str, value: Value) -> str:
    if not isinstance(value, str):
        raise error(f"{func}: expected a string argument, got {type_name(value)}")
    return value


def _want_int(func: str, value: Value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(f"{func}: expected an integer argument, got {type_name(value)}")
    return value


def type_name(value: Value) -> str:
    if value is None:
        return "no value"
    return {str: "string", int: "int", bool: "bool", list: "[]string", dict: "map"}[type(value)]


def _go_json(value: Value) -> str:
    if value is None:
        raise error("json: no value")
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _simple_case(text: str, upper: bool) -> str:
    out = []
    for c in text:
        mapped = c.upper() if upper else c.lower()
        out.append(mapped if len(mapped) == 1 else c)  # Go maps rune by rune, never to two
    return "".join(out)


def _is_separator(c: str) -> bool:
    """Go's strings.Title word boundary test."""
    if c <= "\x7f":
        return not (c.isalnum() or c == "_")
    if c.isalpha() or c.isdecimal():
        return False
    return c.isspace()


def _title(text: str) -> str:
    out = []
    prev = " "
    for c in text:
        if _is_separator(prev):
            mapped = c.title()
            out.append(mapped if len(mapped) == 1 else c)
        else:
            out.append(c)
        prev = c
    return "".join(out)


def _split(args: list[Value]) -> Value:
    s, sep = _want_str("split", args[0]), _want_str("split", args[1])
    return list(s) if sep == "" else s.split(sep)


def _join(args: list[Value]) -> Value:
    elems, sep = args[0], _want_str("join", args[1])
    if not isinstance(elems, list):
        raise error(f"join: expected a list argument, got {type_name(elems)}")
    _within("join", sum(map(len, elems)) + len(sep) * max(len(elems) - 1, 0))
    return sep.join(elems)


def _pad(args: list[Value]) -> Value:
    s = _want_str("pad", args[0])
    prefix, suffix = _want_int("pad", args[1]), _want_int("pad", args[2])
    if prefix < 0 or suffix < 0:
        raise error("pad: negative repeat count")
    _within("pad", prefix + len(s) + suffix)
    return s if s == "" else " " * prefix + s + " " * suffix


def _truncate(args: list[Value]) -> Value:
    s, length = _want_str("truncate", args[0]), _want_int("truncate", args[1])
    raw = s.encode()
    if len(raw) < length:  # Go compares and slices bytes
        return s
    if length < 0:
        raise error("truncate: negative length")
    return raw[:length].decode("utf-8", errors="replace")


def _within(func: str, chars: int) -> None:
    """Refuse a result over MAX_TAG_CHARS before building it."""
    if chars > MAX_TAG_CHARS:
        raise error(f"{func}: the result would be longer than {MAX_TAG_CHARS} characters")


def _index(args: list[Value]) -> Value:
    item = args[0]
    for key in args[1:]:
        if isinstance(item, dict):
            item = item.get(_want_str("index", key), "")
        elif isinstance(item, list):
            i = _want_int("index", key)
            if not 0 <= i < len(item):
                raise error(f"index: index out of range: {i}")
            item = item[i]
        elif isinstance(item, str):
            raise error("index: indexing a string is not supported")
        else:
            raise error(f"index: can't index item of type {type_name(item)}")
    return item


_VERB = re.compile(r"%([%svd])")


def _printf(args: list[Value]) -> Value:
    """Go's printf for the verbs a tag needs: %s, %v, %d and %%."""
    fmt = _want_str("printf", args[0])
    values = iter(args[1:])
    used = size = 0

    def verb(match: re.Match[str]) -> str:
        nonlocal used
        if match.group(1) == "%":
            return "%"
        value = next(values, None)
        if value is None:
            raise error("printf: missing argument")
        used += 1
        text = str(_want_int("printf", value)) if match.group(1) == "d" else print_value(value)
        nonlocal size
        size += len(text)
        _within("printf", size)
        return text

    if "%" in _VERB.sub("", fmt):
        raise error("printf: only the verbs %s, %v, %d and %% are supported")
    text = _VERB.sub(verb, fmt)
    if used != len(args) - 1:
        raise error("printf: too many arguments")
    return text


def _len(args: list[Value]) -> Value:
    item = args[0]
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, list | dict):
        return len(item)
    raise error(f"len: can't take length of {type_name(item)}")


# name -> (argument count, or -1 for "at least one"; implementation)
FUNCS: dict[str, tuple[int, Callable[[list[Value]], Value]]] = {
    "json": (1, lambda a: _go_json(a[0])),
    "split": (2, _split),
    "join": (2, _join),
    "title": (1, lambda a: _title(_want_str("title", a[0]))),
    "lower": (1, lambda a: _simple_case(_want_str("lower", a[0]), upper=False)),
    "upper": (1, lambda a: _simple_case(_want_str("upper", a[0]), upper=True)),
    "pad": (3, _pad),
    "truncate": (2, _truncate),
    "index": (-1, _index),
    "len": (1, _len),
    "printf": (-1, _printf),
}
