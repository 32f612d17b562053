"""`docker logs` through the plugin is byte-identical to Docker's own `local` driver, and both print
exactly what the container wrote, on every engine the suite runs on (LOGDRIVER_E2E_ENGINE).

One corpus (corpus.MAIN: both streams, empty lines, lines of 16 KiB and more that Docker cuts into
partial entries followed by more lines, invalid UTF-8, CR LF, NUL, non-ASCII, 12,000 numbered
lines, a 2 s gap) runs once under `--log-driver local` and once under the plugin; every query is
asked of both. One engine's `local` is wrong: Docker 20.10's glues the line after a line of 16 KiB
or more onto it (corpus.DOCKER_20_10_LOCAL_GLUES). There the plugin must still print what the
container wrote, and `local` must differ from it by exactly that defect and nothing else.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

import pytest

from . import corpus
from .daemon import Daemon
from .helpers import (
    Docker,
    PluginProcess,
    assert_bytes_equal,
    format_ts,
    parse_ts,
    read_stream_with_times,
    split_timestamps,
)

EXPECTED = corpus.expected(corpus.MAIN)
EXPECTED_20_10_LOCAL = corpus.expected(corpus.MAIN, docker_20_10_local=True)
STREAMS = ("stdout", "stderr")
WHY = corpus.DOCKER_20_10_LOCAL_GLUES


@dataclass
class Run:
    """One finished container that ran the main corpus."""

    docker: Docker
    driver: str
    name: str
    started_ns: int
    finished_ns: int
    gap_mid: str  # RFC 3339 time in the middle of the corpus' 2 s gap, from its own entries

    def logs(self, *flags: str) -> dict[str, bytes]:
        out, err = self.docker.logs(self.name, *flags)
        return {"stdout": out, "stderr": err}


def _run_corpus(docker: Docker, driver: str) -> Run:
    name = docker.run_container(driver, corpus.script(corpus.MAIN))
    code = docker.wait(name, timeout=180)
    assert code == 0, f"corpus container under {driver} exited {code}: {docker.logs(name)}"
    state = docker.inspect(name)["State"]
    out, err = docker.logs(name, "-t")
    times = sorted(split_timestamps(out)[1] + split_timestamps(err)[1])
    assert times, f"no timestamps in `docker logs -t` under {driver}"
    gaps = [(b - a, a, b) for a, b in zip(times, times[1:], strict=False)]
    width, lo, hi = max(gaps)
    assert width >= 1.5e9, (
        f"under {driver}, the largest pause between entries is {width / 1e9:.3f} s, "
        "not the corpus' 2 s gap"
    )
    return Run(
        docker,
        driver,
        name,
        parse_ts(state["StartedAt"]),
        parse_ts(state["FinishedAt"]),
        format_ts(lo + (hi - lo) // 2),
    )


@pytest.fixture(scope="module")
def local_run(docker: Docker) -> Run:
    return _run_corpus(docker, "local")


@pytest.fixture(scope="module")
def plugin_run(docker: Docker, plugin_session: PluginProcess) -> Run:
    return _run_corpus(docker, plugin_session.name)


@pytest.fixture
def ours_run(plugin_run: Run, plugin: PluginProcess) -> Run:
    """plugin_run, with the check that the plugin stays alive through the test."""
    return plugin_run


@pytest.fixture(scope="module")
def glues(dockerd: Daemon) -> bool:
    """Whether this engine's `local` driver glues the line after a long line onto it: Docker 20.10
    (see corpus.DOCKER_20_10_LOCAL_GLUES), judged by the version the daemon reports."""
    return dockerd.versions.get("dockerd", "").startswith("20.10.")


def _assert_streams_equal(actual: dict[str, bytes], expected: dict[str, bytes], what: str) -> None:
    for stream in STREAMS:
        assert_bytes_equal(actual[stream], expected[stream], f"{what}, {stream}")


def _assert_like_local(
    ours: dict[str, bytes],
    local: dict[str, bytes],
    glues: bool,
    written: dict[str, bytes],
    written_20_10: dict[str, bytes],
    what: str,
) -> None:
    """The plugin's output equals `local`'s. On Docker 20.10, whose `local` glues the line after a
    long line onto it, the plugin's equals what the container wrote (``written``) instead, and
    `local`'s equals that with 20.10's defect (``written_20_10``): so every other byte of `local`
    is still checked."""
    if not glues:
        _assert_streams_equal(ours, local, f"{what}: plugin vs local")
        return
    _assert_streams_equal(
        ours, written, f"{what}: plugin vs what the container wrote (Docker 20.10: {WHY})")
    _assert_streams_equal(
        local, written_20_10,
        f"{what}: Docker 20.10's local vs what the container wrote, with 20.10's known defect")


def _whole(exp: corpus.Expected) -> dict[str, bytes]:
    return {"stdout": exp.stdout, "stderr": exp.stderr}


NOTHING = {"stdout": b"", "stderr": b""}


# -- ground truth -------------------------------------------------------------------------------
def test_local_driver_prints_the_corpus(local_run: Run, glues: bool) -> None:
    """The harness itself: busybox wrote what corpus.py says, and Docker's `local` driver gives it
    back (on Docker 20.10, with its known defect after long lines)."""
    _assert_streams_equal(
        local_run.logs(),
        _whole(EXPECTED_20_10_LOCAL if glues else EXPECTED),
        "docker logs (local driver) vs the corpus"
        + (f" as Docker 20.10's local prints it ({WHY})" if glues else ""),
    )


def test_plugin_prints_the_corpus(ours_run: Run) -> None:
    _assert_streams_equal(
        ours_run.logs(),
        {"stdout": EXPECTED.stdout, "stderr": EXPECTED.stderr},
        "docker logs (plugin) vs the corpus",
    )


def test_logs_match_local_driver(local_run: Run, ours_run: Run, glues: bool) -> None:
    _assert_like_local(ours_run.logs(), local_run.logs(), glues, _whole(EXPECTED),
                       _whole(EXPECTED_20_10_LOCAL), "docker logs")


def test_a_line_after_a_long_line_is_a_line_of_its_own(
    docker: Docker, ours: str, glues: bool
) -> None:
    """Issue #13's case: 16384 x b, `short`, 20000 x c, `end` are 4 lines under the plugin, as
    under 26.1 and 28.5's `local` (Docker 20.10's `local` glues them into 2)."""
    steps: list[corpus.Step] = [
        corpus.Long("stdout", 16384, "b"), corpus.Text("stdout", b"short\n"),
        corpus.Long("stdout", 20_000, "c"), corpus.Text("stdout", b"end\n"),
    ]
    outs = {}
    for driver in ("local", ours):
        name = docker.run_container(driver, corpus.script(steps))
        assert docker.wait(name) == 0
        outs[driver] = docker.logs(name)[0]
    lengths = {d: [len(line) for line in out.split(b"\n")] for d, out in outs.items()}
    assert lengths[ours] == [16384, 5, 20000, 3, 0], f"line lengths: {lengths}"
    if glues:
        assert lengths["local"] == [16389, 20003, 0], f"Docker 20.10 ({WHY}): {lengths}"
    else:
        assert_bytes_equal(outs[ours], outs["local"], "4 lines after long lines: plugin vs local")


# -- --tail -------------------------------------------------------------------------------------
# The stdout entries at the end of the corpus, as `docker logs` prints them: the settled lines, the
# 40,000-byte line as the pieces of 16 KiB Docker stored (its newline after the last one; not on
# Docker 20.10's `local`, see corpus.DOCKER_20_10_LOCAL_GLUES), the tail lines.
def _tail_entries(docker_20_10_local: bool) -> list[bytes]:
    long = corpus.Long("stdout", 40_000).output(docker_20_10_local)
    return [
        *corpus.Seq("stdout", "settled %02d", 1, corpus.SETTLED_LINES)
        .output()
        .splitlines(keepends=True),
        *[long[i : i + corpus.SPLIT_AT] for i in range(0, len(long), corpus.SPLIT_AT)],
        *corpus.Seq("stdout", "tail %03d", 1, corpus.TAIL_LINES).output().splitlines(keepends=True),
    ]


TAIL_ENTRIES = _tail_entries(False)  # the last piece of the long line ends with its newline
TAIL_ENTRIES_20_10_LOCAL = _tail_entries(True)


def _tail_written(tail: str, docker_20_10_local: bool = False) -> dict[str, bytes]:
    """What `docker logs --tail TAIL` prints of the corpus, by the container's output."""
    if tail == "all":
        return _whole(EXPECTED_20_10_LOCAL if docker_20_10_local else EXPECTED)
    entries = TAIL_ENTRIES_20_10_LOCAL if docker_20_10_local else TAIL_ENTRIES
    n = int(tail)
    return {"stdout": b"".join(entries[len(entries) - n :]) if n else b"", "stderr": b""}


