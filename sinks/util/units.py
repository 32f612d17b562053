"""Docker's go-units sizes and Go's ``strconv.Atoi``, exactly as the daemon's drivers read them.

Docker's ``local`` driver reads ``max-size`` with ``units.FromHumanSize`` (decimal: ``20m`` is
20,000,000 bytes, and so are ``20MB`` and ``20MiB``) and ``max-file`` with ``strconv.Atoi``
(moby ``daemon/logger/local/config.go``); ``max-buffer-size`` and our ``--disk-budget`` use
``units.RAMInBytes`` (binary: ``20m`` is 20 MiB). go-units changed its grammar between v0.4
(Docker 20.10.24 reads sizes with it: tests/e2e/test_drop_in_faults.py) and v0.5 (vendored by
newer Docker); a size either accepts is accepted here, and where both accept one they read it
the same.
"""

from __future__ import annotations

import math
import re

DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}  # go-units decimalMap
BINARY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}  # binaryMap
INT64_LIMIT = 1 << 63  # Go's int64(f) of a larger float is negative on amd64: refused as such

# go-units v0.4 (size.go sizeRegex; Go's \d is ASCII only, its $ the very end).
_V04 = re.compile(r"([0-9]+(?:\.[0-9]+)*) ?([kKmMgGtTpP])?[iI]?[bB]?")
# Go's strconv.ParseFloat syntax: decimal or hexadecimal literals, ``_`` only between digits (or
# right after a 0x prefix); "Inf"/"NaN" cannot end in a digit, so a size never reaches them.
_DEC = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_GO_DECIMAL = re.compile(rf"[+-]?(?:{_DEC}(?:\.(?:{_DEC})?)?|\.{_DEC})(?:[eE][+-]?{_DEC})?")
_GO_HEX = re.compile(rf"[+-]?0[xX](?:_?{_HEX}(?:\.(?:{_HEX})?)?|\.{_HEX})[pP][+-]?{_DEC}")
_GO_ATOI = re.compile(r"[+-]?[0-9]+")


def go_parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)``; None where Go returns an error (syntax or range)."""
    try:
        if _GO_DECIMAL.fullmatch(text):
            value = float(text.replace("_", ""))
        elif _GO_HEX.fullmatch(text):
            value = float.fromhex(text.replace("_", ""))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return None if math.isinf(value) else value


def _v05(text: str, units: dict[str, int]) -> float | None:
    """go-units v0.5 ``parseSize``: a Go float, an optional space, then an optional suffix:
    ``b``, or k/m/g/t/p optionally followed by ``b`` or ``ib`` (any case)."""
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep < 0:
        return None
    num, sfx = (text[: sep + 1], text[sep + 1 :]) if text[sep] != " " else (
        text[:sep], text[sep + 1 :])
    size = go_parse_float(num)
    if size is None or size < 0:
        return None
    if not sfx:
        return size
    sfx = sfx.lower()
    if len(sfx) > 3:
        return None
    if sfx[0] == "b":
        return size if len(sfx) == 1 else None
    if sfx[0] not in units or (len(sfx) == 2 and sfx[1] != "b") or (
            len(sfx) == 3 and sfx[1:] != "ib"):
        return None
    return size * units[sfx[0]]


def _v04(text: str, units: dict[str, int]) -> float | None:
    m = _V04.fullmatch(text)
    if m is None:
        return None
    size = go_parse_float(m.group(1))  # "1.2.3" matches the pattern and fails here
    if size is None:
        return None
    return size * units[m.group(2).lower()] if m.group(2) else size


def parse_go_size(text: str, *, binary: bool = False) -> int | None:
    """Bytes for a go-units size (``FromHumanSize``, or ``RAMInBytes`` with ``binary``) that
    either grammar accepts, truncated toward zero as Go's ``int64()`` does; None for a size Docker
    refuses, or one too large for an int64 (which Go turns negative, refused as negative)."""
    units = BINARY if binary else DECIMAL
    size = _v05(text, units)
    if size is None:
        size = _v04(text, units)
    if size is None or math.isinf(size) or size >= INT64_LIMIT:
        return None
    return int(size)


def go_atoi(text: str) -> int | None:
    """``strconv.Atoi`` on a 64-bit platform: optional sign, ASCII digits, int64 range."""
    if not _GO_ATOI.fullmatch(text) or len(text.lstrip("+-").lstrip("0")) > 19:
        return None  # (19 digits: int64's most; checked before int() meets a huge string)
    n = int(text)
    return n if -INT64_LIMIT <= n < INT64_LIMIT else None
