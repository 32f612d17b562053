"""logdriver as the daemon's default log driver: daemon.json names it, with default log-opts, and a
container started without --log-driver logs through it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .corpus import Seq, script
from .daemon import Daemon, build_image
from .helpers import Docker, PluginProcess


def test_a_container_without_log_driver_uses_the_default_from_daemon_json(
    plugin: PluginProcess,
) -> None:
    root = Path(tempfile.mkdtemp(prefix="ld-e2e-default-", dir="/tmp"))
    daemon = Daemon(root, config={"log-driver": plugin.name,
                                  "log-opts": {"max-size": "1m", "max-file": "2"}})
    (root / "client-config").mkdir()
    docker = Docker(daemon.host, root / "client-config")
    try:
        daemon.start(docker)
        docker.image = build_image(docker)
        name = "default-driver"
        docker("run", "-d", "--network", "none", "--name", name, docker.image, "sh", "-c",
               script([Seq("stdout", "line %06d", 1, 500)]))
        assert docker.wait(name) == 0
        log_config = docker.inspect(name)["HostConfig"]["LogConfig"]
        assert log_config == {"Type": plugin.name, "Config": {"max-size": "1m", "max-file": "2"}}
        out, err = docker.logs(name)
        assert out.decode().splitlines() == [f"line {i:06d}" for i in range(1, 501)]
        assert err == b""
        cid = docker.inspect(name)["Id"]
        assert (plugin.state_dir / "containers" / cid).is_dir()  # it is our store that answered
        docker.remove(name)
    finally:
        daemon.stop()
        daemon.cleanup()
