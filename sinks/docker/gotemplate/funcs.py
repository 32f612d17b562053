"""Go's builtin template functions (text/template funcs.go), their calling convention (Func,
FuncError) and the output bound every function keeps (MAX_TAG_CHARS). Docker's own functions
are in ``dockerfuncs``."""

from __future__ import annotations

import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from .gotime import GoTime
from .printf import go_sprint, go_sprintf, go_sprintln
from .values import (
    NO_VALUE,
    GoObject,
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


# Go's basic kinds (funcs.go basicKind) by the Python type that carries them; bool first, as
# Python's bool is an int.
_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "bool"), (int, "int"), (float, "float"), (complex, "complex"), (str, "string"))


def _basic_kind(v: Value) -> str | None:
    """The kind ``eq`` and ``lt`` compare within ("uint" for Go's unsigned ints); None: none."""
    for carrier, kind in _KINDS:
        if isinstance(v, carrier):
            return "uint" if kind == "int" and type_name(v).startswith("uint") else kind
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


def _printf(args: list[Value]) -> Value:
    return go_sprintf(args[0], args[1:], MAX_TAG_CHARS)


def _print(args: list[Value]) -> Value:
    return go_sprint(args, MAX_TAG_CHARS)


def _println(args: list[Value]) -> Value:
    return go_sprintln(args, MAX_TAG_CHARS)


BUILTINS: dict[str, Func] = {
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
}

__all__ = ["BUILTINS", "MAX_TAG_CHARS", "Func", "FuncError", "within"]
