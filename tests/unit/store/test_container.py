"""One container's spool policy: what every sink has is released, the rest stays."""

from __future__ import annotations

from pathlib import Path

from logdriver.framing import encode_entry
from logdriver.store import ContainerLog, cursor_path

from ..helpers import entry, frames
from .helpers import CID, write

FRAME = len(encode_entry(entry(0)))


def test_a_sink_without_a_cursor_yet_holds_the_spool(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.configure(max_size=FRAME * 50, max_file=2, sinks=("http",), spool_max_size=None,
                   when_full="drop-oldest")
    write(clog, frames(500), chunk=3000)
    assert clog.spool[0].seq == 0
    cursor_path(clog.path, "http").write_text('{"seq": 3, "off": 0}')
    clog.release_delivered()
    assert clog.spool[0].seq == 3  # what the sink has is released, the rest stays
    assert not (clog.path / f"{2:010d}.log").exists()