@pytest.mark.parametrize("tail", ["0", "1", "5", "100", "all"])
def test_tail_matches_local_driver(local_run: Run, ours_run: Run, glues: bool, tail: str) -> None:
    _assert_like_local(ours_run.logs("--tail", tail), local_run.logs("--tail", tail), glues,
                       _tail_written(tail), _tail_written(tail, True), f"docker logs --tail {tail}")


@pytest.mark.parametrize("tail", ["101", "102", "103", "104", "110"])
def test_tail_into_a_split_long_line_matches_local_driver(
    local_run: Run, ours_run: Run, glues: bool, tail: str
) -> None:
    """--tail reaching back into a 40,000-byte line, which Docker stored as three partial entries
    (Docker's --tail counts entries, so --tail 101 starts with the line's last 7,232 bytes and its
    newline)."""
    _assert_like_local(ours_run.logs("--tail", tail), local_run.logs("--tail", tail), glues,
                       _tail_written(tail), _tail_written(tail, True), f"docker logs --tail {tail}")


@pytest.mark.parametrize("driver", ["local", "plugin"])
@pytest.mark.parametrize("tail", [0, 1, 5, 100, 101, 103, 110])
def test_tail_prints_the_last_entries(
    request: pytest.FixtureRequest, glues: bool, driver: str, tail: int
) -> None:
    run: Run = request.getfixturevalue("local_run" if driver == "local" else "ours_run")
    as_20_10 = glues and driver == "local"
    _assert_streams_equal(
        run.logs("--tail", str(tail)),
        _tail_written(str(tail), as_20_10),
        f"docker logs --tail {tail} ({driver}) vs the corpus"
        + (f" as Docker 20.10's local prints it ({WHY})" if as_20_10 else ""),
    )


