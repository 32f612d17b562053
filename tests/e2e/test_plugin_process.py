"""The plugin as a process: its socket, and a clean exit on SIGTERM."""

from __future__ import annotations

import os
import stat

from .helpers import PluginProcess, unique_name


def test_socket_is_private_and_sigterm_exits_cleanly(tmp_path) -> None:
    """A second instance, under its own name: the socket is 0600 at /run/docker/plugins/NAME.sock,
    and SIGTERM ends the process with status 0 within 20 s."""
    name = unique_name("logdriver-e2e-term")
    plugin = PluginProcess(name, tmp_path / "state", tmp_path / "plugin.log")
    try:
        plugin.start()
        mode = stat.S_IMODE(os.stat(plugin.socket_path).st_mode)
        assert mode == 0o600, f"{plugin.socket_path} has mode {mode:o}, not 600"
        rc = plugin.stop(timeout=20)
        assert rc == 0, (
            f"after SIGTERM the plugin exited with {rc} (None: still running after 20 s); "
            f"its output:\n{plugin.log_tail()}"
        )
    finally:
        plugin.kill9()
        try:
            os.unlink(plugin.socket_path)
        except FileNotFoundError:
            pass
