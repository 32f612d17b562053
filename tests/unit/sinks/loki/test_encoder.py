"""Records -> PushRequest: checked by decoding with the messages generated from Loki's
published push.proto (proto/loki_push_pb2), not with the sink's own code. Tests that encode
through ``encode_many`` run over both twins of the kernel (``kernel_twin``)."""

from __future__ import annotations

import json

import cramjam
import pytest

from proto import loki_push_pb2
from sinks.loki.config import MAX_LINE_SIZE
from sinks.loki.encoder import (
    blank,
    build_body,
    encode,
    encode_many,
    entry_line,
    pieces,
    split,
    varint,
)
from sinks.loki.labels import go_quote, label_string
from sinks.util.record import Record, Records

from ..fakes import T0, record

LABELS = {"stdout": {"container_name": "web", "source": "stdout"},
          "stderr": {"container_name": "web", "source": "stderr"}}


def decode(body: bytes) -> loki_push_pb2.PushRequest:
    msg = loki_push_pb2.PushRequest()
    msg.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    return msg


def events_of(recs: list[Record], *, protobuf: bool) -> list[bytes]:
    """The events of these records by the active twin, checked against ``encode``'s."""
    events = encode_many(Records.of(recs), protobuf=protobuf)
    assert events == [encode(r, protobuf=protobuf) for r in recs]
    return events


def streams_of(msg: loki_push_pb2.PushRequest) -> dict[str, list[tuple[int, bytes]]]:
    return {s.labels: [(e.timestamp.seconds * 10**9 + e.timestamp.nanos, e.line)
                       for e in s.entries] for s in msg.streams}


def test_one_stream_per_label_set_entries_in_time_order(kernel_twin: str) -> None:
    recs = [record(b"b", t=T0 + 2), record(b"err", source="stderr", t=T0),
            record(b"a", t=T0 + 1), record(b"c", t=T0 + 2)]
    events = events_of(recs, protobuf=True)
    body, streams = build_body(events, LABELS.__getitem__, protobuf=True)
    got = streams_of(decode(body))
    out = '{container_name="web", source="stdout"}'
    err = '{container_name="web", source="stderr"}'
    assert list(got) == [out, err]  # in the order of each stream's first event
    assert got[out] == [(T0 + 1, b"a"), (T0 + 2, b"b"), (T0 + 2, b"c")]  # sorted, stable
    assert got[err] == [(T0, b"err")]
    assert [(s.labels, s.indices) for s in streams] == [(out, (2, 0, 3)), (err, (1,))]


def test_lines_go_as_raw_bytes_in_protobuf(kernel_twin: str) -> None:
    lines = [b"bad \xc3\x28 \xa0\xa1", "日本語 héllo".encode(), b"x" * MAX_LINE_SIZE, b"\x00nul"]
    events = events_of([record(line, t=T0 + i) for i, line in enumerate(lines)], protobuf=True)
    body, _ = build_body(events, LABELS.__getitem__, protobuf=True)
    assert [line for _, line in streams_of(decode(body))[label_string(LABELS["stdout"])]] == lines


def test_json_format_and_its_utf8_replacement(kernel_twin: str) -> None:
    events = events_of([record(b"bad \xff", t=T0), record("ü".encode(), source="stderr", t=5)],
                       protobuf=False)
    body, _ = build_body(events, LABELS.__getitem__, protobuf=False)
    assert json.loads(body) == {"streams": [
        {"stream": LABELS["stdout"], "values": [[str(T0), "bad \ufffd"]]},
        {"stream": LABELS["stderr"], "values": [["5", "ü"]]},
    ]}


@pytest.mark.parametrize("line, skipped", [
    (b"", True), (b"   ", True), (b"\t\r\n", True), ("\u00a0\u3000".encode(), True),
    (b"x", False), (b" x ", False), (b"\xff", False), (b"\x1c", False),
])
def test_blank_lines_are_skipped_as_lokis_driver_skips_them(line: bytes, skipped: bool,
                                                           kernel_twin: str) -> None:
    assert blank(line) is skipped
    for protobuf in (True, False):
        assert (events_of([record(line)], protobuf=protobuf) == [b""]) is skipped


def test_event_layout_and_entry_line(kernel_twin: str) -> None:
    for protobuf in (True, False):
        [event] = events_of([record(b"hello", source="stderr", t=T0)], protobuf=protobuf)
        source, ts, entry = split(event)
        assert source == "stderr" and int.from_bytes(ts, "big") == T0
        assert entry_line(entry, protobuf=protobuf) == b"hello"


def test_time_zero_and_whole_seconds_omit_default_fields(kernel_twin: str) -> None:
    for t in (0, 5 * 10**9, 7, 2**63 - 1, 2**64 - 1):
        body, _ = build_body(events_of([record(b"x", t=t)], protobuf=True), LABELS.__getitem__,
                             protobuf=True)
        assert streams_of(decode(body))[label_string(LABELS["stdout"])] == [(t, b"x")]


def test_varint() -> None:
    assert [varint(n) for n in (0, 1, 127, 128, 300, 2**63)] == [
        b"\x00", b"\x01", b"\x7f", b"\x80\x01", b"\xac\x02",
        b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"]


def test_label_string_is_prometheus_labels_string() -> None:
    assert label_string({"b": 'say "hi"\n', "a": "x\\y"}) == r'{a="x\\y", b="say \"hi\"\n"}'
    assert go_quote("é\x01\u200b") == '"é\\x01\\u200b"'


def test_a_line_over_lokis_max_line_size_goes_as_several_entries_of_one_time(kernel_twin: str
                                                                             ) -> None:
    line = ("é" * MAX_LINE_SIZE).encode()  # 2 bytes a character: a cut could split one
    for protobuf in (True, False):
        body, streams = build_body(events_of([record(line, t=T0)], protobuf=protobuf),
                                   LABELS.__getitem__, protobuf=protobuf)
        if protobuf:
            got = streams_of(decode(body))[label_string(LABELS["stdout"])]
        else:
            values = json.loads(body)["streams"][0]["values"]
            got = [(int(ts), text.encode()) for ts, text in values]
        assert [len(p) for _, p in got] == [MAX_LINE_SIZE, MAX_LINE_SIZE]
        assert {t for t, _ in got} == {T0} and b"".join(p for _, p in got) == line
        assert all(p.decode() for _, p in got)  # no character split
        assert [s.indices for s in streams] == [(0,)]  # one event: delivered or refused as one


def test_pieces_never_split_a_character_and_keep_every_byte() -> None:
    assert pieces(b"abcdef", 4) == [b"abcd", b"ef"]
    assert pieces("aa€bb".encode(), 4) == [b"aa", "€b".encode(), b"b"]
    assert pieces(b"\x80" * 9, 4) == [b"\x80" * 4, b"\x80" * 4, b"\x80"]  # not UTF-8: cut as is
    assert pieces(b"abc", 4) == [b"abc"]


@pytest.mark.parametrize("line", [
    b"\xff" * 200_000, b"a" + b"\xff" * 100_000 + "€".encode() * 50_000, "é".encode() * 200_000])
def test_json_pieces_are_cut_after_invalid_bytes_become_replacement_characters(
        line: bytes, kernel_twin: str) -> None:
    [event] = events_of([record(line, t=T0)], protobuf=False)
    _, _, entry = split(event)
    texts = [pair[1] for pair in json.loads(b"[" + entry + b"]")]
    assert all(len(t.encode()) <= MAX_LINE_SIZE for t in texts)  # as Loki counts a line
    assert "".join(texts) == line.decode("utf-8", "replace")  # nothing lost, no char split