def test_tail_all_is_the_whole_log(ours_run: Run) -> None:
    _assert_streams_equal(
        ours_run.logs("--tail", "all"),
        {"stdout": EXPECTED.stdout, "stderr": EXPECTED.stderr},
        "docker logs --tail all (plugin) vs the corpus",
    )


# -- --since / --until --------------------------------------------------------------------------
@pytest.mark.parametrize("driver", ["local", "plugin"])
def test_since_selects_the_lines_after_the_gap(
    request: pytest.FixtureRequest, glues: bool, driver: str
) -> None:
    run: Run = request.getfixturevalue("local_run" if driver == "local" else "ours_run")
    as_20_10 = glues and driver == "local"
    _assert_streams_equal(
        run.logs("--since", run.gap_mid),
        (EXPECTED_20_10_LOCAL if as_20_10 else EXPECTED).phases[1],
        f"docker logs --since {run.gap_mid} ({driver}) vs the corpus after its gap",
    )


@pytest.mark.parametrize("driver", ["local", "plugin"])
def test_until_selects_the_lines_before_the_gap(
    request: pytest.FixtureRequest, glues: bool, driver: str
) -> None:
    run: Run = request.getfixturevalue("local_run" if driver == "local" else "ours_run")
    as_20_10 = glues and driver == "local"
    _assert_streams_equal(
        run.logs("--until", run.gap_mid),
        (EXPECTED_20_10_LOCAL if as_20_10 else EXPECTED).phases[0],
        f"docker logs --until {run.gap_mid} ({driver}) vs the corpus before its gap"
        + (f" as Docker 20.10's local prints it ({WHY})" if as_20_10 else ""),
    )


