"""Delivery from the store to a sink (httpx.MockTransport): order, retries, restarts, joins; each
through both sources (``h``: in-process over ContainerLog, and the shipper's StoreView path)."""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import re
import time

import httpx
import pytest

import logdriver.delivery.cursor as cursor_module
from logdriver.driver import RequestError
from logdriver.framing import Entry, encode_entry
from sinks.util.timefmt import rfc3339nano
from tests.fakes.hec import FakeHec

from ..helpers import T0, frames
from .harness import CID, OPTS, Harness, until


async def test_every_line_is_delivered_once_and_in_order(h: Harness) -> None:
    await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(1000))
    await until(lambda: len(h.receiver.lines) >= 1000)
    await asyncio.sleep(0.2)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(1000)]
    assert h.receiver.requests >= 10  # batch-size 100


async def test_503_then_200_delivers_everything_once(h: Harness) -> None:
    failures = {"left": 3}

    def flaky(req: httpx.Request) -> httpx.Response | None:
        if failures["left"]:
            failures["left"] -= 1
            return httpx.Response(503, headers={"Retry-After": "0"})
        return None

    h.receiver.answer = flaky
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(250))
    await until(lambda: len(h.receiver.lines) >= 250)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(250)]
    assert driver.delivery.retries == 3


async def test_permanent_refusal_goes_to_the_dead_letter_file_and_delivery_goes_on(
    h: Harness,
) -> None:
    seen = {"n": 0}

    def refuse_first(req: httpx.Request) -> httpx.Response | None:
        seen["n"] += 1
        return httpx.Response(400, text="bad") if seen["n"] == 1 else None

    h.receiver.answer = refuse_first
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path, OPTS | {"batch-size": "10"})
    h.write(path, frames(30))
    await until(lambda: len(h.receiver.lines) >= 20)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(10, 30)]
    assert driver.delivery.dead_letters == 10
    letters = (h.state / "containers" / CID / "deadletter-http.ndjson").read_text().splitlines()
    assert len(letters) == 10 and json.loads(letters[0])["status"] == 400
    from logdriver import observe

    assert "logdriver_delivery_dead_letters_total 10.0" in observe.metrics_text(driver).decode()


@pytest.mark.parametrize("bad", [(50,), (0, 99), (10, 11, 12, 60)])
async def test_one_bad_hec_event_costs_one_event(h: Harness, bad: tuple[int, ...]) -> None:
    # HEC indexes a batch up to its first bad event and answers 400/6 naming it: only that
    # event goes to the dead-letter file, and the rest are sent again, each exactly once.
    lines = [b"line %06d%s" % (i, b" POISON" if i in bad else b"") for i in range(100)]
    with FakeHec("tok", refuse_marker="POISON") as hec:
        driver = await h.start(network=True)
        path = h.fifo()
        await h.start_logging(path, {"splunk-url": hec.url, "splunk-token": "tok",
                                     "splunk-verify-connection": "false", "batch-wait": "50ms"})
        h.write(path, b"".join(encode_entry(Entry("stdout", T0 + i, ln))
                               for i, ln in enumerate(lines)))
        await until(lambda: driver.delivery.dead_letters >= len(bad))
        await until(lambda: len(hec.events) >= 100 - len(bad))
        await asyncio.sleep(0.2)  # anything sent twice would arrive now
        assert hec.lines() == [ln.decode() for i, ln in enumerate(lines) if i not in bad]
        assert hec.count(200) == 1 or bad[-1] == 99  # one request per bad event, then the rest
        assert hec.answered(400, 400) == len(bad)
    assert (driver.delivery.dead_letters, driver.delivery.delivered_events) == (len(bad),
                                                                                100 - len(bad))
    letters = (h.state / "containers" / CID / "deadletter-splunk.ndjson").read_text().splitlines()
    dead = [json.loads(base64.b64decode(json.loads(x)["event_b64"]))["event"]["line"]
            for x in letters]
    assert dead == [lines[i].decode() for i in bad]
    assert all("invalid-event-number" in json.loads(x)["reason"] for x in letters)


