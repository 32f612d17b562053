"""Many containers logging through the plugin at the same moment: each keeps a complete history,
and each delivers every line to its sink when they all stop together."""

from __future__ import annotations

import collections
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.fakes import FakeHec

from .helpers import Docker, PluginProcess, assert_bytes_equal, unique_name

CONTAINERS = 50
LINES = 1000


def _script(k: int) -> str:
    # Every container waits for /sync/go (a host folder shared by all), so they all write at once.
    return (
        "while [ ! -e /sync/go ]; do sleep 0.05; done\n"
        f"awk 'BEGIN {{ for (i = 1; i <= {LINES}; i++) "
        f'printf "container {k:02d} line %04d\\n", i }}\'\n'
        f"echo 'container {k:02d} done' >&2\n"
    )


def test_fifty_containers_at_once_each_log_completely(
    docker: Docker, plugin: PluginProcess, tmp_path
) -> None:
    sync = tmp_path / "sync"
    sync.mkdir()
    names = [unique_name(f"many{k:02d}") for k in range(CONTAINERS)]

    def start(k: int) -> str:
        return docker.run_container(
            plugin.name, _script(k), name=names[k], extra=["-v", f"{sync}:/sync:ro"], timeout=180
        )

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(start, range(CONTAINERS)))
        (sync / "go").touch()
        codes = docker.wait_all(names, timeout=300)
        assert codes == [0] * CONTAINERS, f"exit codes: {codes}"

        def logs(k: int) -> tuple[bytes, bytes]:
            return docker.logs(names[k])

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(logs, range(CONTAINERS)))
        for k, (out, err) in enumerate(results):
            expected = b"".join(b"container %02d line %04d\n" % (k, i) for i in range(1, LINES + 1))
            assert_bytes_equal(
                out, expected, f"docker logs of container {k} of {CONTAINERS}, stdout"
            )
            assert_bytes_equal(
                err, b"container %02d done\n" % k, f"docker logs of container {k}, stderr"
            )
    finally:
        docker.remove(*names)


GATED = 20  # the bench's scale case at its small size (bench/scale.py): 20 x 5,000
GATED_LINES = 5000
TOKEN = "e2e-many-token"
_LINE = re.compile(r"c(\d\d) (\d{5})")


def test_containers_released_together_deliver_every_line_once(
    docker: Docker, ours: str, tmp_path: Path
) -> None:
    """Every container waits for one file, then all log at once and exit within moments of each
    other: each one's worker sends its whole history as its container stops, and the receiver
    must hold every line of every container once, in order."""
    gate = tmp_path / "gate"
    gate.mkdir()
    names = [unique_name(f"gated{k:02d}") for k in range(GATED)]
    with FakeHec(TOKEN) as hec:
        opts = {"splunk-url": hec.url, "splunk-token": TOKEN}
        try:
            for k, name in enumerate(names):
                docker.run_container(
                    ours, "while [ ! -e /gate/go ]; do sleep 0.05; done\n"
                    f"awk 'BEGIN {{ for (i = 0; i < {GATED_LINES};"
                    f' i++) printf "c{k:02d} %05d\\n", i }}\'', opts, name=name,
                    extra=["-v", f"{gate}:/gate:ro"], timeout=180)
            (gate / "go").touch()
            assert docker.wait_all(names, timeout=300) == [0] * GATED
            want = GATED * GATED_LINES
            hec.wait_for(lambda: len(hec.events) >= want, 120, what=f"{want} events")
            got: dict[int, list[int]] = collections.defaultdict(list)
            for line in hec.lines():
                m = _LINE.fullmatch(line)
                assert m is not None, f"a line no container logged: {line!r}"
                got[int(m[1])].append(int(m[2]))
            for k in range(GATED):
                assert got[k] == list(range(GATED_LINES)), (
                    f"container {k}: {len(got[k])} of {GATED_LINES} lines, "
                    f"{len(set(got[k]))} distinct")
            assert len(hec.events) == want, f"{len(hec.events) - want} events more than logged"
        finally:
            docker.remove(*names)