def test_since_matches_local_driver(local_run: Run, ours_run: Run, glues: bool) -> None:
    _assert_like_local(
        ours_run.logs("--since", ours_run.gap_mid), local_run.logs("--since", local_run.gap_mid),
        glues, EXPECTED.phases[1], EXPECTED_20_10_LOCAL.phases[1],
        "docker logs --since <middle of the gap>")


def test_until_matches_local_driver(local_run: Run, ours_run: Run, glues: bool) -> None:
    _assert_like_local(
        ours_run.logs("--until", ours_run.gap_mid), local_run.logs("--until", local_run.gap_mid),
        glues, EXPECTED.phases[0], EXPECTED_20_10_LOCAL.phases[0],
        "docker logs --until <middle of the gap>")


def test_since_and_until_bounds_outside_the_run(
    local_run: Run, ours_run: Run, glues: bool
) -> None:
    """--since before the start gives everything; --until before the start and --since after the end
    give nothing."""
    before = format_ts(min(local_run.started_ns, ours_run.started_ns) - 60 * 10**9)
    after = format_ts(max(local_run.finished_ns, ours_run.finished_ns) + 60 * 10**9)
    for flags, everything in ((("--since", before), True), (("--until", before), False),
                              (("--since", after), False), (("--until", after), True)):
        _assert_like_local(
            ours_run.logs(*flags), local_run.logs(*flags), glues,
            _whole(EXPECTED) if everything else NOTHING,
            _whole(EXPECTED_20_10_LOCAL) if everything else NOTHING,
            f"docker logs {' '.join(flags)}",
        )
    _assert_streams_equal(
        ours_run.logs("--since", before),
        {"stdout": EXPECTED.stdout, "stderr": EXPECTED.stderr},
        f"docker logs --since {before} (plugin) vs the corpus",
    )


# -- -t -----------------------------------------------------------------------------------------
def _glued_as_docker_20_10_local(masked: bytes, marker: bytes = b"<TS> ") -> bytes:
    """Whole `docker logs -t` output (timestamps masked as ``marker``) as Docker 20.10's `local`
    prints it: the newline after each line of SPLIT_AT bytes or more (not counting the markers,
    which each piece of a split line carries) left out (corpus.DOCKER_20_10_LOCAL_GLUES)."""
    lines = masked.split(b"\n")
    out = []
    for line in lines[:-1]:
        out.append(line if len(line.replace(marker, b"")) >= corpus.SPLIT_AT else line + b"\n")
    out.append(lines[-1])
    return b"".join(out)


def test_timestamps_match_local_driver(local_run: Run, ours_run: Run, glues: bool) -> None:
    """`docker logs -t`: the same bytes once every "TIME " is replaced by a placeholder (the
    pieces of a long line each carry one, mid-line, in Docker's own output). On Docker 20.10,
    the plugin's output with 20.10's defect applied equals `local`'s (the plugin's own is checked
    against what the container wrote in test_timestamps_strip_to_the_plain_output)."""
    ours, local = ours_run.logs("-t"), local_run.logs("-t")
    for stream in STREAMS:
        _, our_times, our_masked = split_timestamps(ours[stream])
        _, local_times, local_masked = split_timestamps(local[stream])
        assert_bytes_equal(
            _glued_as_docker_20_10_local(our_masked) if glues else our_masked,
            local_masked,
            f"docker logs -t, {stream}, timestamps masked: plugin vs local"
            + (f" (the plugin's with Docker 20.10's defect applied: {WHY})" if glues else ""),
        )
        # The pieces of a long line carry the time of its first piece: where `local` repeats a
        # time, the plugin must too (it keeps the daemon's times, it does not make its own).
        repeats = [i for i in range(1, len(local_times)) if local_times[i] == local_times[i - 1]]
        assert repeats or stream == "stderr" or not local_times, (
            "no repeated time in local's stdout: corpus changed?"
        )
        differ = [i for i in repeats if our_times[i] != our_times[i - 1]]
        assert not differ, (
            f"{stream}: entries {differ[:10]} (pieces of a long line) do not repeat the previous "
            f"entry's time in the plugin's -t output, as they do in local's"
        )


