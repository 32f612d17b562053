"""The FIFO notes a restarted plugin re-opens (logdriver/store/fifos.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from logdriver.store import fifos

A = "/run/docker/logging/" + "a" * 64
B = "/run/docker/logging/" + "b" * 64


def test_a_note_lasts_until_forgotten_and_is_root_only(tmp_path: Path) -> None:
    fifos.record(tmp_path, A)
    fifos.record(tmp_path, B)
    fifos.record(tmp_path, A)  # again (a restart re-opening it): still one note
    assert fifos.recorded(tmp_path) == [A, B]
    note = tmp_path / fifos.FIFOS_DIR / ("a" * 64)
    assert stat.S_IMODE(note.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / fifos.FIFOS_DIR).stat().st_mode) == 0o700
    fifos.forget(tmp_path, A)
    fifos.forget(tmp_path, A)  # forgetting twice is no error
    assert fifos.recorded(tmp_path) == [B]


def test_an_older_plugins_list_is_read_and_a_note_cut_short_is_dropped(tmp_path: Path) -> None:
    assert fifos.recorded(tmp_path) == []  # no folder yet
    fifos.record(tmp_path, A)
    cut = tmp_path / fifos.FIFOS_DIR / ("c" * 64)
    cut.write_bytes(b"/run/docker/log")  # the plugin died while writing it
    assert fifos.recorded(tmp_path, legacy=[B, 7]) == [A, B]
    assert not cut.exists()


def test_a_note_is_never_written_through_a_symlink(tmp_path: Path) -> None:
    fifos.record(tmp_path, B)
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    note = tmp_path / fifos.FIFOS_DIR / ("a" * 64)
    os.symlink(target, note)
    with pytest.raises(OSError):  # ELOOP: O_NOFOLLOW
        fifos.record(tmp_path, A)
    assert target.read_text() == "keep"