@pytest.mark.parametrize("bad", [(6,), (3, 99)])
async def test_one_bad_hec_event_among_skipped_blank_lines_costs_one_event(
        h: Harness, bad: tuple[int, ...]) -> None:
    # The raw format skips blank lines (empty events in the batch's body): HEC's index of the
    # bad event counts only the events it was sent, and still names the right one.
    lines = [b"   " if i % 4 == 1 else b"line %06d%s" % (i, b" POISON" if i in bad else b"")
             for i in range(100)]
    sent = [i for i in range(100) if i % 4 != 1]
    with FakeHec("tok", refuse_marker="POISON") as hec:
        driver = await h.start(network=True)
        path = h.fifo()
        await h.start_logging(path, {"splunk-url": hec.url, "splunk-token": "tok",
                                     "splunk-format": "raw", "splunk-verify-connection": "false",
                                     "batch-wait": "50ms"})
        h.write(path, b"".join(encode_entry(Entry("stdout", T0 + i, ln))
                               for i, ln in enumerate(lines)))
        await until(lambda: driver.delivery.dead_letters >= len(bad))
        await until(lambda: len(hec.events) >= len(sent) - len(bad))
        await asyncio.sleep(0.2)  # anything sent twice would arrive now
        tag = CID[:12] + " "  # the raw format's prefix: the default tag
        assert hec.lines() == [tag + lines[i].decode() for i in sent if i not in bad]
    assert (driver.delivery.dead_letters, driver.delivery.delivered_events) == (
        len(bad), len(sent) - len(bad))
    letters = (h.state / "containers" / CID / "deadletter-splunk.ndjson").read_text().splitlines()
    dead = [json.loads(base64.b64decode(json.loads(x)["event_b64"]))["event"] for x in letters]
    assert dead == [CID[:12] + " " + lines[i].decode() for i in bad]


async def test_reading_a_silent_stopped_container_never_asks_the_sink(h: Harness) -> None:
    # `docker logs` on a stopped container is a StartLogging too. One that printed nothing has
    # no history, yet it was started before: no connection check, even with HEC down.
    opts = {"splunk-url": "http://hec.test:8088", "splunk-token": "tok-123456"}  # verify on
    driver = await h.start()
    await h.start_logging(h.fifo(1), opts)  # HEC up: the first start checks and passes
    driver.stop_logging(h.fifo(1))
    h.receiver.answer = lambda r: httpx.Response(503, json={"text": "down", "code": 9})
    await h.start_logging(h.fifo(2), opts)  # the read: no check
    driver.stop_logging(h.fifo(2))
    await driver.close()
    h.driver = None
    driver = await h.start()  # and after a plugin restart, from meta.json
    await h.start_logging(h.fifo(3), opts)
    driver.stop_logging(h.fifo(3))
    with pytest.raises(RequestError, match="splunk-verify-connection"):
        await driver.start_logging(h.fifo(4), {"ContainerID": "e" * 64, "Config": opts})


async def test_reading_a_container_the_budget_evicted_never_asks_the_sink(h: Harness) -> None:
    # Its history is gone with its meta.json; the store remembers the id, across a restart.
    opts = {"splunk-url": "http://hec.test:8088", "splunk-token": "tok-123456"}  # verify on
    driver = await h.start()
    await h.start_logging(h.fifo(1), opts)  # HEC up: the first start checks and passes
    h.write(h.fifo(1), frames(10))
    driver.stop_logging(h.fifo(1))
    driver.store.logs[CID].sinks = ()  # (as if delivered: evictable first)
    driver.store.disk_budget = 1
    driver.store.evict()
    assert CID not in driver.store.logs and driver.store.was_evicted(CID)
    await driver.close()
    h.driver = None
    h.receiver.answer = lambda r: httpx.Response(503, json={"text": "down", "code": 9})
    driver = await h.start()
    await h.start_logging(h.fifo(2), opts)  # `docker logs`: no check, no error
    driver.stop_logging(h.fifo(2))


async def test_sink_outage_never_slows_the_fifo_reader(h: Harness) -> None:
    h.receiver.answer = lambda r: httpx.Response(503, headers={"Retry-After": "30"})
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(5000))
    await until(lambda: sum(s.count for s in driver.store.logs[CID].segments) == 5000)
    assert h.receiver.lines == []


async def test_restart_resumes_from_the_cursor_with_no_gap(h: Harness) -> None:
    stop = {"down": False}
    h.receiver.answer = lambda r: httpx.Response(503) if stop["down"] else None
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(100))
    await until(lambda: len(h.receiver.lines) >= 100)
    stop["down"] = True
    h.write(path, frames(100, start=100))
    await asyncio.sleep(0.3)
    await driver.close()  # the sink is down: these 100 wait in the store
    h.driver = None
    stop["down"] = False
    h.write(path, frames(100, start=200))  # written while the plugin was away
    await h.start()
    await until(lambda: len(h.receiver.lines) >= 300)
    got = h.receiver.lines
    assert got[:100] == [f"line {i:06d}" for i in range(100)]
    assert sorted(set(got)) == [f"line {i:06d}" for i in range(300)]
    assert len(got) - 300 <= 100  # at most one batch again


