"""Go's time.Time, Month, Weekday, Duration and *Location as a template sees them: the methods,
Format (its layouts in golayout.py), and String() (the form a template prints)."""

from __future__ import annotations

import re
import time as _time
from collections.abc import Callable

from .golayout import DAYS, MONTHS, go_format
from .values import GoObject, Int64, Value, error, unsupported

NS = 1_000_000_000
SECONDS_PER_DAY = 86_400
UNIX_TO_ABSOLUTE = 62_135_596_800  # seconds from Go's zero time (January 1, year 1 UTC)
MAX_INT64 = (1 << 63) - 1
STRING_LAYOUT = "2006-01-02 15:04:05.999999999 -0700 MST"  # time.Time.String
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"


class Month(int):
    go_type = "time.Month"

    def go_string(self) -> str:
        return MONTHS[self - 1] if 1 <= self <= 12 else f"%!Month({int(self)})"


class Weekday(int):
    go_type = "time.Weekday"

    def go_string(self) -> str:
        return DAYS[self] if 0 <= self <= 6 else f"%!Weekday({int(self)})"


class Duration(int):
    """time.Duration: int64 nanoseconds."""

    go_type = "time.Duration"

    def go_string(self) -> str:
        return duration_string(int(self))


def duration_string(d: int) -> str:
    """time.Duration.String: 72h3m0.5s, 1.5µs, 0s."""
    if d == 0:
        return "0s"
    neg = d < 0
    u = -d if neg else d
    if u < NS:
        for unit, size in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if u < size * 1000:
                text = _fraction(u, size) + unit
                break
    else:
        secs = _fraction(u % (60 * NS), NS) + "s"
        minutes = u // (60 * NS)
        text = secs
        if minutes:
            text = f"{minutes % 60}m" + text
            hours = minutes // 60
            if hours:
                text = f"{hours}h" + text
    return ("-" if neg else "") + text


def _fraction(value: int, size: int) -> str:
    whole, frac = divmod(value, size)
    if not frac:
        return str(whole)
    width = len(str(size)) - 1
    return f"{whole}." + f"{frac:0{width}d}".rstrip("0")


class Location(GoObject):
    """*time.Location: UTC, Local, or a fixed offset from a parsed time."""

    go_type = "*time.Location"

    def __init__(self, name: str, offset: int | None) -> None:
        self.name = name
        self.offset = offset  # seconds east of UTC; None for Local (asked per instant)

    def zone(self, unix: int) -> tuple[str, int]:
        if self.offset is not None:
            name = self.name if self.name and self.name != "Local" else ""
            return name or _offset_name(self.offset), self.offset
        try:
            local = _time.localtime(unix)
        except (OverflowError, OSError, ValueError):
            local = _time.localtime(0)
        return local.tm_zone or _offset_name(local.tm_gmtoff), local.tm_gmtoff

    def go_string(self) -> str:
        return self.name

    def is_pointer(self) -> bool:
        return True

    def go_methods(self) -> dict[str, tuple[tuple[str, ...], Callable[..., Value]]]:
        return {"String": ((), self.go_string)}


def _offset_name(offset: int) -> str:
    """Go names an unnamed zone by its offset: -0700 style, as Format's MST does."""
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    return f"{sign}{offset // 3600:02d}{offset // 60 % 60:02d}"


UTC = Location("UTC", 0)
LOCAL = Location("Local", None)


def days_to_civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 -> (year, month, day), proleptic Gregorian."""
    days += 719_468
    era = days // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def civil_to_days(year: int, month: int, day: int) -> int:
    """(year, month, day) -> days since 1970-01-01; month and day may overflow, as Go's Date."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468 + day - 1


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


