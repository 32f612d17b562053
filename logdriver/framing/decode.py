"""Decoding the store's frames: one by one (``FrameReader``), or a whole block of plain entries at
once (``plain_columns``, the delivery hot path)."""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Iterator
from itertools import repeat
from operator import add, getitem

from google.protobuf.message import DecodeError

from proto.entry_pb2 import LogEntry

from .scan import HEADER, HEADER_BYTES, MAX_FRAME_BYTES, Entry

_unpack_len = HEADER.unpack_from


class FrameReader:
    """Decodes the frames of the store's own files, skipping (and counting) a body that does not
    decode. The yielded message object is reused between iterations."""

    __slots__ = ("msg", "bad")

    def __init__(self) -> None:
        self.msg = LogEntry()  # reused: a caller with its own hot loop may parse into it too
        self.bad = 0

    def frames(self, data: bytes, start: int = 0) -> Iterator[tuple[int, int, LogEntry]]:
        """Yield ``(offset, length, LogEntry)`` for each whole frame in ``data`` from ``start``."""
        msg = self.msg
        parse = msg.ParseFromString
        n = len(data)
        pos = start
        while pos + HEADER_BYTES <= n:
            (length,) = _unpack_len(data, pos)
            end = pos + HEADER_BYTES + length
            if end > n or length > MAX_FRAME_BYTES:
                return
            try:
                parse(data[pos + HEADER_BYTES : end])
            except DecodeError:
                self.bad += 1
            else:
                yield pos, end - pos, msg
            pos = end


# ---------------------------------------------------------------------------------------------
# Whole blocks of plain entries at once (the delivery hot path).
#
# Docker writes every entry the same way: source (field 1), time_nano (field 2, a 9-byte varint
# for any time after 1972), line (field 3, left out when empty), and, only for partial pieces,
# fields 4 and 5 after the line. Splitting a block at each header with one regex gives every
# field without a Python step per frame; the split is then checked against the length prefixes
# (each frame must be exactly its header plus its line, and the line's own varint must say so),
# so a line that happens to hold header-like bytes, a partial piece or anything unusual makes
# the whole block fall back to ``FrameReader`` instead of being misread.
_PLAIN_HEADER = re.compile(
    rb"\x0a\x06(stdout|stderr)\x10([\x80-\xff]{8}[\x00-\x7f])"
    rb"(?:\x1a([\x00-\x7f]|[\x80-\xff][\x00-\x7f]|[\x80-\xff]{2}[\x00-\x7f]))?"
)
_HEAD_BYTES = 2 + 6 + 1 + 9  # source field, time tag and its 9-byte varint


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Docker cuts lines at 16 KiB; a longer one (another writer) is simply not plain here.
_LINE_VARINTS: dict[bytes | None, int] = {_varint(n): n for n in range(1 << 15)}
_LINE_LENGTH: dict[bytes | None, int] = {**_LINE_VARINTS, None: 0}
_HEADER_LENGTH: dict[bytes | None, int] = {
    **{v: _HEAD_BYTES + 1 + len(v) for v in _LINE_VARINTS if v}, None: _HEAD_BYTES}
_SOURCE_NAMES = {b"stdout": "stdout", b"stderr": "stderr"}
_LAST4, _BUT_LAST4 = slice(-4, None), slice(None, -4)


@functools.lru_cache(maxsize=8)
def _varint9_masks(n: int) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """Masks to compact ``n`` 9-byte varints side by side in one big integer (see ``_times``)."""

    def each(group: int) -> int:
        return int.from_bytes(group.to_bytes(9, "little") * n, "little")

    steps = []
    for shift in (1, 2, 4, 8):
        keep = move = 0
        # byte k's 7 bits move right by k in all: by 1, 2, 4 and 8 as the bits of k say
        for k in range(9):
            bits = 0x7F << (8 * k - (k & (shift - 1)))
            if k & shift:
                move |= bits
            else:
                keep |= bits
        steps.append((shift, each(keep), each(move)))
    return each(int.from_bytes(b"\x7f" * 9, "little")), tuple(steps)


def _times(varints: list[bytes]) -> tuple[int, ...]:
    """Decode 9-byte varints all at once: as one big integer, each 72-bit group's seven 7-bit
    pieces are shifted together in four steps, then read back as 64-bit integers."""
    n = len(varints)
    low7, steps = _varint9_masks(n)
    x = int.from_bytes(b"".join(varints), "little") & low7
    for shift, keep, move in steps:
        x = (x & keep) | ((x & move) >> shift)
    packed = bytearray(x.to_bytes(9 * n, "little"))
    del packed[8::9]  # the ninth byte of each group is zero: a time fits in 63 bits
    return struct.unpack(f"<{n}Q", packed)


def plain_columns(data: bytes) -> tuple[tuple[int, ...], list[str], list[bytes], list[int]] | None:
    """``(times, sources, lines, frame_sizes)`` of ``data`` (whole frames, as stored) if every
    frame in it is a plain entry (not a partial piece); otherwise None."""
    parts = _PLAIN_HEADER.split(data)
    n = (len(parts) - 1) // 4
    if n == 0 or len(parts[0]) != HEADER_BYTES:
        return None
    # parts: [length 0, source 0, time 0, line varint 0, line 0 + length 1, source 1, ...]
    chunks = parts[4::4]
    last = chunks.pop()
    lengths = struct.unpack(f">{n}I", parts[0] + b"".join(map(getitem, chunks, repeat(_LAST4))))
    lines: list[bytes] = list(map(getitem, chunks, repeat(_BUT_LAST4)))
    lines.append(last)
    varints = parts[3::4]
    sizes = list(map(len, lines))
    if list(map(_LINE_LENGTH.get, varints)) != sizes:
        return None
    if list(map(add, sizes, map(_HEADER_LENGTH.__getitem__, varints))) != list(lengths):
        return None
    sources = list(map(_SOURCE_NAMES.__getitem__, parts[1::4]))
    return _times(parts[2::4]), sources, lines, list(map(add, lengths, repeat(HEADER_BYTES)))


def decode_frames(data: bytes, start: int = 0) -> Iterator[tuple[int, int, LogEntry]]:
    """``FrameReader().frames(data, start)``."""
    return FrameReader().frames(data, start)


def to_entry(msg: LogEntry) -> Entry:
    """Copy a protobuf message into a plain ``Entry``."""
    meta = msg.partial_log_metadata
    return Entry(
        source=msg.source,
        time_nano=msg.time_nano,
        line=bytes(msg.line),
        partial=msg.partial,
        partial_id=meta.id,
        partial_ordinal=meta.ordinal,
        partial_last=meta.last,
    )
