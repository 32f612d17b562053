"""A plugin killed with SIGKILL and restarted with the same name and state dir re-opens the FIFOs of
running containers and loses no line; the history of finished containers survives it too."""

from __future__ import annotations

import re
import time

from . import corpus
from .helpers import Docker, PluginProcess, assert_bytes_equal, describe_difference

BURSTS = 20
BURST_LINES = 10_000
FAST_LINES = BURSTS * BURST_LINES
SLOW_LINES = 5
WAIT_SECONDS = 120


def _load_script() -> str:
    """200,000 numbered lines in 20 bursts (awk, as fast as it goes) with 0.3 s pauses, then a few
    slow lines: at least 6 s of running, whatever the machine."""
    return (
        "set -e\n"
        f"b=0; while [ $b -lt {BURSTS} ]; do\n"
        f"  awk -v b=$b 'BEGIN {{ for (i = b * {BURST_LINES} + 1; "
        f"i <= (b + 1) * {BURST_LINES}; i++) "
        'printf "fast %06d\\n", i }\'\n'
        "  b=$((b + 1)); sleep 0.3\n"
        "done\n"
        f"for i in $(seq 1 {SLOW_LINES}); do\n"
        '  echo "slow $i"; echo "slow $i on stderr" >&2; sleep 0.2\n'
        "done\n"
    )


def _expected_stdout() -> bytes:
    return b"".join(b"fast %06d\n" % i for i in range(1, FAST_LINES + 1)) + b"".join(
        b"slow %d\n" % i for i in range(1, SLOW_LINES + 1)
    )


def _explain_numbered(out: bytes) -> str:
    """What is wrong with the numbered lines: missing, repeated, out of order, mangled."""
    numbers = [int(m) for m in re.findall(rb"^fast (\d{6})$", out, flags=re.M)]
    others = [ln for ln in out.split(b"\n") if ln and not re.fullmatch(rb"fast \d{6}|slow \d", ln)]
    seen: dict[int, int] = {}
    for n in numbers:
        seen[n] = seen.get(n, 0) + 1
    missing = [n for n in range(1, FAST_LINES + 1) if n not in seen]
    repeated = [n for n, c in seen.items() if c > 1]
    disorder = next((i for i in range(1, len(numbers)) if numbers[i] <= numbers[i - 1]), None)
    parts = [
        f"{len(numbers)} numbered lines of {FAST_LINES}",
        f"{len(missing)} missing (first: {missing[:10]})",
        f"{len(repeated)} repeated (first: {sorted(repeated)[:10]})",
    ]
    if disorder is not None:
        parts.append(
            f"out of order at line {disorder}: {numbers[disorder - 1]} then {numbers[disorder]}"
        )
    if others:
        parts.append(f"{len(others)} unexpected lines, first: {others[:3]!r}")
    return "; ".join(parts)


def test_kill_9_and_restart_during_a_run_loses_no_line(
    docker: Docker, plugin: PluginProcess
) -> None:
    name = docker.run_container(plugin.name, _load_script())
    started = time.monotonic()
    time.sleep(1.0)
    for kill in (1, 2):
        assert docker.is_running(name), (
            f"the container finished before kill #{kill} ({time.monotonic() - started:.1f} s): "
            "the load is too short to prove anything"
        )
        plugin.kill9()
        time.sleep(1.0)  # the container blocks once the pipe is full: expected
        plugin.start()
        time.sleep(1.5)
    try:
        code = docker.wait(name, timeout=WAIT_SECONDS)
    except AssertionError:
        last = docker.logs(name, "--tail", "1", timeout=60)[0]
        raise AssertionError(
            f"the load container is still running {WAIT_SECONDS} s after the last restart (it "
            "takes "
            f"~7 s when all is well): is its log pipe read again? Last line logged: {last!r}"
        ) from None
    assert code == 0, f"the load container exited {code}"
    out, err = docker.logs(name, timeout=180)
    expected = _expected_stdout()
    if out != expected:
        raise AssertionError(
            f"docker logs after two kill -9 + restarts: {_explain_numbered(out)}\n"
            + describe_difference(out, expected)
        )
    assert_bytes_equal(
        err,
        b"".join(b"slow %d on stderr\n" % i for i in range(1, SLOW_LINES + 1)),
        "docker logs after two kill -9 + restarts, stderr",
    )


HISTORY = [
    corpus.Text("stdout", b"written before the crash\n"),
    corpus.Text("stderr", b"stderr before the crash\n"),
    corpus.Sleep(0.3),  # so that the last entries are stdout's, whatever the copiers' timing
    corpus.Seq("stdout", "history %04d", 1, 2000),
]


def test_history_of_a_finished_container_survives_kill_9(
    docker: Docker, plugin: PluginProcess
) -> None:
    expected = corpus.expected(HISTORY)
    name = docker.run_container(plugin.name, corpus.script(HISTORY))
    assert docker.wait(name) == 0
    before = docker.logs(name)
    assert_bytes_equal(before[0], expected.stdout, "docker logs before the restart, stdout")
    plugin.restart()
    after = docker.logs(name)
    assert_bytes_equal(after[0], expected.stdout, "docker logs after kill -9 + restart, stdout")
    assert_bytes_equal(after[1], expected.stderr, "docker logs after kill -9 + restart, stderr")
    assert_bytes_equal(
        docker.logs(name, "--tail", "2")[0],
        b"history 1999\nhistory 2000\n",
        "docker logs --tail 2 after kill -9 + restart",
    )


def test_container_started_after_a_restart_logs_normally(
    docker: Docker, plugin: PluginProcess
) -> None:
    plugin.restart()
    expected = corpus.expected(HISTORY)
    name = docker.run_container(plugin.name, corpus.script(HISTORY))
    assert docker.wait(name) == 0
    out, err = docker.logs(name)
    assert_bytes_equal(
        out, expected.stdout, "docker logs of a container started after a restart, stdout"
    )
    assert_bytes_equal(
        err, expected.stderr, "docker logs of a container started after a restart, stderr"
    )