def test_timestamps_strip_to_the_plain_output(local_run: Run, ours_run: Run, glues: bool) -> None:
    for run in (local_run, ours_run):
        stamped = run.logs("-t")
        as_20_10 = glues and run is local_run
        for stream in STREAMS:
            assert_bytes_equal(
                split_timestamps(stamped[stream])[0],
                (EXPECTED_20_10_LOCAL if as_20_10 else EXPECTED).stream(stream),
                f"docker logs -t ({run.driver}), {stream}, timestamps removed, vs the corpus"
                + (f" as Docker 20.10's local prints it ({WHY})" if as_20_10 else ""),
            )


@pytest.mark.parametrize("driver", ["local", "plugin"])
def test_timestamps_are_ordered_and_within_the_container_run(
    request: pytest.FixtureRequest, driver: str
) -> None:
    run: Run = request.getfixturevalue("local_run" if driver == "local" else "ours_run")
    stamped = run.logs("-t")
    for stream in STREAMS:
        data = stamped[stream]
        _, times, masked = split_timestamps(data)
        lines = masked.split(b"\n")
        assert lines[-1] == b"", f"{stream}: -t output does not end with a newline"
        bad = [i for i, line in enumerate(lines[:-1]) if not line.startswith(b"<TS> ")]
        assert not bad, (
            f"{stream}: {len(bad)} lines do not start with a timestamp, "
            f"first: {lines[bad[0]][:200]!r}"
        )
        back = [i for i in range(1, len(times)) if times[i] < times[i - 1]]
        assert not back, (
            f"{stream}: timestamps go backwards {len(back)} times, first at entry {back[0]}: "
            f"{format_ts(times[back[0] - 1])} then {format_ts(times[back[0]])}"
        )
        # Docker takes a line's time when its copier reads it, which can be a hair before it
        # records StartedAt, and, on a loaded machine, after it records FinishedAt (the copier
        # still draining the container's last output): allow 1 s of slack on each side.
        lo, hi = run.started_ns - 10**9, run.finished_ns + 10**9
        outside = [t for t in times if not lo <= t <= hi]
        assert not outside, (
            f"{stream}: {len(outside)} timestamps outside the container's run "
            f"[{format_ts(run.started_ns)}, {format_ts(run.finished_ns)}], "
            f"first: {format_ts(outside[0])}"
        )


# -- SIGKILL restart -----------------------------------------------------------------------------
def test_logs_match_local_driver_after_the_plugin_is_killed(
    local_run: Run, plugin_run: Run, plugin: PluginProcess, glues: bool
) -> None:
    """The plugin killed with SIGKILL and started again answers as before: the whole log, --tail
    into the split long line, --since the gap, -t, each as `local` does."""
    plugin.restart()
    for flags, written, written_20_10 in (
        ((), _whole(EXPECTED), _whole(EXPECTED_20_10_LOCAL)),
        (("--tail", "103"), _tail_written("103"), _tail_written("103", True)),
        (("--since", "<gap>"), EXPECTED.phases[1], EXPECTED_20_10_LOCAL.phases[1]),
    ):
        def ask(run: Run, flags: tuple[str, ...] = flags) -> dict[str, bytes]:
            return run.logs(*(run.gap_mid if f == "<gap>" else f for f in flags))

        _assert_like_local(ask(plugin_run), ask(local_run), glues, written, written_20_10,
                           f"after kill -9 + restart, docker logs {' '.join(flags)}")
    for stream in STREAMS:
        ours = split_timestamps(plugin_run.logs("-t")[stream])[2]
        local = split_timestamps(local_run.logs("-t")[stream])[2]
        assert_bytes_equal(
            _glued_as_docker_20_10_local(ours) if glues else ours, local,
            f"after kill -9 + restart, docker logs -t, {stream}, masked: plugin vs local")