async def test_partial_pieces_are_joined_into_one_event(h: Harness) -> None:
    await h.start()
    path = h.fifo()
    await h.start_logging(path)
    pieces = [Entry("stdout", T0, b"a" * 16384, True, "p1", 1, False),
              Entry("stdout", T0, b"b" * 16384, True, "p1", 2, False),
              Entry("stdout", T0, b"c" * 10, True, "p1", 3, True)]
    h.write(path, b"".join(encode_entry(p) for p in pieces) + frames(1, start=1))
    await until(lambda: len(h.receiver.lines) >= 2)
    assert h.receiver.lines == ["a" * 16384 + "b" * 16384 + "c" * 10, "line 000001"]


async def test_a_line_over_partial_max_size_is_cut_not_lost(h: Harness) -> None:
    await h.start()
    path = h.fifo()
    await h.start_logging(path, OPTS | {"partial-max-size": "16384"})
    pieces = [Entry("stdout", T0, b"a" * 16384, True, "p1", 1, False),
              Entry("stdout", T0, b"b" * 100, True, "p1", 2, True)]
    h.write(path, b"".join(encode_entry(p) for p in pieces))
    await until(lambda: len(h.receiver.lines) >= 2)
    assert h.receiver.lines == ["a" * 16384, "b" * 100]


async def test_bad_sink_options_fail_the_start_naming_the_option(h: Harness) -> None:
    from logdriver.driver import RequestError

    await h.start()
    with pytest.raises(RequestError, match="http-format"):
        await h.start_logging(h.fifo(), {"http-url": "http://x.test/", "http-format": "xml"})
    with pytest.raises(RequestError, match="http-url"):
        await h.start_logging(h.fifo(2), {"http-url": "not a url"})
    with pytest.raises(RequestError, match="batch-wait"):
        await h.start_logging(h.fifo(3), OPTS | {"batch-wait": "soon"})
    with pytest.raises(RequestError, match="did you mean 'http-url'"):
        await h.start_logging(h.fifo(4), {"http-ulr": "http://x.test/"})


async def test_partial_line_interleaved_with_other_stream_stays_whole(h: Harness) -> None:
    await h.start()
    path = h.fifo()
    await h.start_logging(path)
    data = (encode_entry(Entry("stdout", T0, b"a" * 16384, True, "p1", 1, False))
            + encode_entry(Entry("stderr", T0 + 1, b"err line"))
            + encode_entry(Entry("stdout", T0, b"b" * 5, True, "p1", 2, True)))
    h.write(path, data)
    await until(lambda: len(h.receiver.lines) >= 2)
    assert sorted(h.receiver.lines) == sorted(["a" * 16384 + "bbbbb", "err line"])


async def test_multiline_pattern_joins_continuation_lines(h: Harness) -> None:
    await h.start()
    path = h.fifo()
    await h.start_logging(path, OPTS | {"multiline-pattern": "^[0-9]{4}-",
                                        "multiline-timeout": "200ms"})
    lines = [b"2024-01-01 boom", b"Traceback:", b"  at x", b"2024-01-01 next", b"  tail"]
    h.write(path, b"".join(encode_entry(Entry("stdout", T0 + i, ln))
                           for i, ln in enumerate(lines)))
    await until(lambda: len(h.receiver.lines) >= 2)  # the last event flushes on the timeout
    assert h.receiver.lines == ["2024-01-01 boom\nTraceback:\n  at x", "2024-01-01 next\n  tail"]


Arrivals = list[tuple[float, dict[str, str]]]


