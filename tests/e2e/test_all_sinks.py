"""One container's fixed corpus (long lines, invalid UTF-8, non-ASCII, 10,000 numbered lines) to
all five sinks at once: Splunk HEC, Datadog, HTTP, Loki and OTLP, each through its loopback fake.

Every sink gets every line once, in order per stream, in its own envelope; where a sink carries
bytes (Loki's protobuf, OTLP's bytes body) they are the bytes the container wrote, as Docker's own
`local` driver gives them back.
"""

from __future__ import annotations

import re
import socket
import time

from tests.fakes import FakeDatadog, FakeHec, FakeHttp, FakeLoki
from tests.fakes.otlp import FakeOtlp

from .corpus import script
from .helpers import Docker
from .test_delivery import API_KEY, CORPUS, DELIVERY_TIMEOUT, TOKEN, hec_opts, lines_of
from .test_loki import by_stream, loki_lines
from .test_otlp import lines_by_stream, written_by


def test_corpus_reaches_all_five_sinks_once_in_order_with_envelopes(
    docker: Docker, ours: str
) -> None:
    written = written_by(docker, script(CORPUS))  # Docker's `local`, as bytes per stream
    with FakeHec(TOKEN) as hec, FakeDatadog(API_KEY) as dd, FakeHttp() as web, FakeLoki() as loki, \
            FakeOtlp() as otlp:
        opts = {
            **hec_opts(hec),
            "datadog-api-key": API_KEY, "datadog-url": dd.url, "datadog-service": "shop",
            "http-url": web.url + "/ingest", "http-format": "ndjson",
            "loki-url": loki.push_url, "loki-batch-wait": "200ms",
            "otlp-endpoint": otlp.url,
            "tag": "{{.Name}}/{{.ImageName}}", "labels": "team", "env": "STAGE",
        }
        name = docker.run_container(ours, script(CORPUS), opts,
                                    extra=["--label", "team=core", "-e", "STAGE=prod"])
        assert docker.wait(name) == 0
        cid = docker.inspect(name)["Id"]
        want = {s: lines_of(CORPUS, s) for s in ("stdout", "stderr")}
        total = len(want["stdout"]) + len(want["stderr"])
        loki_want = {s: loki_lines(CORPUS, s) for s in ("stdout", "stderr")}
        tag = f"{name}/{docker.image}"

        hec.wait_for(lambda: len(hec.events) >= total, DELIVERY_TIMEOUT, what="HEC events")
        dd.wait_for(lambda: len(dd.items) >= total, DELIVERY_TIMEOUT, what="Datadog items")
        web.wait_for(lambda: len(web.items) >= total, DELIVERY_TIMEOUT, what="HTTP items")
        loki.wait_for(lambda: len(loki.entries) >= sum(map(len, loki_want.values())),
                      DELIVERY_TIMEOUT, what="Loki entries")
        otlp.wait_for(lambda: len(otlp.items) >= total, DELIVERY_TIMEOUT, what="OTLP records")
        time.sleep(1)  # anything extra (a duplicate) would arrive now

        hec_events = hec.events
        for stream in ("stdout", "stderr"):
            got = [e["event"]["line"] for e in hec_events if e["event"]["source"] == stream]
            assert got == want[stream], f"HEC {stream}"
        assert len(hec_events) == total
        first = hec_events[0]
        assert first["event"]["tag"] == tag
        assert first["event"]["attrs"] == {"team": "core", "STAGE": "prod"}
        assert re.fullmatch(r"\d{10}\.\d{6}", first["time"])
        assert first["host"]

        items = dd.items
        assert len(items) == total
        for stream, status in (("stdout", "info"), ("stderr", "error")):
            got = [i["message"] for i in items if i["status"] == status]
            assert got == want[stream], f"Datadog {stream}"
        tags = items[0]["ddtags"].split(",")
        assert f"container_name:{name}" in tags and f"container_id:{cid}" in tags
        assert items[0]["service"] == "shop"

        objs = web.items
        assert len(objs) == total
        for stream in ("stdout", "stderr"):
            got = [o["line"] for o in objs if o["source"] == stream]
            assert got == want[stream], f"HTTP {stream}"
        assert objs[0]["tag"] == tag and objs[0]["container_id"] == cid

        assert len(loki.entries) == sum(map(len, loki_want.values()))
        streams = by_stream(loki)
        for stream in ("stdout", "stderr"):
            entries = streams[stream]
            assert [e["line"] for e in entries] == loki_want[stream], f"Loki {stream}"
            # Loki's driver skips blank lines; the rest are the bytes Docker's local gives back
            assert [e["line"] for e in entries] == [x for x in written[stream] if x.strip()]
            assert [e["ts"] for e in entries] == sorted(e["ts"] for e in entries)
            labels = entries[0]["labels"]
            assert labels["container_name"] == name and labels["source"] == stream
            assert labels["host"] == socket.gethostname() and labels["team"] == "core"
            assert labels["STAGE"] == "prod" and labels["tag"] == tag

        records = otlp.items
        assert len(records) == total
        assert lines_by_stream(records) == written, "OTLP bodies"
        resource = records[0]["resource"]
        assert resource["container.id"] == cid and resource["container.name"] == name
        assert resource["docker.log.tag"] == tag and resource["team"] == "core"
        docker.remove(name)
