"""How Go's fmt prints one operand under one verb (fmt/print.go printArg, fmt/format.go):
flags, width and precision, strings and quoting, integers, floats, and the %!verb(type=value)
of a verb that does not fit the operand."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, replace

from .values import (
    NIL,
    GoObject,
    Value,
    error,
    fmt_value,
    format_complex,
    format_float,
    type_name,
    unsupported,
)

MAX_WIDTH = 1_000_000  # fmt's tooLarge: a width or precision past this is %!(BADWIDTH)


@dataclass(slots=True)
class Flags:
    """A verb's flags (+ - # space 0), width and precision; None: not given."""


    plus: bool = False
    minus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int | None = None
    prec: int | None = None


def _pad(text: str, f: Flags, zero: bool | None = None) -> str:
    if f.width is None:
        return text
    if f.width > MAX_WIDTH:
        raise error("printf: a width over 1,000,000")
    n = f.width - len(text)
    if n <= 0:
        return text
    if f.minus:
        return text + " " * n
    fill = "0" if (f.zero if zero is None else zero) else " "
    return fill * n + text


def _bad_verb(value: Value, verb: str) -> str:
    if value is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({type_name(value)}={print_arg(value, 'v', Flags())})"


def print_arg(value: Value, verb: str, f: Flags) -> str:
    """One operand under one verb and its flags, width and precision (Go's printArg)."""
    if value is None:
        if verb in "Tv":
            return _pad(NIL, f, False)
        return _bad_verb(value, verb)
    if verb == "T":
        return _pad(type_name(value), f, False)
    if verb == "p":
        raise unsupported("printf's %p (a memory address)")
    if verb == "v" and f.sharp:
        if isinstance(value, str):
            return _pad(go_quote(value), f)
        if isinstance(value, bool) or (isinstance(value, int) and type(value) is int):
            return _pad(fmt_value(value), f)
        raise unsupported(f"printf's %#v of a {type_name(value)}")
    if isinstance(value, GoObject) or (isinstance(value, int) and hasattr(value, "go_string")):
        text = value.go_string()
        if text is not None:
            if verb in "vsxXq":
                return _fmt_string(text, verb, f)
            if isinstance(value, GoObject):
                raise unsupported(f"printf's %{verb} of a {type_name(value)}")
    if isinstance(value, bool):
        if verb in "tv":
            return _pad("true" if value else "false", f, False)
        return _bad_verb(value, verb)
    # Go's %+v: the + asks for struct field names (fmt's plusV) and gives numbers no sign.
    num = replace(f, plus=False) if verb == "v" and f.plus else f
    if isinstance(value, int):
        return _fmt_int(value, verb, num)
    if isinstance(value, float):
        return _fmt_float(value, verb, num)
    if isinstance(value, complex):
        if verb not in "vbeEfFgGxX":
            return _bad_verb(value, verb)
        if verb in "bxX" or f.prec is not None or f.sharp:
            raise unsupported(f"printf's %{verb} of a complex number")
        return _pad(format_complex(value, "g" if verb == "v" else verb.lower()), num)
    if isinstance(value, str):
        return _fmt_string(value, verb, f)
    if isinstance(value, list):
        inner = " ".join(print_arg(v, verb, Flags(f.plus, f.minus, f.sharp, f.space, f.zero,
                                                f.width, f.prec)) for v in value)
        return "[" + inner + "]"
    if isinstance(value, dict):
        flags = Flags(f.plus, f.minus, f.sharp, f.space, f.zero, f.width, f.prec)
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-8", "surrogateescape"))
        return "map[" + " ".join(f"{print_arg(k, verb, flags)}:{print_arg(v, verb, flags)}"
                                 for k, v in items) + "]"
    if isinstance(value, GoObject):
        fields = value.go_struct()
        if fields is None:
            raise unsupported(f"printf of a {type_name(value)}")
        parts = []
        for name, v in fields:
            text = print_arg(v, verb, f)
            parts.append(f"{name}:{text}" if f.plus and verb == "v" else text)
        return ("&" if value.is_pointer() else "") + "{" + " ".join(parts) + "}"
    raise unsupported(f"printf of a {type_name(value)}")


def _fmt_string(text: str, verb: str, f: Flags) -> str:
    if verb in "vs":
        if f.prec is not None:
            text = text[:f.prec]
        return _pad(text, f)
    if verb in "xX":
        raw = text.encode("utf-8", "surrogateescape")
        if f.prec is not None:
            raw = raw[:f.prec]
        digits = raw.hex() if verb == "x" else raw.hex().upper()
        pairs = [digits[k:k + 2] for k in range(0, len(digits), 2)]
        prefix = ("0x" if verb == "x" else "0X") if f.sharp else ""
        if f.space:
            return _pad(" ".join(prefix + p for p in pairs), f)
        return _pad(prefix + "".join(pairs) if pairs else "", f)
    if verb == "q":
        if f.prec is not None:
            text = text[:f.prec]
        if f.sharp and _can_backquote(text):
            return _pad("`" + text + "`", f)
        return _pad(go_quote(text, ascii_only=f.plus), f)
    return _bad_verb(text, verb)


