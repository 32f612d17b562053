"""Go's time.Time.Format (time/format.go): the reference-time layout elements
(Mon Jan 2 15:04:05 MST 2006) and what each prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


class Clock(Protocol):
    """What a layout prints from (``GoTime``): the civil fields in the time's zone, the
    nanoseconds, the weekday (0 = Sunday) and the day of the year (1-366)."""

    nsec: int

    def parts(self) -> tuple[int, int, int, int, int, int, str, int]:
        """``(year, month, day, hour, minute, second, zone name, offset seconds east of UTC)``."""
        ...

    def weekday(self) -> int: ...

    def yearday(self) -> int: ...


_ZONES = ("Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07",
          "-070000", "-07:00:00", "-0700", "-07:00", "-07")


def _next_std(layout: str, i: int) -> tuple[int, str] | None:
    """Go's nextStdChunk at position i: (length of the literal prefix kept, std token) if a
    layout element starts here, else None."""
    rest = layout[i:]
    c = rest[0]
    if c == "J" and rest.startswith("Jan"):
        if rest.startswith("January"):
            return 0, "January"
        if not rest[3:4].islower() or not rest[3:4].isascii():
            return 0, "Jan"
    elif c == "M":
        if rest.startswith("Mon"):
            if rest.startswith("Monday"):
                return 0, "Monday"
            if not rest[3:4].islower() or not rest[3:4].isascii():
                return 0, "Mon"
        if rest.startswith("MST"):
            return 0, "MST"
    elif c == "0":
        if rest[1:2] in tuple("123456"):
            return 0, rest[:2]
        if rest.startswith("002"):
            return 0, "002"
    elif c == "1":
        return (0, "15") if rest.startswith("15") else (0, "1")
    elif c == "2":
        return (0, "2006") if rest.startswith("2006") else (0, "2")
    elif c == "_":
        if rest.startswith("_2"):
            if rest.startswith("_2006"):
                return 1, "2006"  # a literal "_", then the year
            return 0, "_2"
        if rest.startswith("__2"):
            return 0, "__2"
    elif c in "345":
        return 0, c
    elif c == "P" and rest.startswith("PM"):
        return 0, "PM"
    elif c == "p" and rest.startswith("pm"):
        return 0, "pm"
    elif c in "-Z":
        for zone in _ZONES:
            if rest.startswith(zone):
                return 0, zone
    elif c in ".," and rest[1:2] in ("0", "9"):
        j = 1
        while j < len(rest) and rest[j] == rest[1]:
            j += 1
        if not rest[j:j + 1].isdigit() or not rest[j:j + 1].isascii():
            return 0, rest[:j]
    return None


def go_format(t: Clock, layout: str) -> str:
    """time.Time.Format with Go's reference-time layout (Mon Jan 2 15:04:05 MST 2006)."""
    year, month, day, hour, minute, sec, zone_name, offset = t.parts()
    out: list[str] = []
    i = literal = 0
    while i < len(layout):
        found = _next_std(layout, i)
        if found is None:
            i += 1
            continue
        keep, token = found
        out.append(layout[literal:i + keep])
        out.append(_std_value(token, year, month, day, hour, minute, sec, t.nsec, zone_name,
                              offset, t))
        i += keep + len(token)
        literal = i
    out.append(layout[literal:])
    return "".join(out)


class _Fields(NamedTuple):
    year: int
    month: int
    day: int
    hour: int
    minute: int
    sec: int
    t: Clock


# Go's layout elements that print a calendar or clock field (time/format.go appendFormat).
_STD_FIELDS: dict[str, Callable[[_Fields], str]] = {
    "January": lambda f: MONTHS[f.month - 1],
    "Jan": lambda f: MONTHS[f.month - 1][:3],
    "Monday": lambda f: DAYS[f.t.weekday()],
    "Mon": lambda f: DAYS[f.t.weekday()][:3],
    "2006": lambda f: f"{f.year:04d}" if f.year >= 0 else f"-{-f.year:04d}",
    "06": lambda f: f"{f.year % 100:02d}",
    "01": lambda f: f"{f.month:02d}",
    "1": lambda f: str(f.month),
    "02": lambda f: f"{f.day:02d}",
    "_2": lambda f: f"{f.day:2d}",
    "2": lambda f: str(f.day),
    "002": lambda f: f"{f.t.yearday():03d}",
    "__2": lambda f: f"{f.t.yearday():3d}",
    "15": lambda f: f"{f.hour:02d}",
    "3": lambda f: str(f.hour % 12 or 12),
    "03": lambda f: f"{f.hour % 12 or 12:02d}",
    "4": lambda f: str(f.minute),
    "04": lambda f: f"{f.minute:02d}",
    "5": lambda f: str(f.sec),
    "05": lambda f: f"{f.sec:02d}",
    "PM": lambda f: "PM" if f.hour >= 12 else "AM",
    "pm": lambda f: "pm" if f.hour >= 12 else "am",
}


def _std_value(token: str, year: int, month: int, day: int, hour: int, minute: int, sec: int,
               nsec: int, zone_name: str, offset: int, t: Clock) -> str:
    field = _STD_FIELDS.get(token)
    if field is not None:
        return field(_Fields(year, month, day, hour, minute, sec, t))
    if token == "MST":
        return zone_name
    if token[0] in ".,":
        digits = min(len(token) - 1, 9)
        frac = f"{nsec:09d}"[:digits]
        if token[1] == "9":
            frac = frac.rstrip("0")
            return token[0] + frac if frac else ""
        return token[0] + frac
    # zones: Z... writes Z for UTC; -07... always numeric
    if token[0] == "Z" and offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    o = abs(offset)
    hh, mm, ss = o // 3600, o // 60 % 60, o % 60
    body = token[1:]
    if body == "07":
        return f"{sign}{hh:02d}"
    if body == "0700":
        return f"{sign}{hh:02d}{mm:02d}"
    if body == "07:00":
        return f"{sign}{hh:02d}:{mm:02d}"
    if body == "070000":
        return f"{sign}{hh:02d}{mm:02d}{ss:02d}"
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"
