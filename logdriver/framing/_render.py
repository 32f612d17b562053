"""ReadLogs rendering kernel, pure-Python twin: stored frames to the ReadLogs answer's frames.

The compiled twin is ``_render_c.pyx`` beside it (see sinks/util/twin.py); both give the same
bytes. Docker's ``ReadLogs`` answer uses the FIFO's framing (moby
api/types/plugins/logdriver/io.go: ``[uint32 BE length][LogEntry]``), and dockerd writes each
``line`` out as given, so the newline Docker's copier cut off goes back on: after a whole entry,
and after the piece marked last of a line Docker split into partial entries (moby
daemon/logger/copier.go gives that piece partial=true, last=true). What the container wrote, on
every engine: 26.1+'s ``local`` reads back the same; 20.10's ``local`` left it out there.
"""

from __future__ import annotations

from typing import Protocol

from google.protobuf.message import DecodeError

from proto.entry_pb2 import LogEntry

from .scan import HEADER, HEADER_BYTES

# ``render_frames`` stops: at the end of the whole frames, at the first entry after ``until``,
# or (the compiled twin only) before a frame it leaves to the pure twin.
END, UNTIL, DECLINED = 0, 1, 2

Rendered = tuple[bytes, int, int, int, int]


class RenderKernel(Protocol):
    """The kernel's functions (both twins)."""

    def render_frames(self, data: bytes, pos: int, skip: int, since: int, until: int,
                      limit: int, /) -> Rendered: ...


_pack_len = HEADER.pack
_unpack_len = HEADER.unpack_from


def render_frames(data: bytes, pos: int, skip: int, since: int, until: int,
                  limit: int, /) -> Rendered:
    """Render the whole frames of ``data`` (as stored) from offset ``pos``, at most ``limit``
    of them (-1: no limit): skip the first ``skip`` without decoding them, drop entries before
    ``since`` (ns; 0 = unbounded), stop at the first after ``until`` (ns; 0 = unbounded).

    Returns ``(output, pos, skip, bad, stop)``: the answer's frames, where rendering stopped
    (past the last frame taken; for ``DECLINED``, at the frame left over), the skip left, how
    many frames did not decode (skipped), and why it stopped (``END``, ``UNTIL``, ``DECLINED``).
    Each output entry is the stored one re-serialized, with the newline put back as the module
    docstring says."""
    msg = LogEntry()
    parse = msg.ParseFromString
    serialize = msg.SerializeToString
    pack = _pack_len
    unpack = _unpack_len
    out: list[bytes] = []
    add = out.append
    n = len(data)
    bad = 0
    stop = END
    while limit and pos + HEADER_BYTES <= n:
        (length,) = unpack(data, pos)
        end = pos + HEADER_BYTES + length
        if end > n:
            break
        limit -= 1
        if skip:
            skip -= 1
            pos = end
            continue
        try:
            parse(data[pos + HEADER_BYTES : end])
        except DecodeError:
            bad += 1
            pos = end
            continue
        pos = end
        t = msg.time_nano
        if t < since:
            continue
        if until and t > until:
            stop = UNTIL
            break
        if not msg.partial or msg.partial_log_metadata.last:
            msg.line += b"\n"
        body = serialize()
        add(pack(len(body)))
        add(body)
    return b"".join(out), pos, skip, bad, stop