async def stream_multiline(h: Harness, pattern: str, lines: list[bytes], every: float,
                           timeout: float) -> tuple[list[tuple[int, bytes]], Arrivals]:
    """Writes ``lines`` one every ``every`` s (stamped with the wall clock, as Docker does) to a
    container with ``multiline-pattern``; returns what was written and, per event the sink got,
    (wall time it arrived, the event)."""
    got: Arrivals = []

    def record(req: httpx.Request) -> httpx.Response:
        now = time.time()
        got.extend((now, json.loads(raw)) for raw in req.content.splitlines())
        return httpx.Response(200)

    h.receiver.answer = record
    await h.start()
    path = h.fifo()
    await h.start_logging(path, OPTS | {"multiline-pattern": pattern,
                                        "multiline-timeout": f"{timeout}s"})
    written: list[tuple[int, bytes]] = []
    for line in lines:
        t = time.time_ns()
        h.write(path, encode_entry(Entry("stdout", t, line)))
        written.append((t, line))
        await asyncio.sleep(every)
    await until(lambda: sum(e["line"].count("\n") + 1 for _, e in got) >= len(lines))
    return written, got


def check_bounded(written: list[tuple[int, bytes]], got: Arrivals, timeout: float,
                  slack: float) -> None:
    """Every line once, in order; each event spans less than ``timeout`` of its lines' times,
    carries its first line's time, and arrived within ``timeout`` + ``slack`` of that line."""
    assert "\n".join(e["line"] for _, e in got) == "\n".join(ln.decode() for _, ln in written)
    when = {ln.decode(): t for t, ln in written}
    for arrived, event in got:
        parts = event["line"].split("\n")
        first, last = when[parts[0]], when[parts[-1]]
        assert event["time"] == rfc3339nano(first)
        assert last - first < timeout * 1e9, parts
        assert arrived - first / 1e9 <= timeout + slack, (arrived - first / 1e9, parts)
    assert got[0][0] < written[-1][0] / 1e9  # the first event went while lines kept coming


async def test_a_multiline_event_is_sent_within_the_timeout_of_its_first_line(h: Harness) -> None:
    # One "ERROR boom" and a continuation every 50 ms: the timeout counts from the event's first
    # line, so a steady stream is cut into events of at most 0.5 s, each sent when it is due.
    lines = [b"ERROR boom"] + [b"  at frame %d" % i for i in range(1, 50)]
    written, got = await stream_multiline(h, "^ERROR", lines, 0.05, 0.5)
    check_bounded(written, got, 0.5, 0.05 + 0.5)  # batch-wait 50 ms, plus slack
    assert len(got) >= 4


async def test_a_pattern_that_never_matches_still_sends_a_steady_stream(h: Harness) -> None:
    lines = [b"GET /health 200 #%d" % i for i in range(50)]
    written, got = await stream_multiline(h, "^NEVER", lines, 0.05, 0.5)
    check_bounded(written, got, 0.5, 0.05 + 0.5)
    assert len(got) >= 4


async def test_cursor_never_passes_a_pending_event(h: Harness) -> None:
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, encode_entry(Entry("stdout", T0, b"a" * 16384, True, "p1", 1, False))
            + frames(3, source="stderr"))
    await until(lambda: len(h.receiver.lines) >= 3)
    await asyncio.sleep(0.1)
    cursor = json.loads((h.state / "containers" / CID / "cursor-http.json").read_text())
    clog = driver.store.logs[CID]
    assert (cursor["seq"], cursor["off"]) == (clog.segments[0].seq, 0)  # before the stdout piece


async def test_a_dead_sink_never_holds_up_another(h: Harness) -> None:
    def route(req: httpx.Request) -> httpx.Response | None:
        if req.url.host == "dead.test":
            return httpx.Response(503)
        if req.url.path.startswith("/services/collector"):
            h.receiver.lines.extend(
                json.loads(x)["event"]["line"]
                for x in req.content.decode().replace("}{", "}\n{").splitlines())
            return httpx.Response(200, json={"text": "Success", "code": 0})
        return None

    h.receiver.answer = route
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path, {"http-url": "http://dead.test/in", "batch-wait": "50ms",
                                 "splunk-url": "http://hec.test:8088", "splunk-token": "t",
                                 "splunk-verify-connection": "false"})
    h.write(path, frames(500))
    await until(lambda: len(h.receiver.lines) >= 500)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(500)]
    await until(lambda: driver.delivery.retries >= 1)  # the http sink fails on and on meanwhile
    assert ("http", CID) not in {(w.name, w.clog.id) for w in driver.delivery.workers.values()
                                 if w.stats.delivered_events}


