"""The managed plugin, built the offline way (plugin/build.sh --offline: debootstrap + pip) and run
by the tests' dockerd: create, enable, log, docker logs, delivery, docker plugin set, disable, rm.

The build needs the Debian and PyPI mirrors; this machine class always has them (DEVELOPERS.md),
so a failed build fails the test rather than skipping it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeHec

from .corpus import Seq, script
from .daemon import Daemon
from .helpers import Docker, plugin_command

REPO = Path(__file__).resolve().parents[2]
TOKEN = "managed-plugin-token"
BUILD_TIMEOUT = 900


@pytest.fixture(scope="module")
def managed(docker: Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The plugin built offline and created (disabled) in the tests' daemon; its name."""
    name = f"logdriver-managed-{os.getpid()}"
    build_dir = tmp_path_factory.mktemp("plugin-build")
    env = {**docker.env, "BUILD_DIR": str(build_dir / "bundle")}
    cp = subprocess.run([str(REPO / "plugin" / "build.sh"), "--offline", name], env=env,
                        capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    assert cp.returncode == 0, f"plugin/build.sh --offline failed:\n{cp.stdout}\n{cp.stderr}"
    try:
        yield name
    finally:
        docker.remove_all_containers()
        docker("plugin", "disable", "-f", name, check=False, timeout=120)
        docker("plugin", "rm", "-f", name, check=False, timeout=120)


def _plugin_id(docker: Docker, name: str) -> str:
    return docker("plugin", "inspect", "-f", "{{.Id}}", name).stdout.decode().strip()


def _plugin_log(dockerd: Daemon, plugin_id: str) -> str:
    return "\n".join(line for line in dockerd.log_path.read_text(errors="replace").splitlines()
                     if f"plugin={plugin_id}" in line)


def test_managed_plugin_lifecycle(docker: Docker, dockerd: Daemon, managed: str,
                                  tmp_path: Path) -> None:
    name = managed
    state = tmp_path / "state"
    state.mkdir()
    # The state dir is a host folder: history and cursors outlive the plugin.
    docker("plugin", "set", name, f"state.source={state}")
    with FakeHec(TOKEN) as hec:
        docker("plugin", "set", name, f"SPLUNK_TOKEN={TOKEN}")
        docker("plugin", "enable", "--timeout", "0", name, timeout=120)
        n = 3000
        c = docker.run_container(name, script([Seq("stdout", "line %06d", 1, n)]),
                                 {"splunk-url": hec.url, "splunk-verify-connection": "false",
                                  "batch-wait": "100ms"})
        assert docker.wait(c) == 0
        want = [f"line {i:06d}" for i in range(1, n + 1)]
        out, err = docker.logs(c)
        assert out.decode().splitlines() == want and err == b""
        hec.wait_for(lambda: len(hec.events) >= n, 60, what="every line at the HEC")
        time.sleep(0.5)
        assert hec.lines() == want
        # The token came from the plugin's settings, not from the container's options.
        assert TOKEN not in json.dumps(docker.inspect(c)["HostConfig"]["LogConfig"])
        # `logdriver status` finds a managed plugin's socket by the plugin's name.
        cid = docker.inspect(c)["Id"]
        status = subprocess.run([*plugin_command(), "status", "--name", name, "--json"],
                                env=docker.env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        (row,) = [r for r in json.loads(status.stdout)["containers"] if r["id"] == cid]
        assert row["received_lines"] == n

        # docker plugin set of an environment value: disable, set, enable; the plugin's own log
        # (dockerd's log, tagged with the plugin's id) shows the new level at work.
        pid = _plugin_id(docker, name)
        assert "DEBUG logdriver" not in _plugin_log(dockerd, pid)
        docker("plugin", "disable", name, timeout=120)
        docker("plugin", "set", name, "LOG_LEVEL=debug")
        docker("plugin", "enable", "--timeout", "0", name, timeout=120)
        env = docker("plugin", "inspect", "-f", "{{json .Settings.Env}}", name).stdout.decode()
        assert "LOG_LEVEL=debug" in env
        assert "DEBUG logdriver.app: settings" in _plugin_log(dockerd, pid)
        # History kept in the host folder is still served after the plugin restarted.
        out, _ = docker.logs(c, "--tail", "2")
        assert out.decode().splitlines() == want[-2:]
        assert any(state.rglob("*.log"))
        docker.remove(c)

    docker("plugin", "disable", name, timeout=120)
    docker("plugin", "rm", name, timeout=120)
    listed = docker("plugin", "ls", "-q", "--no-trunc").stdout.decode().split()
    assert pid not in listed
    assert not Path(f"/run/docker/plugins/{pid}").exists()
