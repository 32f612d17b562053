"""Issue #14's faults on a real dockerd: bounded multi-line events, one bad HEC event costing one
event, `docker logs` of a silent stopped container with the sink down, and max-size / max-file
accepted and refused as Docker's own `local` driver does on the same daemon, and `logdriver
status` telling containers of the same name apart.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time

import pytest

from tests.fakes import FakeHec

from .helpers import Docker, PluginProcess, parse_ts, plugin_command, unique_name

TOKEN = "e2e-hec-token-0123"
STREAM_SECONDS = 8.0  # the 40 s, shortened
EVERY = 0.25  # seconds between lines, as in the issue
TIMEOUT = 2.0  # multiline-timeout
BATCH_WAIT = 0.2
SLACK = 1.5  # seconds for dockerd, the plugin, the shipper and the loopback on a busy machine


def stream_script(first: str, rest: str) -> str:
    """``first``, then ``rest N`` every EVERY s for STREAM_SECONDS."""
    n = int(STREAM_SECONDS / EVERY)
    return (f"echo '{first}'; i=1; while [ $i -le {n} ]; do sleep {EVERY}; echo \"{rest} $i\"; "
            "i=$((i+1)); done")


@pytest.mark.parametrize(("pattern", "first", "rest"), [
    ("^ERROR", "ERROR boom", "  at frame"),  # one event start, then continuations only
    ("^NEVER", "GET /health 200 #0", "GET /health 200 #"),  # a pattern that never matches
])
def test_a_multiline_event_is_sent_within_the_timeout_of_its_first_line(
    docker: Docker, ours: str, pattern: str, first: str, rest: str
) -> None:
    with FakeHec(TOKEN) as hec:
        opts = {"splunk-url": hec.url, "splunk-token": TOKEN, "splunk-verify-connection": "false",
                "batch-wait": f"{int(BATCH_WAIT * 1000)}ms", "multiline-pattern": pattern,
                "multiline-timeout": f"{TIMEOUT:g}s"}
        name = docker.run_container(ours, stream_script(first, rest), opts)
        assert docker.wait(name, timeout=60) == 0
        finished = parse_ts(docker.inspect(name)["State"]["FinishedAt"]) / 1e9
        # The lines and their times as Docker stamped them, from the plugin's own store.
        out, _ = docker.logs(name, "-t")
        stamped = [line.split(" ", 1) for line in out.decode().splitlines()]
        when = {text: parse_ts(ts) / 1e9 for ts, text in stamped}
        lines = [text for _, text in stamped]
        assert len(lines) == STREAM_SECONDS / EVERY + 1
        hec.wait_for(lambda: sum(e["event"]["line"].count("\n") + 1 for e in hec.events)
                     >= len(lines), TIMEOUT + 30, what="every line")
        time.sleep(1)
        arrivals = [(r.time, e) for r in hec.requests if r.status == 200 for e in r.items]
    got = "\n".join(e["event"]["line"] for _, e in arrivals)
    assert got == "\n".join(lines)  # every line, once, in order
    late = []
    for arrived, event in arrivals:
        parts = event["event"]["line"].split("\n")
        start = when[parts[0]]
        assert abs(float(event["time"]) - start) < 2e-6, parts[0]  # its first line's time
        assert when[parts[-1]] - start < TIMEOUT, parts  # spans less than the timeout
        if arrived - start > TIMEOUT + BATCH_WAIT + SLACK:
            late.append((round(arrived - start, 2), parts[0]))
    assert not late, f"events sent later than {TIMEOUT + BATCH_WAIT + SLACK} s: {late}"
    assert arrivals[0][0] < finished - 2 * TIMEOUT  # the first went while lines kept coming
    assert len(arrivals) >= STREAM_SECONDS / TIMEOUT
    docker.remove(name)


def _dead_letters(plugin: PluginProcess, cid: str) -> list[str]:
    path = plugin.state_dir / "containers" / cid / "deadletter-splunk.ndjson"
    if not path.exists():
        return []
    events = [json.loads(base64.b64decode(json.loads(x)["event_b64"]))
              for x in path.read_text().splitlines()]
    return [e["event"]["line"] for e in events]


def test_one_bad_hec_event_costs_one_event(
    docker: Docker, ours: str, plugin: PluginProcess
) -> None:
    # HEC indexes a batch up to its first bad event and answers 400/6 naming it. Lines 100 and
    # 200 of 300 are such events (the fake refuses what holds POISON): only they are kept aside.
    bad = {100, 200}
    script = ("i=1; while [ $i -le 300 ]; do case $i in 100|200) echo \"line $i POISON\";; "
              "*) echo \"line $i\";; esac; i=$((i+1)); done")
    want = [f"line {i}" for i in range(1, 301) if i not in bad]
    with FakeHec(TOKEN, refuse_marker="POISON") as hec:
        opts = {"splunk-url": hec.url, "splunk-token": TOKEN, "batch-wait": "1s"}
        name = docker.run_container(ours, script, opts)
        assert docker.wait(name) == 0
        cid = docker.inspect(name)["Id"]
        hec.wait_for(lambda: len(hec.events) >= len(want) and len(_dead_letters(plugin, cid)) == 2,
                     30, what="every good line and two dead letters")
        time.sleep(1.5)  # anything sent twice would arrive now
        assert hec.lines() == want  # each good line indexed exactly once, in order
        assert _dead_letters(plugin, cid) == [f"line {i} POISON" for i in sorted(bad)]
        assert hec.answered(400, 400) == len(bad)
    docker.remove(name)


def test_dockers_splunk_driver_indexes_the_events_before_a_bad_one_again_and_again(
    docker: Docker,
) -> None:
    # What the plugin does better (moby#35862): Docker's driver keeps the refused batch and posts
    # all of it again at its next flush, so HEC indexes the events before the bad one each time.
    # It posts every 5 s (SPLUNK_LOGGING_DRIVER_POST_MESSAGES_FREQUENCY) and, once the
    # container is gone, one last time without keeping what fails: the container outlives two.
    script = "echo first; echo second; echo 'third POISON'; echo fourth; sleep 30"
    with FakeHec(TOKEN, refuse_marker="POISON") as hec:
        name = docker.run_container("splunk", script, {
            "splunk-url": hec.url, "splunk-token": TOKEN, "splunk-format": "raw"})
        hec.wait_for(lambda: hec.answered(400, 400) >= 2, 30, what="a second refused post")
        lines = [line.split(" ", 1)[-1] for line in hec.lines()]  # raw: "<tag> <line>"
    assert lines.count("first") >= 2 and lines.count("second") >= 2  # indexed again
    assert "fourth" not in lines  # and never the event after the bad one
    docker.remove(name)


def test_docker_logs_of_a_silent_stopped_container_never_asks_the_sink(
    docker: Docker, ours: str
) -> None:
    # `docker logs` on a stopped container is a StartLogging: with HEC down, a container that
    # printed nothing must read as empty. Docker's own splunk driver does worse here: it builds
    # its logger again for the read, runs splunk-verify-connection, and fails.
    with FakeHec(TOKEN) as hec:
        opts = {"splunk-url": hec.url, "splunk-token": TOKEN}  # splunk-verify-connection on
        names = {driver: docker.run_container(driver, "true", opts) for driver in (ours, "splunk")}
        for name in names.values():
            assert docker.wait(name) == 0
        hec.stop()
        mine = docker("logs", names[ours], check=False)
        theirs = docker("logs", names["splunk"], check=False)
    assert (mine.returncode, mine.stdout, mine.stderr) == (0, b"", b""), mine
    assert theirs.returncode != 0 and b"connection refused" in theirs.stderr, theirs
    docker.remove(*names.values())


# max-size / max-file values, each tried with Docker's `local` and with the plugin. Docker
# 20.10.24 reads sizes with go-units v0.4, newer Docker with v0.5; the grammars differ on a few
# spellings, and the plugin
# takes a size either accepts. These rows are the only ones where it may accept what this
# daemon's `local` refuses (each is accepted by the other grammar).
V04_ONLY = {"20i", "20ib", "20mi"}
V05_ONLY = {".5m", "1e3", "+7k", "1_000", "-0", "5."}
OTHER_GRAMMAR = V04_ONLY | V05_ONLY
SIZES = ["20m", "20M", "20MB", "20mb", "20MiB", "20 m", "20 ", "1.5k", "100", "20b", "1k", "0",
         "1g",
         *sorted(OTHER_GRAMMAR), "", " 20m", "m", "-1", "-1m", "1x", "20mbb", "1.2.3", "20 mb ",
         "1e400", "9223372036854775808", "lots"]
FILES = [("5", None), ("+3", None), ("003", None), ("2", "true"), ("1", "false"), ("0", "false"),
         ("1", None), ("0", None), ("1", "true"), ("-1", "false"), (" 3", None), ("3.0", None),
         ("1_0", None), ("x", None)]


def _starts(docker: Docker, driver: str, opts: dict[str, str]) -> tuple[bool, str]:
    name = unique_name("units")
    args = ["run", "--network", "none", "--name", name, "--log-driver", driver]
    for key, value in opts.items():
        args += ["--log-opt", f"{key}={value}"]
    cp = docker(*args, docker.image, "true", check=False, timeout=60)
    docker.remove(name)
    return cp.returncode == 0, cp.stderr.decode(errors="replace").strip()[-300:]


def test_max_size_and_max_file_are_taken_and_refused_as_local_does(
    docker: Docker, ours: str
) -> None:
    cases: list[dict[str, str]] = [{"max-size": v} for v in SIZES]
    for files, compress in FILES:
        cases.append({"max-file": files, **({"compress": compress} if compress else {})})
    differ = []
    for opts in cases:
        local, local_err = _starts(docker, "local", opts)
        mine, my_err = _starts(docker, ours, opts)
        if mine and not local and opts.get("max-size") in OTHER_GRAMMAR:
            continue
        if mine != local:
            differ.append((opts, f"local: {local} {local_err!r}", f"ours: {mine} {my_err!r}"))
        elif not mine:
            key = "max-size" if "max-size" in opts else "max-file"
            assert f"'{key}'" in my_err, (opts, my_err)  # the refusal names the log-opt
    assert not differ, "\n".join(map(str, differ))


def test_this_daemons_local_takes_exactly_one_of_the_two_grammars(docker: Docker) -> None:
    # The exemption above hides nothing: of the rows only one grammar takes, this daemon's
    # `local` takes exactly those of one grammar, so the plugin's union is that grammar plus
    # the other's (whose readings tests/unit/test_options.py pins).
    taken = {v for v in sorted(OTHER_GRAMMAR) if _starts(docker, "local", {"max-size": v})[0]}
    assert taken in (V04_ONLY, V05_ONLY), taken
    version = docker("version", "--format", "{{.Server.Version}}").stdout.decode().strip()
    print(f"dockerd {version}: local reads sizes with go-units "
          f"{'v0.4' if taken == V04_ONLY else 'v0.5'}")



def test_status_names_each_container_by_short_id_and_name(docker: Docker, ours: str) -> None:
    # Two containers one after the other under the same name: the rows tell them apart.
    name = unique_name("same")
    ids = []
    for _ in range(2):
        docker.run_container(ours, "echo hi", name=name)
        assert docker.wait(name) == 0
        ids.append(docker.inspect(name)["Id"])
        docker.remove(name)
    out = subprocess.run([*plugin_command(), "status", "--name", ours], env=docker.env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [line.split()[:2] for line in out.stdout.splitlines()[1:] if line.strip()]
    for cid in ids:
        assert [cid[:12], name] in rows, out.stdout
