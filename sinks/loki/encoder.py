"""Records -> Loki push bodies: a snappy-compressed protobuf ``PushRequest`` (what Loki's Docker
driver sends) or its JSON form. Hand-encoded protobuf; ``sinks`` never imports ``proto/``.

Wire source: grafana/loki ``pkg/push/push.proto`` (``PushRequest{repeated StreamAdapter
streams = 1}``, ``StreamAdapter{string labels = 1; repeated EntryAdapter entries = 2}``,
``EntryAdapter{google.protobuf.Timestamp timestamp = 1; string line = 2}``) and Loki's HTTP API
docs for ``POST /loki/api/v1/push`` (snappy *block* format, not the framed one).

One encoded event, as the delivery layer batches (and dead-letters) it:
``source`` (ASCII) + ``b"\\0"`` + the time as 8 bytes big-endian unsigned ns + the entry: the
protobuf field ``entries`` (tag 2, one ``EntryAdapter``), or for JSON the value pair
``["<unix ns>","<line>"]`` (several of either for a line cut in pieces: see ``encode``).
``build_body`` groups the events of a request into one stream per label set (the container's
labels plus ``source``), each in time order.

Lines go to Loki as they are: the protobuf ``line`` carries the raw bytes, invalid UTF-8
included, as Loki's driver sends a Go string of the raw bytes and Loki stores it unchecked. JSON
cannot carry invalid UTF-8: there each invalid byte becomes U+FFFD, as Go's JSON encoder does.

Events are made record by record in ``_push`` (pure Python) or its compiled twin ``_push_c``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import cramjam

from ..util.record import Record, Records
from ..util.twin import Twin, twin
from . import _push
from ._push import (
    PushKernel,
    blank,
    dumps,
    entries_json,
    entry_protobuf,
    length_delimited,
    pieces,
    split,
    varint,
)
from .labels import label_string

__all__ = ["KERNEL", "Stream", "blank", "build_body", "encode", "encode_many", "entries_json",
           "entry_line", "entry_protobuf", "pieces", "read_varint", "split", "varint"]

KERNEL: Twin[PushKernel] = twin(_push, "sinks.loki._push_c")


def encode(rec: Record, *, protobuf: bool) -> bytes:
    """One event (see the module docstring); ``b""`` for a blank line (skipped by design).

    A line over MAX_LINE_SIZE (Loki's default ``max_line_size``, which Loki would refuse; for
    JSON, counted after invalid bytes became U+FFFD) is sent as several entries of the same
    time, in order, as Loki's driver sends Docker's 16 KiB pieces: one event holds them all.
    """
    return _push.event(rec.time_ns, rec.source, rec.line, protobuf)


def encode_many(recs: Records, *, protobuf: bool) -> list[bytes]:
    """``[encode(r, protobuf=protobuf) for r in recs]``, by the active twin of the kernel."""
    return KERNEL.active.events(recs.times, recs.sources, recs.lines, protobuf)


@dataclass(frozen=True, slots=True)
class Stream:
    """One stream of a request: its label string and the events' indices, in the order sent."""

    labels: str
    indices: tuple[int, ...]


def build_body(events: Sequence[bytes], labels_for: Callable[[str], Mapping[str, str]], *,
               protobuf: bool) -> tuple[bytes, list[Stream]]:
    """The request body for these events, and its streams.

    ``labels_for(source)`` gives a stream's labels. Streams come in the order of their first
    event; entries in a stream are sorted by time (stable: equal times keep their order). The
    protobuf body is snappy block-compressed.
    """
    streams: list[Stream] = []
    parts: list[bytes] = []
    for source, indices, entries in KERNEL.active.streams(events, protobuf):
        labels = labels_for(source)
        text = label_string(labels)
        streams.append(Stream(text, indices))
        if protobuf:
            label_field = length_delimited(0x0A, text.encode())  # StreamAdapter.labels = 1
            # PushRequest.streams = 1, one StreamAdapter: its labels and entries
            parts += (b"\x0a", varint(len(label_field) + len(entries)), label_field, entries)
        else:
            parts.append(b'{"stream":' + dumps(dict(labels)).encode() + b',"values":['
                         + entries + b"]}")
    if protobuf:
        return bytes(cramjam.snappy.compress_raw(b"".join(parts))), streams
    return b'{"streams":[' + b",".join(parts) + b"]}", streams


def entry_line(entry: bytes, *, protobuf: bool) -> bytes:
    """The line of one encoded entry (as Loki counts its length), for matching an answer."""
    if not protobuf:
        value = json.loads(b"[" + entry + b"]")  # the first of one or more value pairs
        return str(value[0][1]).encode()
    pos = 1  # skip the entries tag
    _, pos = read_varint(entry, pos)
    while pos < len(entry):
        tag = entry[pos]
        size, pos = read_varint(entry, pos + 1)
        if tag == 0x12:
            return entry[pos:pos + size]
        pos += size
    return b""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the protobuf varint at ``data[pos]``."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos
