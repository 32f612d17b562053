"""The generic HTTP sink's encodings: a JSON object per event (json, ndjson) or the raw line
(text). Objects: time (RFC 3339, ns), source, line, tag, container_id, container_name,
image_name, host, attrs, and ``partial: true`` for a line the caller had to cut."""

from __future__ import annotations

import json

from ..util.body import Body
from ..util.envelope import (
    ESCAPE_JSON,
    KERNEL,
    TIME_RFC3339,
    Layout,
    encode_batch,
    encode_into,
    text_into,
)
from ..util.gojson import decode_line
from ..util.record import Context, Record, Records
from ..util.timefmt import rfc3339nano
from .config import FORMAT_NDJSON, FORMAT_TEXT

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class EventEncoder:
    """Encodes one sink's events in one format; the container fields are serialised once per
    context."""

    def __init__(self, fmt: str) -> None:
        self.format = fmt
        self._ctx: Context | None = None
        self._static: dict[str, object] = {}
        self._static_json = ""
        self._layout: Layout | None = None

    def static_fields(self, ctx: Context) -> dict[str, object]:
        if ctx is not self._ctx and ctx != self._ctx:
            self._ctx = ctx
            self._static = {"tag": ctx.tag, "container_id": ctx.container_id,
                            "container_name": ctx.container_name, "image_name": ctx.image_name,
                            "host": ctx.hostname, "attrs": dict(ctx.attrs)}
            self._static_json = "," + _dumps(self._static)[1:-1]
            self._layout = self._make_layout()
        return self._static

    def _make_layout(self) -> Layout | None:
        """The byte pieces of this context's events (``util.envelope``); None if a string
        cannot be UTF-8 (a lone surrogate): ``encode`` then raises, record by record."""
        newline = "\n" if self.format == FORMAT_NDJSON else ""
        try:
            heads = {source: (b'{"time":"', ('","source":' + _dumps(source) + ',"line":"').encode())
                     for source in ("stdout", "stderr")}
            tails = (('"' + self._static_json + "}" + newline).encode(),
                     ('"' + self._static_json + ',"partial":true}' + newline).encode())
        except UnicodeEncodeError:
            return None
        return Layout(heads, tails, ESCAPE_JSON, TIME_RFC3339, time_first=True)

    def encode(self, ctx: Context, rec: Record) -> bytes:
        if self.format == FORMAT_TEXT:
            return rec.line + b"\n"
        self.static_fields(ctx)
        encoded = "".join((
            '{"time":"', rfc3339nano(rec.time_ns), '","source":', _dumps(rec.source),
            ',"line":', _dumps(decode_line(rec.line)), self._static_json,
            ',"partial":true}' if rec.partial else "}",
            "\n" if self.format == FORMAT_NDJSON else "",
        ))
        return encoded.encode()

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        """``[encode(ctx, r) for r in recs]``, the batch at once through ``util.envelope``'s
        kernel (records it declines through ``encode``)."""
        if self.format == FORMAT_TEXT:
            return KERNEL.active.text_lines(recs.lines)
        self.static_fields(ctx)
        return encode_batch(self._layout, recs, lambda rec: self.encode(ctx, rec))

    def encode_into(self, ctx: Context, recs: Records, body: Body) -> None:
        """``body.extend(encode_many(ctx, recs))``, the kernel writing straight into ``body``."""
        if self.format == FORMAT_TEXT:
            text_into(recs, body)
            return
        self.static_fields(ctx)
        encode_into(self._layout, recs, lambda rec: self.encode(ctx, rec), body)
