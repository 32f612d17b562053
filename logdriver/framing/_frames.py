"""The frame kernel, pure-Python twin: the FIFO's valid-frame run, whole frames, block splitter.

Three hot loops, one step per frame, in two versions with byte-identical results
(``sinks/util/twin.py``): this module and ``_frames_c.pyx`` beside it (Cython).
``scan.Scanner.feed`` calls ``scan_frames`` once per read from the FIFO; the store's reader calls
``whole_frames`` once per read that ends mid-frame, and ``decode.plain_entries`` calls
``plain_entries`` once per block the shipper reads. The frame's limits live here because both
twins implement them (the compiled one repeats them as C constants; a test checks they agree).
"""

from __future__ import annotations

import functools
import re
import struct
from itertools import accumulate, repeat
from operator import add, getitem
from typing import Protocol

HEADER = struct.Struct(">I")
HEADER_BYTES = HEADER.size  # 4: uint32 big-endian length prefix
MAX_FRAME_BYTES = 1_000_000  # Docker's own decoder cap (local driver maxMsgLen); more = corrupt
MIN_ENTRY_BYTES = 8  # the smallest body Docker writes: field 1 holding "stdout" or "stderr"
# Every frame Docker writes starts with field 1 (source, wire type 2) of length 6: a cheap marker
# for a frame's start, and for finding the next frame boundary after the stream lost alignment.
ENTRY_MARKER = b"\x0a\x06std"
MIN_FRAME = HEADER_BYTES + len(ENTRY_MARKER)  # bytes needed to judge a frame's start

# (times, sources, lines, ends): one entry per frame, ``ends`` as ``base`` + end offset
PlainEntries = tuple[tuple[int, ...], list[str], list[bytes], list[int]]


class FramesKernel(Protocol):
    """What both twins offer (mypy checks this module against it)."""

    def scan_frames(self, data: bytes, pos: int, ends: list[int]) -> int: ...

    def plain_entries(self, data: bytes, base: int, max_line: int) -> PlainEntries | None: ...

    def whole_frames(self, data: bytes) -> int: ...


_unpack_len = HEADER.unpack_from


def scan_frames(data: bytes, pos: int, ends: list[int]) -> int:
    """Walk the whole valid frames of ``data`` from ``pos``, appending each one's end offset to
    ``ends``; return the offset where the walk stopped: fewer than ``MIN_FRAME`` bytes left, or
    the start of a frame that is incomplete (valid start, body not all there) or invalid (length
    outside ``MIN_ENTRY_BYTES..MAX_FRAME_BYTES``, or body not starting with ``ENTRY_MARKER``).
    The caller tells those apart."""
    if pos < 0:
        raise ValueError(f"negative offset {pos}")
    limit = len(data) - MIN_FRAME
    n = len(data)
    unpack = _unpack_len
    starts = data.startswith
    marker = ENTRY_MARKER
    append = ends.append
    lo, hi = MIN_ENTRY_BYTES, MAX_FRAME_BYTES
    while pos <= limit:
        (length,) = unpack(data, pos)
        end = pos + 4 + length
        if not (lo <= length <= hi and end <= n and starts(marker, pos + 4)):
            break
        append(end)
        pos = end
    return pos


def whole_frames(data: bytes) -> int:
    """Length of the longest prefix of ``data`` made of whole frames (``[uint32 BE length]`` plus
    that many bytes each; the lengths are not validated: the store's own frames)."""
    pos = 0
    n = len(data)
    unpack = _unpack_len
    while pos + HEADER_BYTES <= n:
        (length,) = unpack(data, pos)
        end = pos + HEADER_BYTES + length
        if end > n:
            break
        pos = end
    return pos


# ---------------------------------------------------------------------------------------------
# Whole blocks of plain entries at once (the shipper's hot path).
#
# Docker writes every entry the same way: source (field 1), time_nano (field 2, a 9-byte varint
# for any time after 1972), line (field 3, left out when empty), and, only for partial pieces,
# fields 4 and 5 after the line. Splitting a block at each header with one regex gives every
# field without a Python step per frame; the split is then checked against the length prefixes
# (each frame must be exactly its header plus its line, and the line's own varint must say so),
# so a line that happens to hold header-like bytes, a partial piece or anything unusual makes
# the whole block decline (the caller then decodes frame by frame) instead of being misread.
_PLAIN_HEADER = re.compile(
    rb"\x0a\x06(stdout|stderr)\x10([\x80-\xff]{8}[\x00-\x7f])"
    rb"(?:\x1a([\x00-\x7f]|[\x80-\xff][\x00-\x7f]|[\x80-\xff]{2}[\x00-\x7f]))?"
)
_HEAD_BYTES = 2 + 6 + 1 + 9  # source field, time tag and its 9-byte varint
MAX_PLAIN_LINE = (1 << 15) - 1  # Docker cuts lines at 16 KiB; longer ones (another writer) decline


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


@functools.cache
def _length_tables() -> tuple[dict[bytes | None, int], dict[bytes | None, int]]:
    """Each line-length varint (or None: no line field) -> the line's length, and -> its frame's
    length without the prefix. Built on the pure twin's first block, not at import: about 8 MiB
    that a process running the compiled twin never needs."""
    varints: dict[bytes | None, int] = {_varint(n): n for n in range(MAX_PLAIN_LINE + 1)}
    header: dict[bytes | None, int] = {v: _HEAD_BYTES + 1 + len(v) for v in varints if v}
    return {**varints, None: 0}, {**header, None: _HEAD_BYTES}


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


def plain_entries(data: bytes, base: int, max_line: int) -> PlainEntries | None:
    """``(times, sources, lines, ends)`` of ``data`` (whole frames, as stored) if every frame in
    it is a plain Docker entry (source, a time after 1972, a line under 32 KiB: no partial piece,
    nothing else) and no line is over ``max_line`` bytes; ``ends[i]`` is ``base`` plus the end
    offset of frame ``i``. Otherwise None: the caller decodes the block frame by frame."""
    parts = _PLAIN_HEADER.split(data)
    n = (len(parts) - 1) // 4
    if n == 0 or len(parts[0]) != HEADER_BYTES:
        return None
    # parts: [length 0, source 0, time 0, line varint 0, line 0 + length 1, source 1, ...]
    chunks = parts[4::4]
    last = chunks.pop()
    try:
        lengths = struct.unpack(f">{n}I",
                                parts[0] + b"".join(map(getitem, chunks, repeat(_LAST4))))
    except struct.error:  # a split under 4 bytes from the last: a line holding a header
        return None
    lines: list[bytes] = list(map(getitem, chunks, repeat(_BUT_LAST4)))
    lines.append(last)
    varints = parts[3::4]
    sizes = list(map(len, lines))
    line_length, header_length = _length_tables()
    if list(map(line_length.get, varints)) != sizes or max(sizes) > max_line:
        return None
    if list(map(add, sizes, map(header_length.__getitem__, varints))) != list(lengths):
        return None
    sources = list(map(_SOURCE_NAMES.__getitem__, parts[1::4]))
    ends = list(accumulate(map(add, lengths, repeat(HEADER_BYTES)), initial=base))
    del ends[0]  # ``initial`` is where the block starts
    return _times(parts[2::4]), sources, lines, ends