# -- follow -------------------------------------------------------------------------------------
FOLLOW = [
    corpus.Text("stderr", b"follow starts\n"),
    *[
        step
        for i in range(1, 21)
        for step in (corpus.Text("stdout", f"follow line {i:02d}\n".encode()), corpus.Sleep(0.1))
    ],
    corpus.Long("stdout", 20_000),  # two partial entries, then a line after it
    corpus.Text("stdout", b"after the long line\n"),
    corpus.Text("stderr", b"follow ends\n"),
]


@pytest.mark.parametrize("driver", ["local", "plugin"])
def test_follow_ends_when_the_container_exits(
    request: pytest.FixtureRequest, docker: Docker, glues: bool, driver: str
) -> None:
    """`docker logs -f` started on a running container streams its lines as they come and ends by
    itself soon after the container exits, with exactly the container's output (Docker 20.10's
    `local`: with its defect after a long line)."""
    log_driver = "local" if driver == "local" else request.getfixturevalue("plugin").name
    expected = corpus.expected(FOLLOW, docker_20_10_local=glues and driver == "local")
    name = docker.run_container(log_driver, "sleep 0.5\n" + corpus.script(FOLLOW))
    proc = docker.popen("logs", "-f", name)
    chunks: list[tuple[float, bytes]] = []
    err_chunks: list[tuple[float, bytes]] = []
    readers = [
        read_stream_with_times(proc.stdout, chunks),
        read_stream_with_times(proc.stderr, err_chunks),
    ]
    try:
        assert docker.wait(name, timeout=60) == 0
        exited = time.monotonic()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"`docker logs -f` ({driver}) still running 10 s after the container exited; "
                f"it had printed {sum(len(c) for _, c in chunks)} bytes"
            )
        ended = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for reader in readers:
            reader.join(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    out = b"".join(c for _, c in chunks)
    err = b"".join(c for _, c in err_chunks)
    assert proc.returncode == 0, f"`docker logs -f` exited {proc.returncode}: {err!r}"
    assert_bytes_equal(out, expected.stdout, f"docker logs -f ({driver}), stdout")
    assert_bytes_equal(err, expected.stderr, f"docker logs -f ({driver}), stderr")
    assert chunks and chunks[0][0] < exited - 0.5, (
        f"`docker logs -f` ({driver}) printed nothing until the container exited: "
        "it does not stream"
    )
    assert ended - exited < 10


# -- stopped containers -------------------------------------------------------------------------
SMALL = [
    corpus.Text("stdout", b"one\n"),
    corpus.Text("stderr", b"two\n"),
    corpus.Seq("stdout", "line %d", 1, 50),
    corpus.Text("stdout", "ünïcode\n".encode()),
]


def test_logs_of_a_stopped_container_do_not_change_when_read_again(
    docker: Docker, ours: str
) -> None:
    expected = corpus.expected(SMALL)
    name = docker.run_container(ours, corpus.script(SMALL))
    assert docker.wait(name) == 0
    first = docker.logs(name)
    assert_bytes_equal(first[0], expected.stdout, "first docker logs, stdout")
    assert_bytes_equal(first[1], expected.stderr, "first docker logs, stderr")
    docker.logs(name, "--tail", "3")
    docker.logs(name, "-t")
    for attempt in (2, 3):
        again = docker.logs(name)
        assert_bytes_equal(again[0], first[0], f"docker logs #{attempt} vs #1, stdout")
        assert_bytes_equal(again[1], first[1], f"docker logs #{attempt} vs #1, stderr")


# -- log options --------------------------------------------------------------------------------
def test_unknown_log_opt_is_rejected_naming_it(docker: Docker, ours: str) -> None:
    cp = docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--log-driver",
        ours,
        "--log-opt",
        "max-sise=1m",
        docker.image,
        "true",
        check=False,
    )
    assert cp.returncode != 0, "docker run accepted the unknown log option max-sise"
    assert b"max-sise" in cp.stderr, f"the error does not name the option: {cp.stderr!r}"


