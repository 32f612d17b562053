"""The fake receivers of tests/fakes: what they accept and refuse, checked where possible against
the vendors' own code (Datadog's `HTTPLogItem` model), and their fault injection."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from datadog_api_client.exceptions import OpenApiException
from datadog_api_client.v2.model.http_log_item import HTTPLogItem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeDatadog, FakeHec, FakeHttp, FakeProcess
from tests.fakes.common import REPO_ROOT, decode_body

TOKEN = "5f4dcc3b-5aa7-65d6-1d83-27deb882cf99"
KEY = "abcdef0123456789abcdef0123456789"
EVENT = "/services/collector/event/1.0"
AUTH = {"Authorization": f"Splunk {TOKEN}"}
CHANNEL = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
DD_HEADERS = {"DD-API-KEY": KEY, "Content-Type": "application/json"}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as c:
        yield c


@pytest.fixture
def hec() -> Iterator[FakeHec]:
    with FakeHec(TOKEN) as fake:
        yield fake


@pytest.fixture
def dd() -> Iterator[FakeDatadog]:
    with FakeDatadog(KEY) as fake:
        yield fake
        for item in fake.items:  # whatever the fake took, the vendor's model takes too
            HTTPLogItem(**item)


def post_hec(client: httpx.Client, hec: FakeHec, body: bytes, path: str = EVENT,
             **headers: str) -> httpx.Response:
    return client.post(hec.url + path, content=body, headers={**AUTH, **headers})


def post_dd(client: httpx.Client, dd: FakeDatadog, value: Any, encoding: str | None = "gzip",
            **headers: str) -> httpx.Response:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    hdrs = {**DD_HEADERS, **headers}
    if encoding == "gzip":
        raw = gzip.compress(raw)
    elif encoding == "deflate":
        raw = zlib.compress(raw)
    if encoding:
        hdrs["Content-Encoding"] = encoding
    return client.post(dd.logs_url, content=raw, headers=hdrs)


# -- HEC ------------------------------------------------------------------------------------------
def test_hec_accepts_concatenated_envelopes_with_whitespace(hec: FakeHec, client) -> None:
    body = (
        b'{"event":"raw text","time":1700000000.5}  \n\t'
        b'{"event":{"line":"inline","source":"stdout","tag":"abc"},"time":"1700000000.123456",'
        b'"host":"h","source":"s","sourcetype":"st","index":"main",'
        b'"fields":{"k":"v","n":3,"multi":["a","b"]}}'
        b'{"event":{"line":{"parsed":true},"source":"stderr"}}\n'
    )
    r = post_hec(client, hec, body)
    assert (r.status_code, r.json()) == (200, {"text": "Success", "code": 0})
    assert hec.lines() == ["raw text", "inline", {"parsed": True}]
    assert hec.events[1]["fields"] == {"k": "v", "n": 3, "multi": ["a", "b"]}
    assert hec.status_counts == {200: 1}
    assert hec.requests[0].items == hec.events


def test_hec_paths_health_and_options(hec: FakeHec, client) -> None:
    for path in ("/services/collector/event/1.0", "/services/collector/event",
                 "/services/collector"):
        assert post_hec(client, hec, b'{"event":"x"}', path).status_code == 200
    for path in ("/services/collector/health/1.0", "/services/collector/health"):
        r = client.get(hec.url + path)  # no token needed
        assert (r.status_code, r.json()) == (200, {"text": "HEC is healthy", "code": 17})
    assert client.options(hec.url + EVENT).status_code == 200  # Docker's connection check
    r = post_hec(client, hec, b'{"event":"x"}', "/services/collector/raw/1.0")
    assert r.status_code == 404
    assert len(hec.events) == 3


@pytest.mark.parametrize(("auth", "status", "answer"), [
    (None, 401, {"text": "Token is required", "code": 2}),
    (f"Bearer {TOKEN}", 401, {"text": "Invalid authorization", "code": 3}),
    ("Splunk", 401, {"text": "Invalid authorization", "code": 3}),
    ("Splunk not-the-token", 403, {"text": "Invalid token", "code": 4}),
])
def test_hec_token(hec: FakeHec, client, auth: str | None, status: int, answer: dict) -> None:
    headers = {} if auth is None else {"Authorization": auth}
    r = client.post(hec.url + EVENT, content=b'{"event":"x"}', headers=headers)
    assert (r.status_code, r.json()) == (status, answer)
    assert hec.events == []


def _bad(code: int, n: int, text: str = "Invalid data format") -> dict:
    return {"text": text, "code": code, "invalid-event-number": n}


@pytest.mark.parametrize(("body", "answer", "kept"), [
    (b"", {"text": "No data", "code": 5}, []),
    (b"  \n", {"text": "No data", "code": 5}, []),
    (b'{"time":1}', _bad(12, 0, "Event field is required"), []),
    (b'{"event":null}', _bad(12, 0, "Event field is required"), []),
    (b'{"event":"a"}{"time":1}', _bad(12, 1, "Event field is required"), ["a"]),
    (b'{"event":""}', _bad(13, 0, "Event field cannot be blank"), []),
    (b'{"event":"a"}{"event":"b"}{"event":" \\t "}', _bad(13, 2, "Event field cannot be blank"),
     ["a", "b"]),
    (b'{"event":"a","time":"soon"}', _bad(6, 0), []),
    (b'{"event":"a","time":true}', _bad(6, 0), []),
    (b'{"event":"a","extra":1}', _bad(6, 0), []),
    (b'{"event":"a","host":5}', _bad(6, 0), []),
    (b'{"event":"a"} not json', _bad(6, 1), ["a"]),
    (b'{"event":"a"},{"event":"b"}', _bad(6, 1), ["a"]),
    (b'[{"event":"a"}]', _bad(6, 0), []),
    (b'"event"', _bad(6, 0), []),
    (b'{"event":"a","fields":{"k":{"nested":1}}}', _bad(15, 0, "Error in handling indexed fields"),
     []),
    (b'{"event":"a","fields":["k"]}', _bad(15, 0, "Error in handling indexed fields"), []),
])
def test_hec_refuses_what_splunk_refuses(hec: FakeHec, client, body: bytes, answer: dict,
                                         kept: list) -> None:
    r = post_hec(client, hec, body)
    assert (r.status_code, r.json()) == (400, answer)
    assert hec.lines() == kept  # Splunk keeps the events before the first bad one
    assert hec.status_counts == {400: 1}


def test_hec_all_or_nothing_and_index_list(client) -> None:
    with FakeHec(TOKEN, index_before_invalid=False, indexes={"main"}) as hec:
        r = post_hec(client, hec, b'{"event":"a","index":"main"}{"event":"b","index":"nope"}')
        assert (r.status_code, r.json()) == (400, _bad(7, 1, "Incorrect index"))
        assert hec.events == []


def test_hec_time_forms(hec: FakeHec, client) -> None:
    body = b'{"event":"a","time":1}{"event":"b","time":"1700000000.123456"}{"event":"c","time":1.5}'
    assert post_hec(client, hec, body).status_code == 200
    assert [e["time"] for e in hec.events] == [1, "1700000000.123456", 1.5]


def test_hec_gzip_only(hec: FakeHec, client) -> None:
    body = b'{"event":"zipped"}{"event":"twice"}'
    r = post_hec(client, hec, gzip.compress(body), **{"Content-Encoding": "gzip"})
    assert r.status_code == 200 and hec.lines() == ["zipped", "twice"]
    assert hec.requests[0].body[:2] == b"\x1f\x8b" and hec.requests[0].decoded == body
    r = post_hec(client, hec, zlib.compress(body), **{"Content-Encoding": "deflate"})
    assert r.status_code == 400 and r.json()["code"] == 6
    r = post_hec(client, hec, b"not gzip", **{"Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.json()["code"] == 6
    assert len(hec.events) == 2


def test_hec_invalid_utf8_is_counted_or_refused(client) -> None:
    body = b'{"event":{"line":{"k":"\xff\xfe"}}}'
    with FakeHec(TOKEN) as hec:
        assert post_hec(client, hec, body).status_code == 200
        assert hec.lines() == [{"k": "\ufffd\ufffd"}] and hec.invalid_utf8 == 1
    with FakeHec(TOKEN, strict_utf8=True) as hec:
        r = post_hec(client, hec, b'{"event":"ok"}' + body + b'{"event":"after"}')
        assert (r.status_code, r.json()) == (400, _bad(6, 1))  # the event holding the bytes
        assert hec.lines() == ["ok"]


def test_hec_refuse_marker_refuses_that_event_after_indexing_those_before(client) -> None:
    with FakeHec(TOKEN, refuse_marker="POISON") as hec:
        r = post_hec(client, hec, b'{"event":"a"}{"event":"b"}{"event":"POISON c"}{"event":"d"}')
        assert (r.status_code, r.json()) == (400, _bad(6, 2))
        assert hec.lines() == ["a", "b"]  # indexed up to the bad one; "d" was not looked at


def test_hec_content_length_limit(client) -> None:
    with FakeHec(TOKEN, max_content_length=1000) as hec:
        ok = b'{"event":"%s"}' % (b"x" * 900)
        assert post_hec(client, hec, ok).status_code == 200
        r = post_hec(client, hec, ok + ok)
        assert r.status_code == 413
        assert hec.status_counts == {200: 1, 413: 1} and len(hec.events) == 1


def test_hec_indexer_acknowledgement(client) -> None:
    # ack_delay is long enough that a loaded machine still queries before the acks turn true.
    with FakeHec(TOKEN, ack=True, ack_delay=2.0) as hec:
        r = post_hec(client, hec, b'{"event":"a"}')
        assert (r.status_code, r.json()) == (400, {"text": "Data channel is missing", "code": 10})
        r = post_hec(client, hec, b'{"event":"a"}', **{"X-Splunk-Request-Channel": "not-a-guid"})
        assert (r.status_code, r.json()) == (400, {"text": "Invalid data channel", "code": 11})
        ch = {"X-Splunk-Request-Channel": CHANNEL}
        sent = time.monotonic()
        answers = [post_hec(client, hec, b'{"event":"%d"}' % i, **ch).json() for i in range(2)]
        assert answers == [{"text": "Success", "code": 0, "ackId": 0},
                           {"text": "Success", "code": 0, "ackId": 1}]
        # The channel may also come as ?channel=; ackIds count per channel.
        other = "11111111-2222-4333-8444-555555555555"
        r = post_hec(client, hec, b'{"event":"x"}', EVENT + f"?channel={other}")
        assert r.json()["ackId"] == 0
        assert hec.pending_acks() == {CHANNEL: [0, 1], other: [0]}

        def query(ids: list, **headers: str) -> httpx.Response:
            return post_hec(client, hec, json.dumps({"acks": ids}).encode(),
                            "/services/collector/ack", **headers)

        assert query([0]).json() == {"text": "Data channel is missing", "code": 10}
        early = time.monotonic() - sent < 1.0  # (else too late to see them still false)
        if early:
            assert query([0, 1, 7], **ch).json() == {"acks": {"0": False, "1": False, "7": False}}
        time.sleep(max(0.0, 2.1 - (time.monotonic() - sent)))
        assert query([0, 1, 7], **ch).json() == {"acks": {"0": True, "1": True, "7": False}}
        # Reported once, then forgotten (as Splunk does).
        assert query([0], **ch).json() == {"acks": {"0": False}}
        assert query("nope", **ch).status_code == 400  # type: ignore[arg-type]
        assert hec.pending_acks() == {other: [0]}
        assert hec.channels == ["not-a-guid", CHANNEL, other]  # every channel a send carried
        assert hec.ack_queries == 2 + early  # refused queries are not counted
    with FakeHec(TOKEN) as hec:
        r = post_hec(client, hec, b'{"acks":[0]}', "/services/collector/ack",
                     **{"X-Splunk-Request-Channel": CHANNEL})
        assert (r.status_code, r.json()) == (400, {"text": "ACK is disabled", "code": 14})


# -- Datadog --------------------------------------------------------------------------------------
def test_datadog_accepts_a_valid_gzip_body(dd: FakeDatadog, client) -> None:
    items = [
        {"message": "hello", "ddsource": "docker", "ddtags": "env:prod,team:core",
         "hostname": "h1", "service": "web", "status": "info", "timestamp": 1_700_000_000_123},
        {"message": "caf\u00e9 \U0001f680", "container": {"id": "abc", "labels": ["x"]},
         "partial": True, "n": None, "ratio": 0.5},
    ]
    r = post_dd(client, dd, items)
    assert (r.status_code, r.json()) == (202, {})
    assert dd.items == items and dd.messages() == ["hello", "caf\u00e9 \U0001f680"]
    r = post_dd(client, dd, [{"message": "deflated"}], "deflate")
    assert r.status_code == 202
    r = post_dd(client, dd, [{"message": "plain"}], None, **{"Content-Type":
                                                              "application/json; charset=utf-8"})
    assert r.status_code == 202
    assert dd.messages()[2:] == ["deflated", "plain"]
    assert dd.requests[0].headers["Content-Encoding"] == "gzip"


def test_datadog_limits_at_the_edge_are_accepted(dd: FakeDatadog, client) -> None:
    r = post_dd(client, dd, [{"message": str(i)} for i in range(1000)])
    assert r.status_code == 202
    body = json.dumps([{"message": "x" * 999_000} for _ in range(5)]).encode()
    body = body[:-1] + b" " * (5_000_000 - len(body)) + b"]"
    assert len(body) == 5_000_000
    assert post_dd(client, dd, body).status_code == 202
    assert post_dd(client, dd, body[:-1] + b" ]").status_code == 413  # one byte more
    big = json.dumps([{"message": "y" * 1_200_000}]).encode()
    assert post_dd(client, dd, big).status_code == 202  # the intake truncates, still accepts
    assert dd.oversized == 1 and len(dd.items) == 1006


@pytest.mark.parametrize(("body", "status"), [
    (b'{"message": "an object, not an array"}', 400),
    (b"[]", 400),
    (b'["just a string"]', 400),
    (b'[{"message": "ok"}, {"msg": "no message"}]', 400),
    (b'[{"message": 42}]', 400),
    (b'[{"message": "x", "ddtags": ["env:prod"]}]', 400),
    (b'[{"message": "x", "service": 1}]', 400),
    (b'[{"message": "x"', 400),
    (b'[{"message": "\xff"}]', 400),
    (json.dumps([{"message": "m"}] * 1001).encode(), 413),
    (json.dumps([{"message": "z" * 900_000}] * 6).encode(), 413),
])
def test_datadog_refuses_what_the_intake_refuses(dd: FakeDatadog, client, body: bytes,
                                                 status: int) -> None:
    r = post_dd(client, dd, body)
    assert r.status_code == status, r.text
    assert r.json()["errors"]
    assert dd.items == []


def test_datadog_key_type_encoding_and_path(dd: FakeDatadog, client) -> None:
    ok = [{"message": "m"}]
    assert post_dd(client, dd, ok, **{"DD-API-KEY": "wrong"}).status_code == 403
    r = client.post(dd.logs_url, json=ok, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (403, {"errors": ["Forbidden"]})
    assert post_dd(client, dd, ok, **{"Content-Type": "text/plain"}).status_code == 400
    r = client.post(dd.logs_url, content=b"not gzip",
                    headers={**DD_HEADERS, "Content-Encoding": "gzip"})
    assert r.status_code == 400
    r = client.post(dd.logs_url, content=zlib.compress(b"[]")[2:-4],  # raw deflate, not zlib
                    headers={**DD_HEADERS, "Content-Encoding": "deflate"})
    assert r.status_code == 400
    r = client.post(dd.logs_url, content=b'[{"message":"m"}]',
                    headers={**DD_HEADERS, "Content-Encoding": "br"})
    assert r.status_code == 400
    assert client.post(dd.url + "/v1/input", json=ok, headers=DD_HEADERS).status_code == 404
    assert client.get(dd.logs_url, headers=DD_HEADERS).status_code == 405
    assert dd.items == []


@pytest.fixture(scope="module")
def dd_module() -> Iterator[tuple[FakeDatadog, httpx.Client]]:
    with FakeDatadog(KEY) as fake, httpx.Client(trust_env=False, timeout=10) as c:
        yield fake, c


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.floats(allow_nan=False,
                                                                        allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6,
)
ITEMS = st.dictionaries(
    st.sampled_from(["message", "ddsource", "ddtags", "hostname", "service", "status",
                     "timestamp", "attr", "nested"])
    # Keys of the model's own (_check_type, self_, ...) would steer HTTPLogItem, not be attributes.
    | st.text(min_size=1, max_size=8).filter(lambda k: not k.startswith("_") and k != "self_"),
    JSON_VALUES | st.text(max_size=30),
    max_size=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=ITEMS)
def test_datadog_accepts_only_what_the_vendor_model_accepts(
    dd_module: tuple[FakeDatadog, httpx.Client], item: dict
) -> None:
    r = post_dd(dd_module[1], dd_module[0], [item])
    try:
        HTTPLogItem(**item)
        model_ok = True
    except (OpenApiException, TypeError):
        model_ok = False
    if r.status_code == 202:
        assert model_ok, f"the fake accepted {item!r}, which HTTPLogItem refuses"
    else:
        assert r.status_code == 400, r.text
        if model_ok:  # the model lets a named field be null; SINKS.md says they are strings
            assert any(item.get(k, "") is None for k in ("message", "ddsource", "ddtags",
                                                         "hostname", "service")), item


# -- generic HTTP ---------------------------------------------------------------------------------
def test_http_parses_by_content_type(client) -> None:
    with FakeHttp() as rx:
        r = client.post(rx.url + "/a", json=[{"a": 1}, {"b": 2}])
        assert r.status_code == 200
        client.post(rx.url + "/b/c", json={"single": True})
        client.post(rx.url + "/nd", content=b'{"x":1}\n\n{"x":2}\n',
                    headers={"Content-Type": "application/x-ndjson"})
        client.post(rx.url + "/t", content=gzip.compress(b"one\r\ntwo\n\nthree\n"),
                    headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"})
        client.post(rx.url + "/raw", content=b"no newline")
        assert rx.items == [{"a": 1}, {"b": 2}, {"single": True}, {"x": 1}, {"x": 2},
                            "one\r", "two", "", "three", "no newline"]
        assert [r.path for r in rx.requests] == ["/a", "/b/c", "/nd", "/t", "/raw"]
        assert rx.bodies[3] == b"one\r\ntwo\n\nthree\n"
        r = client.post(rx.url + "/bad", content=b"{nope", headers={"Content-Type":
                                                                    "application/json"})
        assert r.status_code == 400
        r = client.post(rx.url + "/z", content=b"x", headers={"Content-Encoding": "zstd"})
        assert r.status_code == 415
        assert client.get(rx.url + "/a").status_code == 405


def test_http_auth(client) -> None:
    with FakeHttp(basic=("u", "p"), bearer="tok", required_headers={"X-Tenant": "t1"}) as rx:
        basic = "Basic " + base64.b64encode(b"u:p").decode()
        for auth, status in [(basic, 200), ("Bearer tok", 200), ("Bearer no", 401),
                             ("Basic " + base64.b64encode(b"u:x").decode(), 401), (None, 401)]:
            headers = {"X-Tenant": "t1"}
            if auth:
                headers["Authorization"] = auth
            assert client.post(rx.url, content=b"l", headers=headers).status_code == status
        r = client.post(rx.url, content=b"l", headers={"Authorization": "Bearer tok"})
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers
        assert rx.items == ["l", "l"] and rx.status_counts == {200: 2, 401: 4}


# -- fault injection ------------------------------------------------------------------------------
def _poll_until_ok(client: httpx.Client, hec: FakeHec, limit: float = 5.0) -> list[int]:
    statuses = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        statuses.append(post_hec(client, hec, b'{"event":"x"}').status_code)
        if statuses[-1] == 200:
            break
        time.sleep(0.05)
    return statuses


def test_fail_with_503_for_some_seconds_then_ok(hec: FakeHec, client) -> None:
    busy = {"text": "Server is busy", "code": 9}
    start = time.monotonic()
    hec.fail_with(503, busy, for_seconds=0.5)
    r = post_hec(client, hec, b'{"event":"x"}')
    assert (r.status_code, r.json()) == (503, busy)
    statuses = _poll_until_ok(client, hec)
    assert statuses[-1] == 200 and set(statuses[:-1]) <= {503}
    assert time.monotonic() - start >= 0.5
    assert hec.count(503) == len(statuses) and hec.count(200) == 1 and len(hec.events) == 1
    assert all(r.note == "fault" for r in hec.requests if r.status == 503)


def test_fail_with_429_retry_after_for_a_count_and_paths(hec: FakeHec, client) -> None:
    hec.fail_with(429, b"slow down", {"Retry-After": "2"}, count=2, paths=[EVENT])
    health = client.get(hec.url + "/services/collector/health")
    assert health.status_code == 200  # not one of `paths`: not counted either
    for _ in range(2):
        r = post_hec(client, hec, b'{"event":"x"}')
        assert (r.status_code, r.headers["Retry-After"], r.content) == (429, "2", b"slow down")
    assert post_hec(client, hec, b'{"event":"x"}').status_code == 200
    assert hec.status_counts == {200: 2, 429: 2}
    assert hec.answered(400, 499) == 2 and hec.answered(200, 299) == 2
    hec.fail_with(500)
    assert post_hec(client, hec, b'{"event":"x"}').status_code == 500
    hec.clear_faults()
    assert post_hec(client, hec, b'{"event":"x"}').status_code == 200


def test_stop_refuses_connections_and_start_reuses_the_port(hec: FakeHec, client) -> None:
    assert post_hec(client, hec, b'{"event":"before"}').status_code == 200
    port, url = hec.port, hec.url
    hec.stop()
    assert not hec.running
    with pytest.raises(httpx.ConnectError):
        post_hec(client, hec, b'{"event":"while stopped"}')
    hec.start()
    assert (hec.port, hec.url) == (port, url)
    assert post_hec(client, hec, b'{"event":"after"}').status_code == 200
    assert hec.lines() == ["before", "after"]


def test_hang_window_then_answers(hec: FakeHec, client) -> None:
    hec.hang(0.6)
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post(hec.url + EVENT, content=b'{"event":"given up"}', headers=AUTH, timeout=0.2)
    r = post_hec(client, hec, b'{"event":"waited"}')
    assert r.status_code == 200 and 0.5 <= time.monotonic() - start < 3
    hec.wait_for(lambda: hec.in_flight == 0)
    assert hec.lines() == ["waited"]  # the abandoned request got nothing accepted
    assert hec.status_counts == {None: 1, 200: 1}
    assert hec.requests[0].note.startswith("abandoned")
    assert post_hec(client, hec, b'{"event":"later"}').status_code == 200


def test_hang_count_clear_faults_and_slow(hec: FakeHec, client) -> None:
    hec.hang(30, count=1)
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(
        post_hec(client, hec, b'{"event":"held"}').status_code))
    t.start()
    hec.wait_for(lambda: hec.in_flight == 1)
    time.sleep(0.1)
    assert result == []
    start = time.monotonic()
    hec.clear_faults()
    t.join(5)
    assert result == [200] and time.monotonic() - start < 2
    hec.slow(0.3)
    start = time.monotonic()
    assert post_hec(client, hec, b'{"event":"slow"}').status_code == 200
    assert time.monotonic() - start >= 0.3
    hec.slow(0)
    assert hec.lines() == ["held", "slow"]


def test_stop_while_hanging_drops_the_connection(hec: FakeHec, client) -> None:
    hec.hang(30)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            post_hec(client, hec, b'{"event":"held"}')
        except httpx.HTTPError as e:
            errors.append(e)

    t = threading.Thread(target=send)
    t.start()
    hec.wait_for(lambda: hec.in_flight == 1)
    start = time.monotonic()
    hec.stop()
    t.join(5)
    assert time.monotonic() - start < 3
    assert len(errors) == 1 and isinstance(errors[0], httpx.RemoteProtocolError)
    assert hec.events == [] and hec.status_counts == {None: 1}


def test_disconnect_without_answer(hec: FakeHec, client) -> None:
    hec.disconnect(count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        post_hec(client, hec, b'{"event":"lost"}')
    assert post_hec(client, hec, b'{"event":"kept"}').status_code == 200
    assert hec.lines() == ["kept"] and hec.requests[0].note == "disconnected"


def test_records_are_thread_safe(hec: FakeHec) -> None:
    def worker(k: int) -> None:
        with httpx.Client(trust_env=False, timeout=10) as c:
            for i in range(25):
                assert post_hec(c, hec, b'{"event":"%d-%d"}' % (k, i)).status_code == 200

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(hec.events) == 200 and hec.count(200) == 200
    assert sorted(r.seq for r in hec.requests) == list(range(1, 201))
    for k in range(8):
        mine = [line for line in hec.lines() if line.startswith(f"{k}-")]
        assert mine == [f"{k}-{i}" for i in range(25)]


def test_wait_for_says_what_it_waited_for(hec: FakeHec) -> None:
    with pytest.raises(AssertionError, match=r"(?s)3 events accepted.*FakeHec on 127\.0\.0\.1"):
        hec.wait_for_events(3, timeout=0.1)


def test_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeHec(host="0.0.0.0")


def test_decode_body() -> None:
    assert decode_body(gzip.compress(zlib.compress(b"x")), "deflate, gzip") == (b"x", None)
    assert decode_body(b"x", "identity") == (b"x", None)
    assert decode_body(b"x", "zstd")[0] is None


# -- as a child process ---------------------------------------------------------------------------
def test_module_prints_its_port_first() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.datadog", "--port", "0", "--print-port",
         "--api-key", KEY],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        with httpx.Client(trust_env=False, timeout=10) as c:
            r = c.post(f"http://127.0.0.1:{port}/api/v2/logs", json=[{"message": "m"}],
                       headers={"DD-API-KEY": KEY})
            assert r.status_code == 202
        proc.terminate()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_fake_process_survives_sigkill_and_restarts_on_its_port(tmp_path, client) -> None:
    record = tmp_path / "hec.jsonl"
    with FakeProcess("hec", "--token", TOKEN, record=record) as hec:
        r = client.post(hec.url + EVENT, content=b'{"event":"one"}', headers=AUTH)
        assert r.status_code == 200 and hec.items() == [{"event": "one"}]
        hec.fail_with(503, '{"text":"Server is busy","code":9}', count=1)
        r = client.post(hec.url + EVENT, content=b'{"event":"two"}', headers=AUTH)
        assert r.status_code == 503
        assert hec.status_counts() == {200: 1, 503: 1}
        port = hec.port
        hec.kill()
        with pytest.raises(httpx.ConnectError):
            client.post(hec.url + EVENT, content=b'{"event":"lost"}', headers=AUTH)
        hec.start()
        assert hec.port == port
        r = client.post(hec.url + EVENT, content=b'{"event":"three"}', headers=AUTH)
        assert r.status_code == 200
        assert hec.items() == [{"event": "three"}]  # a new process: memory is gone ...
        assert hec.recorded_items() == [{"event": "one"}, {"event": "three"}]  # ... the file not
        assert [line["status"] for line in hec.recorded()] == [200, 503, 200]
    assert not hec.alive and hec.proc is not None and hec.proc.returncode == 0
