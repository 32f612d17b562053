"""The record of which FIFOs a container's output runs through: what a restarted plugin re-opens.

Each FIFO the plugin reads is a symlink ``<container dir>/fifos/<FIFO name>`` pointing at the
FIFO's path: one ``symlink`` when StartLogging opens it, one ``unlink`` when it stops. Not
fsynced, on purpose: the daemon's FIFOs live under /run and end with the machine, so the record
only has to survive a crash or restart of the plugin, which the page cache does. `docker logs`
of a stopped container opens and stops a FIFO every time (docs/PROTOCOL.md), so this is its whole
cost on disk. (Before this record, the list was meta.json's ``fifos``, saved with fsync + rename
at each start and stop; ``recorded`` still reads it, for a store an older plugin left.)
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
    link = folder / os.path.basename(fifo)
    try:
        os.symlink(fifo, link)
    except FileNotFoundError:  # the container's first FIFO
        folder.mkdir(mode=0o700, exist_ok=True)
        os.symlink(fifo, link)
    except FileExistsError:  # noted already (a restart re-opening it), or left by a crash
        if os.readlink(link) != fifo:
            os.unlink(link)
            os.symlink(fifo, link)


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
                found.add(os.readlink(entry.path))
    return sorted(found)
