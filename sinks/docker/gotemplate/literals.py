"""Go's literals in a template: strconv.Unquote of strings and characters, and which of int,
uint, float and complex a numeral can be (text/template/parse newNumber, exec idealConstant)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from .values import Value, error

MAX_NUMBER_CHARS = 400  # a longer numeral is refused (Python reads no more than 4300 digits)
Fail = Callable[[str], NoReturn]


@dataclass(slots=True)
class NumberNode:
    text: str
    is_int: bool = False
    is_uint: bool = False
    is_float: bool = False
    is_complex: bool = False
    int_value: int = 0
    float_value: float = 0.0
    complex_value: complex = 0j

    def __str__(self) -> str:
        return self.text



_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def _unquote_char(body: str, i: int, quote: str, fail: Fail) -> tuple[bytes, int]:
    """strconv.UnquoteChar at body[i]: (the bytes it stands for, the next index)."""
    c = body[i]
    if c != "\\":
        if c == quote:
            fail("invalid syntax")
        return c.encode("utf-8", "surrogateescape"), i + 1
    e = body[i + 1:i + 2]
    if e in _SIMPLE_ESCAPES:
        return bytes([_SIMPLE_ESCAPES[e]]), i + 2
    if e == quote and quote in "'\"":
        return e.encode(), i + 2
    if e in ("x", "u", "U"):
        width = {"x": 2, "u": 4, "U": 8}[e]
        digits = body[i + 2:i + 2 + width]
        if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
            fail("invalid syntax")
        code = int(digits, 16)
        if e == "x":
            return bytes([code]), i + 2 + width
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            fail("invalid syntax")
        return chr(code).encode(), i + 2 + width
    if e and e in "01234567":
        digits = body[i + 1:i + 4]
        if len(digits) != 3 or not all(d in "01234567" for d in digits) or int(digits, 8) > 255:
            fail("invalid syntax")
        return bytes([int(digits, 8)]), i + 4
    fail("invalid syntax")


def unquote(quoted: str, fail: Fail) -> str:
    """strconv.Unquote of a "double-quoted" or `raw` literal; invalid UTF-8 bytes it makes are
    kept as lone surrogates (surrogateescape)."""
    if quoted.startswith("`"):
        return quoted[1:-1].replace("\r", "")  # Go drops carriage returns from raw strings
    body = quoted[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        chunk, i = _unquote_char(body, i, '"', fail)
        out += chunk
    return out.decode("utf-8", "surrogateescape")


_GO_INT = re.compile(r"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+"
                     r"|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)")
_GO_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?"
                           r"|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?")
_GO_HEX_FLOAT = re.compile(r"([+-]?)0[xX]((?:_?[0-9a-fA-F])*"
                           r"(?:\.(?:[0-9a-fA-F](?:_?[0-9a-fA-F])*)?)?)"
                           r"[pP]([+-]?[0-9](?:_?[0-9])*)")


def _parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 0)'s syntax, without the range check."""
    if not _GO_INT.fullmatch(text):
        return None
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-").replace("_", "")
    if len(body) > 1 and body[0] == "0" and body[1] in "0123456789":
        return sign * int(body, 8)
    return sign * int(body, 0)


def _parse_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64)'s syntax; None if invalid or out of range."""
    m = _GO_HEX_FLOAT.fullmatch(text)
    if m:
        mant = m.group(2).replace("_", "")
        if mant in ("", "."):
            return None
        try:
            value = float.fromhex(f"{m.group(1)}0x{mant}p{m.group(3).replace('_', '')}")
        except (OverflowError, ValueError):
            return None
    elif _GO_DEC_FLOAT.fullmatch(text):
        value = float(text.replace("_", ""))
    else:
        return None
    return None if math.isinf(value) else value


def number(text: str, is_char: bool, is_complex: bool, fail: Fail) -> NumberNode:
    """parse.newNumber: which of int, uint, float, complex a numeral can be."""
    n = NumberNode(text)
    if len(text) > MAX_NUMBER_CHARS:
        fail(f"number {text[:20]}... is too long")
    if is_char:
        body = text[1:-1]
        if not body:
            fail(f"malformed character constant: {text}")
        if body[0] == "\\":
            raw, end = _unquote_char(body, 0, "'", fail)
            code = raw[0] if body[1] in "x01234567" else ord(raw.decode())
        else:
            code, end = ord(body[0]), 1
        if end != len(body):
            fail(f"malformed character constant: {text}")
        n.is_int = n.is_uint = n.is_float = True
        n.int_value, n.float_value = code, float(code)
        return n
    if is_complex:
        split = max(text.rfind("+"), text.rfind("-"))
        real, imag = _parse_float(text[:split]), _parse_float(text[split:-1])
        if real is None or imag is None:
            fail(f"illegal number syntax: {text!r}")
        n.is_complex, n.complex_value = True, complex(real or 0.0, imag or 0.0)
        _simplify_complex(n)
        return n
    if text.endswith("i"):
        imag = _parse_float(text[:-1])
        if imag is not None:
            n.is_complex, n.complex_value = True, complex(0, imag)
            _simplify_complex(n)
            return n
    value = _parse_int(text)
    if value is not None:
        if 0 <= value < 1 << 64:
            n.is_uint = True
        if -(1 << 63) <= value < 1 << 63:
            n.is_int = True
    if n.is_int or n.is_uint:
        n.is_float = True
        n.int_value = value or 0
        n.float_value = float(value or 0)
        return n
    f = _parse_float(text)
    if f is not None:
        if not any(c in text for c in ".eEpP"):
            fail(f"integer overflow: {text!r}")
        n.is_float, n.float_value = True, f
        if f.is_integer() and -(2.0 ** 63) <= f < 2.0 ** 63:
            n.is_int, n.int_value = True, int(f)
        if f.is_integer() and 0 <= f < 2.0 ** 64:
            n.is_uint, n.int_value = True, int(f)
    if not (n.is_int or n.is_uint or n.is_float):
        fail(f"illegal number syntax: {text!r}")
    return n


def _simplify_complex(n: NumberNode) -> None:
    if n.complex_value.imag == 0:
        f = n.complex_value.real
        n.is_float, n.float_value = True, f
        if f.is_integer() and -(2.0 ** 63) <= f < 2.0 ** 63:
            n.is_int, n.int_value = True, int(f)
        if f.is_integer() and 0 <= f < 2.0 ** 64:
            n.is_uint = True


def ideal_constant(n: NumberNode) -> Value:
    """A numeral where no type is asked for (exec.go idealConstant)."""
    if n.is_complex:
        return n.complex_value
    text = n.text
    is_hex_int = len(text) > 2 and text[0] == "0" and text[1] in "xX" and not any(
        c in text for c in "pP")
    if n.is_float and not is_hex_int and not text.startswith("'") and any(
            c in text for c in ".eEpP"):
        return n.float_value
    if n.is_int:
        return n.int_value
    if n.is_uint:
        raise error(f"{text} overflows int")
    return None