class GoTime(GoObject):
    """time.Time: an instant (unix seconds, nanoseconds) and the location it is shown in."""

    go_type = "time.Time"

    def __init__(self, unix: int, nsec: int = 0, loc: Location = UTC) -> None:
        self.unix, self.nsec, self.loc = unix + nsec // NS, nsec % NS, loc

    @classmethod
    def zero(cls) -> GoTime:
        return cls(-UNIX_TO_ABSOLUTE)

    def parts(self) -> tuple[int, int, int, int, int, int, str, int]:
        """(year, month, day, hour, minute, second, zone name, offset) where it is shown."""
        name, offset = self.loc.zone(self.unix)
        local = self.unix + offset
        days, secs = divmod(local, SECONDS_PER_DAY)
        year, month, day = days_to_civil(days)
        return year, month, day, secs // 3600, secs // 60 % 60, secs % 60, name, offset

    def _local_days(self) -> int:
        return (self.unix + self.loc.zone(self.unix)[1]) // SECONDS_PER_DAY

    def weekday(self) -> Weekday:
        return Weekday((self._local_days() + 4) % 7)  # 1970-01-01 was a Thursday

    def yearday(self) -> int:
        year = self.parts()[0]
        return self._local_days() - civil_to_days(year, 1, 1) + 1

    def format(self, layout: str) -> str:
        return go_format(self, layout)

    def go_string(self) -> str:
        return self.format(STRING_LAYOUT)

    def abs_ns(self) -> int:
        return (self.unix + UNIX_TO_ABSOLUTE) * NS + self.nsec

    def with_abs_ns(self, ns: int) -> GoTime:
        return GoTime(ns // NS - UNIX_TO_ABSOLUTE, ns % NS, self.loc)

    def _add_date(self, years: int, months: int, days: int) -> GoTime:
        year, month, day, hour, minute, sec, _, offset = self.parts()
        local_days = civil_to_days(year + years, month + months, day + days)
        unix = local_days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + sec - offset
        return GoTime(unix, self.nsec, self.loc)

    def _round(self, d: int, up_half: bool) -> GoTime:
        if d <= 0:
            return self
        ns = self.abs_ns()
        rest = ns % d
        if up_half and rest + rest >= d:
            return self.with_abs_ns(ns - rest + d)
        return self.with_abs_ns(ns - rest)

    def _unix_nano(self) -> Int64:
        return Int64(_wrap64(self.unix * NS + self.nsec))

    def go_methods(self) -> dict[str, tuple[tuple[str, ...], Callable[..., Value]]]:
        return {
            "Year": ((), lambda: self.parts()[0]),
            "Month": ((), lambda: Month(self.parts()[1])),
            "Day": ((), lambda: self.parts()[2]),
            "Hour": ((), lambda: self.parts()[3]),
            "Minute": ((), lambda: self.parts()[4]),
            "Second": ((), lambda: self.parts()[5]),
            "Nanosecond": ((), lambda: self.nsec),
            "YearDay": ((), self.yearday),
            "Weekday": ((), self.weekday),
            "Unix": ((), lambda: Int64(self.unix)),
            "UnixMilli": ((), lambda: Int64(_wrap64(self.unix * 1000 + self.nsec // 1_000_000))),
            "UnixMicro": ((), lambda: Int64(_wrap64(self.unix * 1_000_000 + self.nsec // 1000))),
            "UnixNano": ((), self._unix_nano),
            "IsZero": ((), lambda: self.unix == -UNIX_TO_ABSOLUTE and self.nsec == 0),
            "IsDST": ((), self._is_dst),
            "Format": (("string",), self.format),
            "String": ((), self.go_string),
            "GoString": ((), lambda: unsupported_method("GoString")),
            "UTC": ((), lambda: GoTime(self.unix, self.nsec, UTC)),
            "Local": ((), lambda: GoTime(self.unix, self.nsec, LOCAL)),
            "Location": ((), lambda: self.loc),
            "In": (("*time.Location",), self._in),
            "Add": (("time.Duration",), lambda d: GoTime(self.unix, self.nsec + d, self.loc)),
            "AddDate": (("int", "int", "int"), self._add_date),
            "Sub": (("time.Time",), lambda t: Duration(_clamp64(
                (self.unix - t.unix) * NS + self.nsec - t.nsec))),
            "Truncate": (("time.Duration",), lambda d: self._round(d, False)),
            "Round": (("time.Duration",), lambda d: self._round(d, True)),
            "After": (("time.Time",), lambda t: self.abs_ns() > t.abs_ns()),
            "Before": (("time.Time",), lambda t: self.abs_ns() < t.abs_ns()),
            "Equal": (("time.Time",), lambda t: self.abs_ns() == t.abs_ns()),
            "Compare": (("time.Time",), lambda t: (self.abs_ns() > t.abs_ns())
                        - (self.abs_ns() < t.abs_ns())),
            "Date": ((), lambda: multiple_results("Date", 3)),
            "Clock": ((), lambda: multiple_results("Clock", 3)),
            "Zone": ((), lambda: multiple_results("Zone", 2)),
            "ZoneBounds": ((), lambda: multiple_results("ZoneBounds", 2)),
            "ISOWeek": ((), lambda: multiple_results("ISOWeek", 2)),
            "MarshalJSON": ((), lambda: unsupported_method("MarshalJSON")),
            "MarshalText": ((), lambda: unsupported_method("MarshalText")),
            "MarshalBinary": ((), lambda: unsupported_method("MarshalBinary")),
            "GobEncode": ((), lambda: unsupported_method("GobEncode")),
            "AppendFormat": (("[]byte", "string"), lambda *a: unsupported_method("AppendFormat")),
        }

    def _in(self, loc: Location | None) -> GoTime:
        if loc is None:
            raise error("error calling In: time: missing Location in call to Time.In")
        return GoTime(self.unix, self.nsec, loc)

    def _is_dst(self) -> bool:
        if self.loc.offset is not None:
            return False
        try:
            return _time.localtime(self.unix).tm_isdst > 0
        except (OverflowError, OSError, ValueError):
            return False

    def json(self) -> str | None:
        """MarshalJSON: RFC 3339 with nanoseconds; None where Go's encoder fails (year out of
        [0, 9999])."""
        if not 0 <= self.parts()[0] <= 9999:
            return None
        return '"' + self.format(RFC3339_NANO) + '"'


def multiple_results(name: str, count: int) -> Value:
    raise error(f"can't call method/function {name!r} with {count} results")


def unsupported_method(name: str) -> Value:
    raise unsupported(f"time.Time's {name}")


def _wrap64(value: int) -> int:
    """Go's int64 arithmetic wraps."""
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


def _clamp64(value: int) -> int:
    """Time.Sub saturates at the Duration limits."""
    return max(-(1 << 63), min(MAX_INT64, value))


def parse_rfc3339(text: str) -> GoTime:
    """ContainerCreated as Docker sends it (time.Time's JSON: RFC 3339, nanoseconds); a zero
    time if absent or unreadable."""
    m = _RFC3339.fullmatch(text)
    if not m:
        return GoTime.zero()
    year, month, day, hour, minute, sec = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "")[:9]
    nsec = int(frac.ljust(9, "0")) if frac else 0
    zone = m.group(8)
    offset = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    unix = civil_to_days(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + sec
    unix -= offset
    if zone in ("Z", "z"):
        loc = UTC
    elif LOCAL.zone(unix)[1] == offset:
        loc = LOCAL  # Go's Parse: an offset that is the local zone's gives Local
    else:
        loc = Location("", offset)
    return GoTime(unix, nsec, loc)


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})")

def duration_methods(d: Duration) -> dict[str, tuple[tuple[str, ...], Callable[..., Value]]]:
    n = int(d)
    return {
        "String": ((), lambda: duration_string(n)),
        "Hours": ((), lambda: n / (3600 * NS)),
        "Minutes": ((), lambda: n / (60 * NS)),
        "Seconds": ((), lambda: n / NS),
        "Milliseconds": ((), lambda: Int64(int(n / 1_000_000))),
        "Microseconds": ((), lambda: Int64(int(n / 1000))),
        "Nanoseconds": ((), lambda: Int64(n)),
        "Abs": ((), lambda: Duration(abs(n) if n != -(1 << 63) else MAX_INT64)),
    }
