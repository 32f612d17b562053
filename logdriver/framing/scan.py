"""Length-prefixed protobuf framing of Docker's log FIFO: scan, validate, resynchronise, re-encode.

This is the only module that imports the generated protobuf code.

Wire format (moby api/types/plugins/logdriver/io.go): each frame is a 4-byte big-endian unsigned
length followed by that many bytes of a serialized ``LogEntry``. The same framing is used for the
``ReadLogs`` answer, where dockerd writes each ``line`` out as given: a line's newline goes on its
whole entry, or on the last piece of a line Docker split into partial entries.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from operator import add, getitem

from google.protobuf.message import DecodeError

from proto.entry_pb2 import LogEntry, PartialLogEntryMetadata

HEADER = struct.Struct(">I")
HEADER_BYTES = HEADER.size  # 4: uint32 big-endian length prefix
MAX_FRAME_BYTES = 1_000_000  # Docker's own decoder cap (local driver maxMsgLen); more = corrupt
SOURCES = frozenset({"stdout", "stderr"})  # the only sources the daemon's copier emits
# Every frame Docker writes starts with field 1 (source, wire type 2) of length 6: a cheap marker
# for finding the next frame boundary after the stream lost alignment.
_RESYNC_MARKER = b"\x0a\x06std"

MIN_ENTRY_BYTES = 8  # the smallest body Docker writes: field 1 holding "stdout" or "stderr"
_MIN_FRAME = HEADER_BYTES + len(_RESYNC_MARKER)  # bytes needed to judge a frame's start
_unpack_len = unpack_length = HEADER.unpack_from
_pack_len = HEADER.pack
__all__ = [
    "HEADER_BYTES",
    "MAX_FRAME_BYTES",
    "Entry",
    "FrameReader",
    "ReadlogsFilter",
    "Run",
    "ScanResult",
    "Scanner",
    "decode_frames",
    "encode_entry",
    "plain_columns",
    "unpack_length",
]


@dataclass(frozen=True, slots=True)
class Entry:
    """One decoded log entry, as plain Python values."""

    source: str
    time_nano: int
    line: bytes
    partial: bool = False
    partial_id: str = ""
    partial_ordinal: int = 0
    partial_last: bool = False


def encode_entry(entry: Entry) -> bytes:
    """Serialize ``entry`` as one wire frame (length prefix included), as Docker would."""
    msg = LogEntry(source=entry.source, time_nano=entry.time_nano, line=entry.line)
    if entry.partial:
        msg.partial = True
        msg.partial_log_metadata.CopyFrom(
            PartialLogEntryMetadata(
                last=entry.partial_last, id=entry.partial_id, ordinal=entry.partial_ordinal
            )
        )
    body = msg.SerializeToString()
    return _pack_len(len(body)) + body


@dataclass(slots=True)
class Run:
    """Consecutive valid frames inside a scanned buffer: ``data[start:ends[-1]]``."""

    start: int
    ends: list[int]  # end offset of each frame, ascending


@dataclass(slots=True)
class ScanResult:
    """What one ``Scanner.feed`` call found in the bytes it was given (``data``).

    ``runs`` are the valid frames, grouped into gap-free runs (one run starting at 0 unless
    corrupt bytes were skipped). ``rest`` is an incomplete trailing frame the scanner keeps.
    """

    data: bytes
    runs: list[Run]
    corrupt: int
    rest: bytes

    @property
    def count(self) -> int:
        return sum(len(r.ends) for r in self.runs)


class Scanner:
    """Incremental frame scanner for one FIFO.

    Feed it the bytes as they are read; it returns the valid frames and keeps an incomplete
    trailing frame for the next call. The hot path checks each frame's length and that its body
    starts as every Docker entry does (field 1, ``source``, ``stdout`` or ``stderr``) without
    decoding it: the bodies are decoded when read back, where a bad one is skipped. A length over
    ``MAX_FRAME_BYTES`` or a body that does not start like an entry means alignment is lost: the
    scanner counts one corrupt frame and searches forward for the next frame that decodes.
    """

    __slots__ = ("_rest", "_msg", "_lost", "corrupt")

    def __init__(self, rest: bytes = b"") -> None:
        self._rest = rest
        self._msg = LogEntry()
        self._lost = False  # searching for a frame boundary since an earlier call
        self.corrupt = 0

    @property
    def pending(self) -> bytes:
        """Bytes of an incomplete frame waiting for the rest of it."""
        return self._rest

    def feed(self, chunk: bytes) -> ScanResult:
        data = self._rest + chunk if self._rest else chunk
        n = len(data)
        runs: list[Run] = []
        ends: list[int] = []
        append = ends.append
        run_start = pos = 0
        corrupt = 0
        unpack = _unpack_len
        starts = data.startswith
        marker = _RESYNC_MARKER
        limit = n - _MIN_FRAME
        lo, hi = MIN_ENTRY_BYTES, MAX_FRAME_BYTES
        while pos <= limit:
            (length,) = unpack(data, pos)
            end = pos + 4 + length
            if lo <= length <= hi and starts(marker, pos + 4):
                if end > n:
                    break
                append(end)
                pos = end
                continue
            if ends and ends[-1] == pos:
                # The frame just taken ends where no frame starts: it may be a truncated one
                # whose length swallowed real frames. Take those instead of it.
                prev = ends[-2] if len(ends) > 1 else run_start
                inner = self._resync(data, prev + 1)
                if 0 <= inner < pos and _straddles(data, inner, pos):
                    ends.pop()
                    corrupt += 1
                    if ends:
                        runs.append(Run(run_start, ends))
                        ends = []
                        append = ends.append
                    self._lost = False
                    run_start = pos = inner
                    continue
            # Alignment lost: close the run so far and look for the next good frame.
            if not self._lost:
                corrupt += 1  # one count per stretch of garbage, however it is chunked
            if ends:
                runs.append(Run(run_start, ends))
                ends = []
                append = ends.append
            nxt = self._resync(data, pos + 1)
            if nxt < 0:
                # Keep a tail that might hold the start of the next frame.
                self._lost = True
                pos = max(pos + 1, n - _MIN_FRAME)
                break
            self._lost = False
            run_start = pos = nxt
        if ends:
            self._lost = False
            runs.append(Run(run_start, ends))
        self._rest = data[pos:]
        self.corrupt += corrupt
        return ScanResult(data, runs, corrupt, self._rest)

    def _resync(self, data: bytes, start: int) -> int:
        """Offset of the next position at or after ``start`` holding a valid frame, or -1."""
        msg = self._msg
        n = len(data)
        find = data.find
        i = find(_RESYNC_MARKER, start + HEADER_BYTES)
        while i >= 0:
            pos = i - HEADER_BYTES
            (length,) = _unpack_len(data, pos)
            end = pos + HEADER_BYTES + length
            if MIN_ENTRY_BYTES <= length <= MAX_FRAME_BYTES:
                if end > n:
                    return pos  # plausible start; the rest has not arrived yet
                try:
                    msg.ParseFromString(data[pos + HEADER_BYTES : end])
                except DecodeError:
                    pass
                else:
                    if msg.time_nano > 0 and msg.source in SOURCES:
                        return pos
            i = find(_RESYNC_MARKER, i + 1)
        return -1

    def finish(self) -> int:
        """End of stream: a leftover incomplete frame is corrupt. Returns how many were dropped."""
        if self._rest and not self._lost:
            self._rest = b""
            self.corrupt += 1
            return 1
        self._rest = b""
        return 0


def _straddles(data: bytes, start: int, pos: int) -> bool:
    """Whether a chain of believable frames from ``start`` runs across ``pos`` (not onto it)."""
    while start < pos:
        (length,) = _unpack_len(data, start)
        if not (MIN_ENTRY_BYTES <= length <= MAX_FRAME_BYTES
                and data.startswith(_RESYNC_MARKER, start + HEADER_BYTES)):
            return False
        start += HEADER_BYTES + length
    return start > pos


def frame_time(data: bytes, start: int, end: int) -> int:
    """time_nano of the frame at ``data[start:end]`` (length prefix included); 0 if it does not
    decode."""
    msg = LogEntry()
    try:
        msg.ParseFromString(data[start + HEADER_BYTES : end])
    except DecodeError:
        return 0
    return int(msg.time_nano)


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


@dataclass(slots=True)
class ReadlogsFilter:
    """Turns stored frames into ReadLogs output: Tail's ``skip`` first, then ``since``/``until``
    (ns; 0 = unbounded) exactly as Docker's own readers apply them. ``done`` is set at the first
    entry after ``until``."""

    skip: int = 0
    since: int = 0
    until: int = 0
    done: bool = False
    bad: int = 0

    def render(self, data: bytes, out: list[bytes]) -> int:
        """Append the output frames for ``data`` to ``out``; returns the bytes appended."""
        msg = LogEntry()
        parse = msg.ParseFromString
        serialize = msg.SerializeToString
        pack = _pack_len
        unpack = _unpack_len
        add = out.append
        skip, since, until = self.skip, self.since, self.until
        n = len(data)
        pos = total = 0
        while pos + HEADER_BYTES <= n:
            (length,) = unpack(data, pos)
            end = pos + HEADER_BYTES + length
            if end > n:
                break
            if skip:
                skip -= 1
                pos = end
                continue
            try:
                parse(data[pos + HEADER_BYTES : end])
            except DecodeError:
                self.bad += 1
                pos = end
                continue
            pos = end
            t = msg.time_nano
            if t < since:
                continue
            if until and t > until:
                self.done = True
                break
            # The newline the copier cut off goes after the line's last piece: a whole entry, or
            # the piece marked last of a line Docker split at 16 KiB (moby daemon/logger/copier.go
            # gives that piece partial=true, last=true). What the container wrote, on every
            # engine: 26.1+'s `local` reads back the same; 20.10's `local` left it out there.
            if not msg.partial or msg.partial_log_metadata.last:
                msg.line += b"\n"
            body = serialize()
            add(pack(len(body)))
            add(body)
            total += len(body) + HEADER_BYTES
        self.skip = skip
        return total


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
