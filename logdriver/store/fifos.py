"""The record of which FIFOs a container's output runs through: what a restarted plugin re-opens.

Each FIFO the plugin reads is a file ``<container dir>/fifos/<FIFO name>`` (root-only, like
every file of the store) holding the FIFO's path: written when StartLogging opens it, unlinked
when it stops. Not fsynced, on purpose: the daemon's FIFOs live under /run and end with the
machine, so the record only has to survive a crash or restart of the plugin, which the page
cache does. `docker logs` of a stopped container opens and stops a FIFO every time
(docs/PROTOCOL.md), so this is its whole cost on disk. (Before this record, the list was
meta.json's ``fifos``, saved with fsync + rename at each start and stop; ``recorded`` still
reads it, for a store an older plugin left.)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

FIFOS_DIR = "fifos"


def record(container_dir: Path, fifo: str) -> None:
    """Note that the container's output runs through ``fifo`` (an absolute path). Raises
    OSError (e.g. the disk is full) when it cannot be noted."""
    folder = container_dir / FIFOS_DIR
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(folder / os.path.basename(fifo), flags, 0o600)
    except FileNotFoundError:  # the container's first FIFO
        folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(folder / os.path.basename(fifo), flags, 0o600)
    try:
        os.write(fd, os.fsencode(fifo))
    finally:
        os.close(fd)


def forget(container_dir: Path, fifo: str) -> None:
    """The container's output through ``fifo`` has ended (nothing to do if it was not noted)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(container_dir / FIFOS_DIR / os.path.basename(fifo))


def recorded(container_dir: Path, legacy: Iterable[object] = ()) -> list[str]:
    """The FIFOs noted for the container, sorted, with ``legacy`` (meta.json's ``fifos`` from
    an older plugin) added."""
    found = {str(p) for p in legacy if isinstance(p, str)}
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(container_dir / FIFOS_DIR):
            with contextlib.suppress(OSError):
                with open(entry.path, "rb") as f:
                    path = os.fsdecode(f.read(4096))
                if os.path.basename(path) == entry.name:
                    found.add(path)
                else:  # cut short by a crash as it was written: nothing to re-open
                    os.unlink(entry.path)
    return sorted(found)
