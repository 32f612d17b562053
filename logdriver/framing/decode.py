"""Decoding the store's frames: one by one (``FrameReader``), or a whole block of plain entries at
once (``plain_entries``, the delivery hot path, a kernel: see ``_frames.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from operator import sub

from google.protobuf.message import DecodeError

from proto.entry_pb2 import LogEntry

from ._frames import MAX_PLAIN_LINE, PlainEntries
from .scan import FRAMES, HEADER, HEADER_BYTES, MAX_FRAME_BYTES, Entry

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


def plain_entries(data: bytes, base: int = 0, max_line: int = MAX_PLAIN_LINE
                  ) -> PlainEntries | None:
    """``(times, sources, lines, ends)`` of ``data`` (whole frames, as stored) if every frame in
    it is a plain Docker entry (source, a time after 1972, a line under 32 KiB: no partial piece)
    and no line is longer than ``max_line`` bytes, else None (decode it frame by frame then).
    ``times`` in ns, ``ends[i]`` is ``base`` plus the end offset of frame ``i``. The shipper's hot
    path: the frame kernel's compiled twin when built (``_frames.plain_entries``)."""
    return FRAMES.active.plain_entries(data, base, max_line)


def plain_columns(data: bytes) -> tuple[tuple[int, ...], list[str], list[bytes], list[int]] | None:
    """``(times, sources, lines, frame_sizes)`` of ``data`` if ``plain_entries`` takes it."""
    got = FRAMES.active.plain_entries(data, 0, MAX_PLAIN_LINE)
    if got is None:
        return None
    times, sources, lines, ends = got
    return times, sources, lines, list(map(sub, ends, [0, *ends[:-1]]))


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
