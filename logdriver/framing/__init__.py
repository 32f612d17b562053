"""Length-prefixed protobuf framing of Docker's log FIFO: scan, validate, resynchronise, re-encode.

This package is the only code that imports the generated protobuf code (``proto``).

Wire format (moby api/types/plugins/logdriver/io.go): each frame is a 4-byte big-endian unsigned
length followed by that many bytes of a serialized ``LogEntry``. The same framing is used for the
``ReadLogs`` answer, where dockerd writes each ``line`` out as given: a line's newline goes on its
whole entry, or on the last piece of a line Docker split into partial entries.

Modules: scan.py (the FIFO: ``Scanner``, the frame's shapes), decode.py (the store's frames back
to entries, one by one or a block at a time), render.py (the ReadLogs answer), _frames.py and
_frames_c.pyx (the frame kernel's pure and compiled twins: the hot loops of scan and decode).
"""

from .decode import FrameReader, decode_frames, plain_columns, plain_entries, to_entry
from .render import ReadlogsFilter
from .scan import (
    FRAMES,
    HEADER,
    HEADER_BYTES,
    MAX_FRAME_BYTES,
    MIN_ENTRY_BYTES,
    SOURCES,
    Entry,
    Run,
    Scanner,
    ScanResult,
    encode_entry,
    frame_time,
    unpack_length,
)

__all__ = [
    "FRAMES",
    "HEADER",
    "HEADER_BYTES",
    "MAX_FRAME_BYTES",
    "MIN_ENTRY_BYTES",
    "SOURCES",
    "Entry",
    "FrameReader",
    "ReadlogsFilter",
    "Run",
    "ScanResult",
    "Scanner",
    "decode_frames",
    "encode_entry",
    "frame_time",
    "plain_columns",
    "plain_entries",
    "to_entry",
    "unpack_length",
]
