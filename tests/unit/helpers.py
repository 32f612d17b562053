"""Builders shared by the unit tests."""

from __future__ import annotations

from logdriver.framing import Entry, encode_entry

T0 = 1_700_000_000_000_000_000  # ns


def entry(
    i: int, *, source: str = "stdout", t: int | None = None, line: bytes | None = None
) -> Entry:
    return Entry(source=source, time_nano=T0 + i * 1000 if t is None else t,
                 line=b"line %06d" % i if line is None else line)


def frames(n: int, start: int = 0, **kw: object) -> bytes:
    return b"".join(encode_entry(entry(i, **kw)) for i in range(start, start + n))  # type: ignore[arg-type]
