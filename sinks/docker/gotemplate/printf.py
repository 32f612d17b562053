"""Go's fmt.Sprint, Sprintln and Sprintf for template values: verbs, flags, width, precision,
argument indexes and fmt's in-band errors (%!d(string=x), %!(EXTRA ...), %!v(MISSING))."""

from __future__ import annotations

from .fmtverb import MAX_WIDTH, Flags, print_arg
from .values import (
    Value,
    error,
    type_name,
    unsupported,
)


def _is_string(value: Value) -> bool:
    return isinstance(value, str)


def go_sprint(args: list[Value], limit: int = 1 << 62) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out: list[str] = []
    size = 0
    prev_string = False
    for n, arg in enumerate(args):
        is_string = _is_string(arg)
        if n > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(print_arg(arg, "v", Flags()))
        size += len(out[-1]) + 1
        if size > limit:
            raise error(f"print: the result would be longer than {limit} characters")
        prev_string = is_string
    return "".join(out)


def go_sprintln(args: list[Value], limit: int = 1 << 62) -> str:
    """fmt.Sprintln: spaces between all operands, then a newline."""
    text = " ".join(print_arg(arg, "v", Flags()) for arg in args) + "\n"
    if len(text) > limit:
        raise error(f"println: the result would be longer than {limit} characters")
    return text


def go_sprintf(fmt: str, args: list[Value], limit: int = 1 << 62) -> str:
    """fmt.Sprintf."""
    out: list[str] = []
    size = 0
    arg_num = 0
    reordered = False
    i, end = 0, len(fmt)
    while i < end:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        f = Flags()
        while i < end:  # flags
            c = fmt[i]
            if c == "#":
                f.sharp = True
            elif c == "0":
                f.zero = not f.minus
            elif c == "+":
                f.plus = True
            elif c == "-":
                f.minus, f.zero = True, False
            elif c == " ":
                f.space = True
            else:
                break
            i += 1
        good_arg = True
        arg_num, i, after_index, ok = _arg_number(arg_num, fmt, i, len(args))
        reordered |= after_index
        good_arg &= ok
        bad_width = bad_prec = False
        if i < end and fmt[i] == "*":  # width from an argument
            i += 1
            width, okw, arg_num = _int_from_arg(args, arg_num)
            if not okw:
                bad_width = True
            elif width is not None:
                if width < 0:
                    f.minus, f.zero, width = True, False, -width
                f.width = width
            after_index = False
        else:
            width, i2 = _parse_num(fmt, i)
            if i2 != i:
                if after_index:  # "%[3]2d"
                    good_arg = False
                f.width = width
            i = i2
        if i + 1 <= end and i < end and fmt[i] == ".":
            i += 1
            if after_index:
                good_arg = False
            arg_num, i, after_index, ok = _arg_number(arg_num, fmt, i, len(args))
            reordered |= after_index
            good_arg &= ok
            if i < end and fmt[i] == "*":
                i += 1
                prec, okp, arg_num = _int_from_arg(args, arg_num)
                if prec is not None and prec < 0:
                    prec, okp = None, False
                if not okp:
                    bad_prec = True
                f.prec = prec
                after_index = False
            else:
                prec, i = _parse_num(fmt, i)
                f.prec = prec if prec is not None else 0
        if not after_index:
            arg_num, i, after_index, ok = _arg_number(arg_num, fmt, i, len(args))
            reordered |= after_index
            good_arg &= ok
        if bad_width:
            out.append("%!(BADWIDTH)")
        if bad_prec:
            out.append("%!(BADPREC)")
        if i >= end:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif not good_arg:
            out.append(f"%!{verb}(BADINDEX)")
        elif arg_num >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            if verb == "w":
                raise unsupported("printf's %w")
            out.append(print_arg(args[arg_num], verb, f))
            arg_num += 1
        size += len(out[-1])
        if size > limit:
            raise error(f"printf: the result would be longer than {limit} characters")
    if not reordered and arg_num < len(args):
        extra = ", ".join("<nil>" if a is None else f"{type_name(a)}={print_arg(a, 'v', Flags())}"
                          for a in args[arg_num:])
        out.append(f"%!(EXTRA {extra})")
    text = "".join(out)
    if len(text) > limit:
        raise error(f"printf: the result would be longer than {limit} characters")
    return text


def _parse_num(fmt: str, i: int) -> tuple[int | None, int]:
    start = i
    while i < len(fmt) and "0" <= fmt[i] <= "9":
        i += 1
        if i - start > 6:  # fmt's tooLarge
            raise error("printf: a width or precision over 1,000,000")
    return (int(fmt[start:i]) if i > start else None), i


def _arg_number(arg_num: int, fmt: str, i: int, nargs: int) -> tuple[int, int, bool, bool]:
    """fmt's argNumber: an explicit [n] index; (arg, position, found, ok)."""
    if i >= len(fmt) or fmt[i] != "[":
        return arg_num, i, False, True
    close = fmt.find("]", i + 1)
    if close < 0:
        return arg_num, i + 1, False, False  # no closing bracket: bad index
    text = fmt[i + 1:close]
    if not text.isdigit() or not text.isascii():
        return arg_num, close + 1, True, False
    index = int(text) - 1
    if index < 0 or index >= nargs:
        return arg_num, close + 1, True, False
    return index, close + 1, True, True


def _int_from_arg(args: list[Value], arg_num: int) -> tuple[int | None, bool, int]:
    if arg_num >= len(args):
        return None, False, arg_num
    value = args[arg_num]
    if isinstance(value, bool) or not isinstance(value, int):
        return None, False, arg_num + 1
    if not -MAX_WIDTH <= value <= MAX_WIDTH:
        return None, False, arg_num + 1
    return int(value), True, arg_num + 1


