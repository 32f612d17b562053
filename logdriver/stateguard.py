"""The managed plugin's check that its state folder is the one it used before an upgrade."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

# In the state folder: a random id, written once, that names this folder's history.
STATE_ID_FILE = "state-id"
# Beside the FIFOs: which state folder (by id) and which rootfs the plugin ran with last. The FIFO
# folder of a managed plugin is its `propagatedMount` (plugin/config.json): a host folder that
# dockerd keeps per plugin id across disable, enable and `docker plugin upgrade`, and removes with
# `docker plugin rm`.
RECORD_FILE = ".logdriver-state"


class StateFolderError(RuntimeError):
    """The state folder mounted is not the one this plugin used before its upgrade."""


def _mount_root(path: Path) -> str | None:
    """The folder mounted at ``path``: its path inside its own filesystem (field 4 of
    /proc/self/mountinfo, see proc(5)), for a host folder on the host's root filesystem its host
    path; None if ``path`` is not a mount point. (os.path.ismount misses a bind mount of a folder
    of the same filesystem.)"""
    best = None
    with contextlib.suppress(OSError):
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4 and fields[4].replace("\\040", " ") == str(path):
                    best = fields[3].replace("\\040", " ")
    return best


def _rootfs_identity() -> str:
    """`dev:inode` of the plugin's own root: `docker plugin upgrade` puts a new rootfs folder in
    place (moby plugin/manager_linux.go upgradePlugin); disable, enable and daemon restarts keep
    the folder."""
    st = os.stat("/")
    return f"{st.st_dev}:{st.st_ino}"


def _read_json(path: Path) -> dict[str, str]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def check_state_folder(state_dir: Path, fifo_root: str) -> None:
    """Checks, before anything in ``state_dir`` is touched, that it is the state folder this plugin
    used before, and records it for the next start. Raises StateFolderError (message for the
    operator) when the plugin's rootfs changed (an upgrade) and the state folder changed with it.

    Why: `docker plugin set NAME state.source=DIR` is stored in the plugin's config, and `docker
    plugin upgrade` replaces that config with the new version's, default mount source included,
    while `docker plugin inspect` still shows DIR (moby plugin/v2/plugin.go Set, InitSpec reads
    Config.Mounts). Without this check the upgraded plugin silently starts on another history and
    never re-opens the running containers' FIFOs.

    Only where ``fifo_root`` is a mount point (the managed plugin's propagated mount); a host
    process plugin has no upgrade and is not checked. A changed state folder with the same rootfs
    (an operator's deliberate `docker plugin set` of state.source) is accepted.
    """
    fifo_dir = Path(fifo_root)
    if _mount_root(fifo_dir) is None:
        return
    record_path = fifo_dir / RECORD_FILE
    record = _read_json(record_path)
    state_id = ""
    with contextlib.suppress(OSError):
        state_id = (state_dir / STATE_ID_FILE).read_text().strip()
    rootfs = _rootfs_identity()
    source = _mount_root(state_dir) or ""
    if record and record.get("rootfs") != rootfs and record.get("state_id") != state_id:
        before = record.get("source") or "the folder set before the upgrade"
        raise StateFolderError(
            f"the state folder mounted now ({source or state_dir}) is not the one this plugin "
            f"used before its upgrade ({before}): `docker plugin upgrade` resets the mount "
            f"setting state.source to the new version's default although `docker plugin inspect` "
            f"still shows it. Run `docker plugin disable -f NAME`, `docker plugin set NAME "
            f"state.source={before}`, `docker plugin enable --timeout 0 NAME`; nothing is lost "
            f"meanwhile (containers wait). To start on this folder instead, remove {RECORD_FILE} "
            f"from the plugin's propagated-mount folder on the host."
        )
    if not state_id:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        state_id = uuid.uuid4().hex
        _write_atomic(state_dir / STATE_ID_FILE, state_id + "\n")
    fresh = {"state_id": state_id, "rootfs": rootfs, "source": source}
    if fresh != record:
        try:
            _write_atomic(record_path, json.dumps(fresh) + "\n")
        except OSError as exc:  # the check is lost for the next upgrade, the plugin still runs
            log.warning("cannot record the state folder", extra={"path": str(record_path),
                                                                 "error": str(exc)})