def _can_backquote(text: str) -> bool:
    return all(c == "\t" or (c >= " " and c not in "`\x7f\ufeff" and not
                             "\udc80" <= c <= "\udcff") for c in text)


def _is_print(c: str) -> bool:
    return c == " " or (c > " " and unicodedata.category(c)[0] in "LMNPS")


def go_quote(text: str, ascii_only: bool = False, quote: str = '"') -> str:
    """strconv.Quote (QuoteToASCII with ascii_only)."""
    out = [quote]
    for c in text:
        if c == quote or c == "\\":
            out.append("\\" + c)
        elif "\udc80" <= c <= "\udcff":
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        elif c in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[c])
        elif c < "\x80" and _is_print(c):
            out.append(c)
        elif not ascii_only and _is_print(c):
            out.append(c)
        elif c < " " or c == "\x7f":
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    out.append(quote)
    return "".join(out)


def _fmt_int(value: int, verb: str, f: Flags) -> str:
    unsigned = type_name(value).startswith("uint")
    if verb == "c":
        return _pad(_rune(value), f, False)
    if verb == "q":
        text = go_quote(_rune(value), ascii_only=f.plus, quote="'")
        if f.sharp and 0 <= value < 0x110000 and _is_print(chr(value)) and chr(value) != "'":
            text = "`" + chr(value) + "`"
        return _pad(text, f, False)
    if verb == "U":
        text = f"U+{value:04X}" if value >= 0 else f"U+{value & 0xFFFFFFFFFFFFFFFF:04X}"
        if f.sharp and 0 <= value < 0x110000 and _is_print(chr(value)):
            text += f" '{chr(value)}'"
        return _pad(text, f, False)
    bases = {"v": 10, "d": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}
    if verb not in bases:
        return _bad_verb(value, verb)
    base = bases[verb]
    negative = value < 0 and not unsigned
    u = -value if negative else value
    prec = 0
    if f.prec is not None:
        prec = f.prec
        if prec == 0 and u == 0:
            return _pad("", f, False)
    elif f.zero and f.width is not None:
        prec = f.width
        if negative or f.plus or f.space:
            prec -= 1
    if base == 10:
        digits = str(u)
    elif base == 16:
        digits = format(u, "x" if verb == "x" else "X")
    elif base == 8:
        digits = format(u, "o")
    else:
        digits = format(u, "b")
    if len(digits) < prec:
        digits = "0" * (prec - len(digits)) + digits
    if f.sharp:
        if base == 2:
            digits = "0b" + digits
        elif base == 8 and not digits.startswith("0"):
            digits = "0" + digits
        elif base == 16:
            digits = ("0x" if verb == "x" else "0X") + digits
    if verb == "O":
        digits = "0o" + digits
    if negative:
        digits = "-" + digits
    elif f.plus:
        digits = "+" + digits
    elif f.space:
        digits = " " + digits
    return _pad(digits, f, False)


def _hex_float(value: float, upper: bool) -> str:
    """strconv.FormatFloat(value, 'x', -1, 64): 0x1.cp+01."""
    if value != value or value in (float("inf"), float("-inf")):
        return format_float(value)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        text = "0x0p+00"
    else:
        mant, _, exp = abs(value).hex().partition("p")
        mant = mant.rstrip("0").rstrip(".")
        e = int(exp)
        text = f"{mant}p{'-' if e < 0 else '+'}{abs(e):02d}"
    return sign + (text.upper() if upper else text)


def _rune(value: int) -> str:
    if not 0 <= value <= 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return "\ufffd"
    return chr(value)


def _fmt_float(value: float, verb: str, f: Flags) -> str:
    if verb not in "vbeEfFgGxX":
        return _bad_verb(value, verb)
    if verb == "b" or f.sharp or (verb in "xX" and f.prec is not None):
        raise unsupported(f"printf's %{'#' if f.sharp else ''}{verb} of a float")
    if verb in "xX":
        text = _hex_float(value, upper=verb == "X")
    else:
        fmt = {"v": "g", "F": "f"}.get(verb, verb)
        prec = f.prec if f.prec is not None else (6 if fmt in "eEf" else -1)
        text = format_float(value, fmt, prec)
    if text[0] in "+-":
        num = text
    else:
        num = "+" + text
    if f.space and num[0] == "+" and not f.plus:
        num = " " + num[1:]
    if num[1] in "IN":  # Inf, NaN: no zero padding
        if num[1] == "N" and not f.space and not f.plus:
            num = num[1:]
        return _pad(num, f, False)
    if f.plus or num[0] != "+":
        if f.zero and f.width is not None and f.width > len(num):
            return num[0] + "0" * (f.width - len(num)) + num[1:]
        return _pad(num, f)
    return _pad(num[1:], f)
