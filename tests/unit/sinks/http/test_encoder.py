"""The generic HTTP sink's encoder: the JSON object is the documented item, in order."""

from __future__ import annotations

import json

import pytest

from sinks.http.config import HttpConfig
from sinks.http.encoder import EventEncoder
from sinks.util.record import Records

from ..fakes import context, record
from ..helpers import http_item

URL = "https://logs.example/ingest?stream=docker"


def encoder(**opts: str) -> EventEncoder:
    return EventEncoder(HttpConfig.from_options({"http-url": URL, **opts}, {}).format)


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
@pytest.mark.parametrize("partial", [False, True])
def test_encode_is_the_item_serialised(fmt: str, partial: bool, kernel_twin: str) -> None:
    s = encoder(**{"http-format": fmt})
    ctx = context(attrs={"b": "2", "a": "<1>"})
    rec = record(b'x "y" \xff', source="stderr", t=5, partial=partial)
    encoded = s.encode(ctx, rec)
    assert s.encode_many(ctx, Records.of([rec, rec])) == [encoded, encoded]
    assert encoded.endswith(b"}\n") == (fmt == "ndjson")
    assert json.loads(encoded) == http_item(ctx, rec)
    assert list(json.loads(encoded)) == list(http_item(ctx, rec))
    assert json.loads(encoded)["time"] == "1970-01-01T00:00:00.000000005Z"


def test_text_format_is_each_line_and_a_newline(kernel_twin: str) -> None:
    s = encoder(**{"http-format": "text"})
    recs = Records.of([record(b"a\xff"), record(b""), record(b'{"j":1}', partial=True)])
    assert s.encode_many(context(), recs) == [b"a\xff\n", b"\n", b'{"j":1}\n']
    assert s.encode_many(context(), recs) == [s.encode(context(), r) for r in recs]
