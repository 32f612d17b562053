"""ReadLogs output: stored frames re-encoded as Docker expects them back, after Tail, Since, Until.

Docker's ``ReadLogs`` answer uses the FIFO's framing, and dockerd writes each ``line`` out as
given: a line's newline goes on its whole entry, or on the last piece of a line Docker split into
partial entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from proto.entry_pb2 import LogEntry

from .scan import HEADER, HEADER_BYTES

_pack_len = HEADER.pack
_unpack_len = HEADER.unpack_from


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
