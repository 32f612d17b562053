"""Scanning Docker's log FIFO: frames validated, alignment recovered, the pending frame kept.

Also the wire's shapes every other part uses: the length prefix, ``Entry``, ``encode_entry``,
``frame_time``.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from proto.entry_pb2 import LogEntry, PartialLogEntryMetadata
from sinks.util.twin import Twin, twin

from . import _frames
from ._frames import ENTRY_MARKER, MIN_FRAME, FramesKernel
from ._frames import HEADER as HEADER  # the frame's shapes, re-exported: everyone imports them here
from ._frames import HEADER_BYTES as HEADER_BYTES
from ._frames import MAX_FRAME_BYTES as MAX_FRAME_BYTES
from ._frames import MIN_ENTRY_BYTES as MIN_ENTRY_BYTES

SOURCES = frozenset({"stdout", "stderr"})  # the only sources the daemon's copier emits
# The frame kernel: the valid-frame run of ``Scanner.feed`` (and the shipper's block splitter).
FRAMES: Twin[FramesKernel] = twin(_frames, "logdriver.framing._frames_c")
_unpack_len = unpack_length = HEADER.unpack_from
_pack_len = HEADER.pack


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
        run_start = pos = 0
        corrupt = 0
        unpack = _unpack_len
        starts = data.startswith
        marker = ENTRY_MARKER
        limit = n - MIN_FRAME
        lo, hi = MIN_ENTRY_BYTES, MAX_FRAME_BYTES
        scan_frames = FRAMES.active.scan_frames
        while True:
            pos = scan_frames(data, pos, ends)  # over the valid frames, in one call
            if pos > limit:
                break
            (length,) = unpack(data, pos)
            if lo <= length <= hi and starts(marker, pos + 4):
                break  # a valid start whose body is not all here yet
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
                    self._lost = False
                    run_start = pos = inner
                    continue
            # Alignment lost: close the run so far and look for the next good frame. One count
            # per stretch of garbage, however it is chunked: a stretch still open from an
            # earlier call was counted there, unless a good frame (``ends``) has ended it since.
            if not self._lost or ends:
                corrupt += 1
            if ends:
                runs.append(Run(run_start, ends))
                ends = []
            nxt = self._resync(data, pos + 1)
            if nxt < 0:
                # Keep a tail that might hold the start of the next frame.
                self._lost = True
                pos = max(pos + 1, n - MIN_FRAME)
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
        i = find(ENTRY_MARKER, start + HEADER_BYTES)
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
            i = find(ENTRY_MARKER, i + 1)
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
                and data.startswith(ENTRY_MARKER, start + HEADER_BYTES)):
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