def test_unknown_log_opt_error_suggests_the_close_key(docker: Docker, ours: str) -> None:
    cp = docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--log-driver",
        ours,
        "--log-opt",
        "max-sise=1m",
        docker.image,
        "true",
        check=False,
    )
    assert cp.returncode != 0
    assert b"max-size" in cp.stderr, f"the error does not suggest max-size: {cp.stderr!r}"


DOCKER_OWN_OPTS = {
    "mode": "non-blocking",
    "max-buffer-size": "4m",
    "max-size": "10m",
    "max-file": "3",
    "tag": "x",
    "labels": "a",
    "env": "B",
}


def test_docker_own_log_opts_are_accepted(docker: Docker, ours: str) -> None:
    expected = corpus.expected(SMALL)
    name = docker.run_container(
        ours, corpus.script(SMALL), DOCKER_OWN_OPTS, extra=["--label", "a=1", "-e", "B=2"]
    )
    assert docker.wait(name) == 0
    out, err = docker.logs(name)
    assert_bytes_equal(out, expected.stdout, "docker logs with Docker's own log-opts, stdout")
    assert_bytes_equal(err, expected.stderr, "docker logs with Docker's own log-opts, stderr")


# -- --details ----------------------------------------------------------------------------------
DETAILS_OPTS = {"labels": "a", "env": "B"}
DETAILS_EXTRA = ["--label", "a=1", "-e", "B=2"]


def _details(docker: Docker, driver: str) -> tuple[bytes, bytes]:
    """`docker logs --details` of SMALL from a container with label a=1 and env B=2, logged with
    --log-opt labels=a,env=B (`local` takes neither option: it gets only the container's)."""
    opts = {} if driver == "local" else DETAILS_OPTS
    name = docker.run_container(driver, corpus.script(SMALL), opts, extra=DETAILS_EXTRA)
    assert docker.wait(name) == 0
    return docker.logs(name, "--details")


def test_details_match_local_driver(docker: Docker, ours: str) -> None:
    """`docker logs --details` through the plugin with --log-opt labels/env: what `local` prints,
    on this engine. Before 29.5, `local` keeps no attributes (and takes no labels/env options), and
    dockerd's plugin adapter hands a plugin's entries to `docker logs` without any: both print each
    line after an empty attribute list and a space."""
    local, plugin = _details(docker, "local"), _details(docker, ours)
    expected = corpus.expected(SMALL)
    for i, stream in enumerate(STREAMS):
        assert_bytes_equal(plugin[i], local[i], f"docker logs --details, {stream}: plugin vs local")
        assert_bytes_equal(
            plugin[i],
            b"".join(b" " + line for line in expected.stream(stream).splitlines(keepends=True)),
            f"docker logs --details (plugin), {stream}: each line after an empty attribute list")


def test_details_attributes_come_from_the_engine_not_from_a_plugin(
    docker: Docker, ours: str
) -> None:
    """What a plugin cannot give: `json-file` prints the labels/env attributes (a=1,B=2) before each
    line with --details; through a plugin, dockerd builds the messages it reads back without
    attributes (daemon/logger/adapter.go), so there are none, whatever the plugin stores."""
    json_out = _details(docker, "json-file")[0]
    ours_out = _details(docker, ours)[0]
    assert json_out.startswith(b"B=2,a=1 one\n") or json_out.startswith(b"a=1,B=2 one\n"), (
        f"json-file's --details output does not carry the attributes: {json_out[:200]!r}")
    assert ours_out.startswith(b" one\n"), f"plugin's --details output: {ours_out[:200]!r}"
