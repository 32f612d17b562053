"""Go values as a template sees them: their types, truth, and how fmt prints them (%v)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ...util.errors import SinkOptionError

NO_VALUE = "<no value>"  # what a template prints for a missing value (text/template)
NIL = "<nil>"  # what fmt prints for a nil interface

# A value is one of: None (Go's invalid value / nil interface), bool, int (Go int; subclasses
# below for the named integer types), float (float64), complex (complex128), str (a Go string;
# invalid UTF-8 bytes kept as lone surrogates, as surrogateescape does), list (a []string),
# dict (a map[string]string), or a GoObject (time.Time, *logger.Info, ...).
Value = Any


class TemplateError(SinkOptionError):
    """A template Go would refuse (parse error) or fail to execute; the message is the problem
    alone: the caller names its log-opt (``template.TAG``, Loki's external labels)."""


def error(problem: str) -> TemplateError:
    return TemplateError(problem)


class Unsupported(TemplateError):
    """A corner of Go's templates this plugin does not reproduce."""


def unsupported(what: str) -> Unsupported:
    return Unsupported(f"{what} is not supported by this plugin")


class Int64(int):
    go_type = "int64"


class NilSlice(list[str]):
    """A nil []string (JSON null); otherwise an empty slice."""


class NilMap(dict[str, str]):
    """A nil map[string]string (JSON null); otherwise an empty map."""


class GoObject:
    """A value with Go methods and fields: ``fields()`` by name, ``methods()`` by name, each a
    (parameter kinds, implementation) pair; see exec.py for the kinds."""

    go_type = "struct"

    def go_fields(self) -> dict[str, Callable[[], Value]]:
        return {}

    def go_methods(self) -> dict[str, tuple[tuple[str, ...], Callable[..., Value]]]:
        return {}

    def go_string(self) -> str | None:
        """String() for a fmt.Stringer, else None."""
        return None

    def go_struct(self) -> list[tuple[str, Value]] | None:
        """The exported fields in order, for printing a struct, else None."""
        return None

    def is_pointer(self) -> bool:
        return False


def type_name(value: Value) -> str:
    if value is None:
        return NIL
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return getattr(value, "go_type", "int")
    if isinstance(value, float):
        return "float64"
    if isinstance(value, complex):
        return "complex128"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]string"
    if isinstance(value, dict):
        return "map[string]string"
    if isinstance(value, GoObject):
        return value.go_type
    return "func(string) string"  # the only other value: a nil keyMod func


def is_true(value: Value) -> bool:
    """text/template's truth: the zero value of its type is false."""
    if value is None:
        return False
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    if isinstance(value, (bool, int, float, complex)):
        return bool(value)
    if isinstance(value, GoObject):
        return True  # structs always; our pointers are never nil
    return False  # a nil func


def go_len(text: str) -> int:
    """len() of a Go string: its UTF-8 bytes."""
    return len(text.encode("utf-8", "surrogateescape"))


# ---- fmt's %v -------------------------------------------------------------------------------

def format_float(value: float, fmt: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat(value, fmt, prec, 64) for 'e', 'E', 'f', 'g', 'G' (prec -1: the
    shortest digits that read back the same; %v is 'g' with prec -1)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    value = abs(value)
    upper = fmt in "EG"
    fmt = fmt.lower()
    if prec >= 0:
        if fmt == "g" and prec == 0:
            prec = 1
        text = f"{value:.{prec}{fmt}}"
        return sign + (text.upper() if upper else text)
    digits, dp = _shortest(value)
    if fmt == "g":
        fmt = "e" if not -4 <= dp - 1 < 6 else "f"  # Go: eprec 6 for the shortest form
    if fmt == "e":
        text = digits[0] + ("." + digits[1:] if len(digits) > 1 else "") + f"e{dp - 1:+03d}"
    elif dp <= 0:
        text = "0." + "0" * -dp + digits if digits != "0" else "0"
    elif dp >= len(digits):
        text = digits + "0" * (dp - len(digits))
    else:
        text = digits[:dp] + "." + digits[dp:]
    return sign + (text.upper() if upper else text)


def _shortest(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of a non-negative float and its decimal point position
    (value = 0.DIGITS * 10**dp)."""
    mant, _, e = repr(value).partition("e")
    whole, _, frac = mant.partition(".")
    digits = whole + frac
    dp = len(whole) + (int(e) if e else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    return (digits, dp) if digits else ("0", 1)


def format_complex(value: complex, fmt: str = "g") -> str:
    re_ = format_float(value.real, fmt)
    im = format_float(value.imag, fmt)
    if not im.startswith(("-", "+")):
        im = "+" + im
    return f"({re_}{im}i)"


def fmt_value(value: Value, *, plus: bool = False, top: bool = True) -> str:
    """fmt's %v (and %+v for structs) of a value; None is a nil interface: ``<nil>``."""
    if value is None:
        return NIL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, GoObject):
        text = value.go_string()
        if text is not None:
            return text
        fields = value.go_struct()
        if fields is None:
            return "{}"
        parts = [(f"{name}:" if plus else "") + fmt_value(v, plus=plus, top=False)
                 for name, v in fields]
        return ("&" if value.is_pointer() and top else "") + "{" + " ".join(parts) + "}"
    if isinstance(value, int):
        text = value.go_string() if hasattr(value, "go_string") else None  # a fmt.Stringer
        return str(int(value)) if text is None else text
    if isinstance(value, float):
        return format_float(value, "g")
    if isinstance(value, complex):
        return format_complex(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items(), key=_key)) + "]"
    return "0x0"  # a nil func prints as its address


def _key(item: tuple[str, str]) -> bytes:
    """Go sorts string keys by bytes."""
    return item[0].encode("utf-8", "surrogateescape")


def print_value(value: Value) -> str:
    """What an action prints: fmt.Fprint of the value with one pointer taken away (text/template
    printableValue), and ``<no value>`` for a missing one."""
    if value is None:
        return NO_VALUE
    return fmt_value(value, top=False)
