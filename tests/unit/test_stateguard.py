"""The managed plugin's state-folder check (logdriver/stateguard.py): which changes it accepts and
which it refuses, on folders of the test; the mount point and the rootfs identity are faked."""

from __future__ import annotations

from pathlib import Path

import pytest

from logdriver import stateguard
from logdriver.stateguard import RECORD_FILE, STATE_ID_FILE, StateFolderError, check_state_folder


@pytest.fixture
def fifo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "fifos"
    root.mkdir()
    real = stateguard._mount_root
    monkeypatch.setattr(stateguard, "_mount_root",
                        lambda p: "/host/fifos" if Path(p) == root else real(p))
    monkeypatch.setattr(stateguard, "_rootfs_identity", lambda: "1:100")
    return root


def _folder(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


def test_first_start_names_the_folder_and_records_it(tmp_path: Path, fifo_root: Path) -> None:
    state = _folder(tmp_path, "state")
    check_state_folder(state, str(fifo_root))
    state_id = (state / STATE_ID_FILE).read_text().strip()
    assert len(state_id) == 32
    assert state_id in (fifo_root / RECORD_FILE).read_text()
    check_state_folder(state, str(fifo_root))  # the same folder again: accepted, same id
    assert (state / STATE_ID_FILE).read_text().strip() == state_id


def test_upgrade_that_swapped_the_folder_is_refused_untouched(
        tmp_path: Path, fifo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state, default = _folder(tmp_path, "state"), _folder(tmp_path, "default")
    check_state_folder(state, str(fifo_root))
    monkeypatch.setattr(stateguard, "_rootfs_identity", lambda: "1:200")  # upgraded
    with pytest.raises(StateFolderError, match=r"state\.source") as exc:
        check_state_folder(default, str(fifo_root))
    assert "docker plugin set NAME state.source=" in str(exc.value)
    assert list(default.iterdir()) == []
    # Set back to the folder used before: accepted, and recorded with the new rootfs.
    check_state_folder(state, str(fifo_root))
    assert "1:200" in (fifo_root / RECORD_FILE).read_text()


def test_deliberate_change_without_upgrade_is_accepted(tmp_path: Path, fifo_root: Path) -> None:
    state, other = _folder(tmp_path, "state"), _folder(tmp_path, "other")
    check_state_folder(state, str(fifo_root))
    check_state_folder(other, str(fifo_root))
    assert (other / STATE_ID_FILE).exists()


def test_upgrade_keeping_the_folder_is_accepted(
        tmp_path: Path, fifo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = _folder(tmp_path, "state")
    check_state_folder(state, str(fifo_root))
    monkeypatch.setattr(stateguard, "_rootfs_identity", lambda: "1:200")
    check_state_folder(state, str(fifo_root))


def test_host_process_plugin_is_not_checked(tmp_path: Path) -> None:
    state = _folder(tmp_path, "state")
    check_state_folder(state, str(tmp_path / "not-a-mount"))
    assert list(state.iterdir()) == []
