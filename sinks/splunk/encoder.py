"""Splunk HEC envelopes, byte for byte as Docker's splunk driver builds them (moby
``daemon/logger/splunk/splunk.go``: ``splunkMessage``, ``splunkMessageEvent``, the three formats).

Key order and omission follow the Go structs: ``{"event":..,"time":..,"host":..}`` then
``source``/``sourcetype``/``index`` only when set; the inline/json event is
``{"line":..,"source":..}`` then ``tag``/``attrs`` only when non-empty.
"""

from __future__ import annotations

from itertools import repeat
from operator import truediv

from ..util.gojson import PLAIN_CHARS, go_map, go_string, go_text, raw_json
from ..util.record import Context, Record, Records
from ..util.timefmt import hec_time
from .config import FORMAT_INLINE, FORMAT_JSON, FORMAT_RAW, FORMATS, HecFields

# Go's unicode.IsSpace, for strings.TrimSpace: raw format skips blank lines HEC would refuse.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
           "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


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
        # The usual inline event as one bytes template per source: a plain line (see
        # ``PLAIN_CHARS``) needs no escaping and no decoding, and Python's "%f" is Go's.
        self._inline_templates: dict[str, bytes] = {}
        self._inline_tail = self._tail.replace("%", "%%")

    def _source_part(self, source: str) -> str:
        part = self._event_source.get(source)
        if part is None:
            part = self._event_source[source] = ',"source":' + go_string(source) + self._event_extra
        return part

    def _inline_template(self, source: str) -> bytes:
        template = self._inline_templates.get(source)
        if template is None:
            part = self._source_part(source).replace("%", "%%")
            template = self._inline_templates[source] = (
                '{"event":{"line":"%s"' + part + "%f" + self._inline_tail + "\0").encode()
        return template

    def encode_many(self, recs: Records) -> list[bytes]:
        """``[encode(r) for r in recs]``, several times faster for inline records whose lines are
        all plain (printable ASCII that needs no escaping, see ``PLAIN_CHARS``): the whole batch
        is one bytes ``%`` format of per-source templates (Python's "%f" is Go's), cut apart at a
        NUL that plain lines and Go-escaped fields cannot contain. The lines go in as they are:
        no decoding to str and back."""
        if self.fmt != FORMAT_INLINE or not recs:
            return [self.encode(r) for r in recs]
        times, sources, lines = recs.times, recs.sources, recs.lines
        if b"".join(lines).translate(None, PLAIN_CHARS):
            return [self.encode(r) for r in recs]  # something to escape (or a NUL) somewhere
        templates = self._inline_templates
        if len(templates) < 2:
            for source in set(sources):
                self._inline_template(source)
        args: list[object] = [None] * (2 * len(recs))
        args[0::2] = lines
        args[1::2] = map(truediv, times, repeat(1e9))
        body = b"".join(map(templates.__getitem__, sources)) % tuple(args)
        return body.split(b"\0")[:-1]

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