async def test_connection_check_never_holds_a_start_past_its_bound(h: Harness) -> None:
    from logdriver.driver import VERIFY_SECONDS, RequestError

    async def hang(req: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        return httpx.Response(200)

    h.receiver.handle = hang  # type: ignore[method-assign]
    await h.start()
    t0 = asyncio.get_running_loop().time()
    with pytest.raises(RequestError, match="connection check"):
        await h.start_logging(h.fifo(), {"splunk-url": "http://hec.test:8088",
                                         "splunk-token": "t"})
    assert asyncio.get_running_loop().time() - t0 < VERIFY_SECONDS + 1


async def test_status_and_metrics_show_delivery(h: Harness) -> None:
    from logdriver import observe

    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(1000))
    await until(lambda: len(h.receiver.lines) >= 1000)
    await until(lambda: observe.status(driver)["containers"][0]["sinks"][0]["backlog_events"] == 0)
    doc = observe.status(driver)
    (row,) = doc["containers"]
    assert (row["id"], row["name"], row["running"], row["received_lines"]) == (CID, "web", True,
                                                                                 1000)
    (sink,) = row["sinks"]
    assert sink["sink"] == "http" and sink["state"] == "ok" and sink["delivered_events"] == 1000
    assert sink["requests"] == {"200": h.receiver.requests}
    assert doc["warnings"] == []
    text = observe.metrics_text(driver).decode()
    assert f'logdriver_received_lines_total{{container="{CID}"}} 1000.0' in text
    assert f'logdriver_sink_delivered_events_total{{container="{CID}",sink="http"}} 1000.0' in text
    assert f'logdriver_sink_backlog_events{{container="{CID}",sink="http"}} 0.0' in text
    assert ('logdriver_sink_request_duration_seconds_count{sink="http"} '
            f"{float(h.receiver.requests)}") in text


async def test_status_names_a_failing_sink_and_its_backlog_without_secrets(h: Harness) -> None:
    from logdriver import observe

    h.receiver.answer = lambda r: httpx.Response(503)
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path, {"splunk-url": "http://hec.test:8088", "splunk-token": "s3cr3t-tok",
                                 "splunk-verify-connection": "false", "batch-wait": "50ms"})
    h.write(path, frames(300))
    await until(lambda: driver.delivery.retries >= 1)
    doc = observe.status(driver)
    (sink,) = doc["containers"][0]["sinks"]
    assert sink["state"] == "failing" and "503" in sink["last_error"]
    assert sink["backlog_events"] == 300 and sink["oldest_undelivered_seconds"] >= 0
    assert doc["warnings"] and f"web ({CID[:12]}) -> splunk: failing" in doc["warnings"][0]
    text = observe.metrics_text(driver).decode()
    assert f'logdriver_sink_requests_total{{container="{CID}",sink="splunk",status="503"}}' in text
    assert "s3cr3t" not in json.dumps(doc) and "s3cr3t" not in text


async def test_every_metric_the_dashboard_uses_is_served(h: Harness) -> None:
    from logdriver import observe

    from ..test_docs import dashboard_metrics

    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(10))
    await until(lambda: len(h.receiver.lines) >= 10)
    text = observe.metrics_text(driver).decode()
    served = set(re.findall(r"^(logdriver_[a-z_]+)", text, re.M))
    assert dashboard_metrics() <= served, dashboard_metrics() - served


async def test_a_cursor_that_cannot_be_saved_for_a_full_disk_does_not_stop_delivery(
    h: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    await h.start()
    path = h.fifo()
    await h.start_logging(path)  # the first cursor is saved at attach
    monkeypatch.setattr(cursor_module, "pwrite", full)
    h.write(path, frames(500))
    await until(lambda: len(h.receiver.lines) >= 500)
    await asyncio.sleep(0.2)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(500)]
    assert "cannot save the delivery cursor" in caplog.text


async def test_lines_read_after_stop_logging_are_delivered_too(h: Harness) -> None:
    # The daemon may still write between StopLogging and closing the FIFO; the plugin stores
    # that, after delivery was told the container stopped and its worker ended at the old end.
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(100))
    driver.stop_logging(path)
    await until(lambda: len(h.receiver.lines) >= 100 and not driver.delivery.workers)
    h.write(path, frames(50, start=100))  # before the reader's EOF wait (0.2 s) ends
    await until(lambda: len(h.receiver.lines) >= 150)
    await asyncio.sleep(0.2)  # anything sent twice would arrive now
    assert h.receiver.lines == [f"line {i:06d}" for i in range(150)]
    assert sum(s.count for s in driver.store.logs[CID].segments) == 150
