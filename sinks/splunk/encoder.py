"""Splunk HEC envelopes, byte for byte as Docker's splunk driver builds them (moby
``daemon/logger/splunk/splunk.go``: ``splunkMessage``, ``splunkMessageEvent``, the three formats).

Key order and omission follow the Go structs: ``{"event":..,"time":..,"host":..}`` then
``source``/``sourcetype``/``index`` only when set; the inline/json event is
``{"line":..,"source":..}`` then ``tag``/``attrs`` only when non-empty.
"""

from __future__ import annotations

from ..util.body import Body
from ..util.envelope import ESCAPE_GO, TIME_HEC, Layout, encode_batch, encode_into
from ..util.gojson import go_map, go_string, go_text, raw_json
from ..util.record import Context, Record, Records
from ..util.timefmt import hec_time
from .config import FORMAT_JSON, FORMAT_RAW, FORMATS, HecFields

# Go's unicode.IsSpace, for strings.TrimSpace: raw format skips blank lines HEC would refuse.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
           "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
SOURCES = ("stdout", "stderr")  # the streams Docker logs; another source is encoded per record


class Envelope:
    """Encodes one container's records in one format."""

    def __init__(self, fmt: str, ctx: Context, fields: HecFields) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown splunk format {fmt!r}")
        self.fmt = fmt
        self.ctx = ctx
        tail = '","host":' + go_string(ctx.hostname)
        for key, value in (("source", fields.source), ("sourcetype", fields.sourcetype),
                           ("index", fields.index)):
            if value:
                tail += f',"{key}":' + go_string(value)
        self._tail = tail + "}"
        extra = ""
        if ctx.tag:
            extra += ',"tag":' + go_string(ctx.tag)
        if ctx.attrs:
            extra += ',"attrs":' + go_map(ctx.attrs)
        self._event_extra = extra + '},"time":"'
        self._event_source: dict[str, str] = {}
        prefix = ctx.tag + " " if ctx.tag else ""
        # Go ranges over the attrs map in random order; sorted is one of the orders it can take.
        for key in sorted(ctx.attrs):
            prefix += f"{key}={ctx.attrs[key]} "
        self._raw_prefix = prefix
        self._layout = self._make_layout()

    def _source_part(self, source: str) -> str:
        part = self._event_source.get(source)
        if part is None:
            part = self._event_source[source] = ',"source":' + go_string(source) + self._event_extra
        return part

    def _make_layout(self) -> Layout | None:
        """The byte pieces of this container's events (``util.envelope``); None if a context
        string cannot be UTF-8 (a lone surrogate): ``encode`` then raises, record by record."""
        try:
            if self.fmt == FORMAT_RAW:
                head = ('{"event":' + go_string(self._raw_prefix)[:-1]).encode()
                return Layout({source: (head, b'","time":"') for source in SOURCES},
                              (self._tail.encode(),) * 2, ESCAPE_GO, TIME_HEC, skip_blank=True)
            heads = {source: (b'{"event":{"line":"', ('"' + self._source_part(source)).encode())
                     for source in SOURCES}
            return Layout(heads, (self._tail.encode(),) * 2, ESCAPE_GO, TIME_HEC,
                          json_lines=self.fmt == FORMAT_JSON)
        except UnicodeEncodeError:
            return None

    def encode_many(self, recs: Records) -> list[bytes]:
        """``[encode(r) for r in recs]``, the batch at once through ``util.envelope``'s kernel
        (records it declines through ``encode``)."""
        return encode_batch(self._layout, recs, self.encode)

    def encode_into(self, recs: Records, body: Body) -> None:
        """``body.extend(encode_many(recs))``, the kernel writing straight into ``body``."""
        encode_into(self._layout, recs, self.encode, body)

    def encode(self, rec: Record) -> bytes:
        """One envelope; ``b""`` for a record the raw format skips (blank line), as moby does."""
        text = go_text(rec.line)
        if self.fmt == FORMAT_RAW:
            if not text.strip(GO_SPACE):
                return b""
            head = '{"event":' + go_string(self._raw_prefix + text) + ',"time":"'
        else:
            line = raw_json(text) if self.fmt == FORMAT_JSON else None
            head = '{"event":{"line":' + (line or go_string(text)) + self._source_part(rec.source)
        return (head + hec_time(rec.time_ns) + self._tail).encode()
