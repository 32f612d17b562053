"""Fifty containers logging through the plugin at the same moment each keep a complete history."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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
