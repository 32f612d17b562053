"""The on-disk format of one container's store: segment and index files, blocks, and recovery.

A segment ``<seq>.log`` (``seq`` as 10 digits) holds validated frames exactly as Docker sent them
(``[uint32 BE length][LogEntry]``, see framing/), back to back. Its index ``<seq>.idx`` holds
one ``IDX`` record per closed block: a run of frames of about ``BLOCK_BYTES`` with its entry count
and the smallest and largest entry time, so a reader seeks by count (``Tail``) or by time
(``Since``) from the index alone. The index is a cache: recovery rebuilds what it lacks from the
frames themselves.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..framing import FRAMES, decode_frames
from .ledger import Dropped

log = logging.getLogger(__name__)

BLOCK_BYTES = 64 * 1024  # index granularity: Tail/Since read at most about this much extra
IDX = struct.Struct("<QIqqQ")  # block: offset, entry count, min time, max time, byte length
# Docker's local driver stores an entry as [uint32 length][LogEntry][uint32 length]: our frame
# ([uint32 length][LogEntry]) plus 4 bytes. Its max-size counts those bytes (moby
# daemon/logger/local: encodeBinaryLen on both sides; loggerutils.LogFile rotates when the file has
# reached max-size before a write).
LOCAL_RECORD_EXTRA = 4


@dataclass(slots=True)
class Block:
    """A run of whole frames in a segment: ``nbytes`` from ``offset``, ``count`` entries whose
    times (ns) span about ``min_t``..``max_t`` (sampled from its first and last frame)."""

    offset: int
    count: int
    min_t: int
    max_t: int
    nbytes: int

    @property
    def end(self) -> int:
        return self.offset + self.nbytes


@dataclass(slots=True)
class Segment:
    """One segment file: ``size`` bytes of whole frames (the file may hold an incomplete frame
    past it) and its blocks, of which the first ``closed_blocks`` are in the ``.idx`` file.
    ``count`` is the entries of all its blocks, kept up to date by whoever changes ``blocks``
    (the writer at each append, recovery once), so ``local_size`` costs no walk of the blocks."""

    seq: int
    path: Path
    size: int = 0
    blocks: list[Block] = field(default_factory=list)
    closed_blocks: int = 0  # how many of ``blocks`` are persisted in the .idx file
    count: int = 0  # entries in ``blocks``: sum(b.count for b in blocks)

    @property
    def idx_path(self) -> Path:
        return self.path.with_suffix(".idx")

    @property
    def local_size(self) -> int:
        """The size Docker's ``local`` driver would give a file of these entries."""
        return self.size + LOCAL_RECORD_EXTRA * self.count


def segment_path(directory: Path, seq: int) -> Path:
    """Where segment ``seq`` of the container stored in ``directory`` lives."""
    return directory / f"{seq:010d}.log"


@dataclass(slots=True)
class Kept:
    """A container's segments on disk, oldest first: the ``spool`` (rotated out of history, kept
    only for delivery), then the ``history`` (what ``docker logs`` shows), with consecutive
    sequence numbers; plus what a reader that fell behind needs of those that left: the drop
    ledger (undelivered ones, by cause) and the sizes of delivered ones deleted."""

    spool: list[Segment] = field(default_factory=list)
    history: list[Segment] = field(default_factory=list)
    ledger: dict[int, Dropped] = field(default_factory=dict)
    gone_sizes: dict[int, int] = field(default_factory=dict)  # seq -> size

    @property
    def all(self) -> list[Segment]:
        """Spool then history."""
        return self.spool + self.history if self.spool else self.history

    def find(self, seq: int) -> Segment | None:
        first = self.spool or self.history
        if not first:
            return None
        i = seq - first[0].seq
        if i < 0:
            return None
        if i < len(self.spool):
            return self.spool[i]
        i -= len(self.spool)
        if i < len(self.history):
            return self.history[i]
        return None

    def size_of(self, seq: int) -> int:
        """Bytes of segment ``seq``, kept or not (0 if nothing is known of it)."""
        seg = self.find(seq)
        if seg is not None:
            return seg.size
        if seq in self.ledger:
            return self.ledger[seq].size
        return self.gone_sizes.get(seq, 0)


def whole_frames(data: bytes) -> int:
    """Length of the longest prefix of ``data`` made of whole frames (``[uint32 BE length]`` plus
    that many bytes each; the lengths are not validated: ``data`` comes from a segment, below the
    size its writer published). A reader cuts a read that ended mid-frame here. The frame
    kernel's loop (``framing/_frames.py``, compiled when built)."""
    return FRAMES.active.whole_frames(data)


def recover(directory: Path, container_id: str) -> tuple[list[Segment], bytes]:
    """The segments found in ``directory`` after a stop or a crash, oldest first, and the bytes
    past the last whole frame of the newest (an incomplete frame whose rest is still in the
    FIFO). Older runs cut off by a gap in the sequence numbers are deleted; half-written frames
    at the end of a segment other than the newest are cut off."""
    seqs = sorted(int(p.stem) for p in directory.glob("*.log") if p.stem.isdigit())
    # Kept segments are consecutive; a gap means an older run whose rest was deleted.
    while len(seqs) > 1 and any(b != a + 1 for a, b in zip(seqs, seqs[1:], strict=False)):
        gap = next(i for i, (a, b) in enumerate(zip(seqs, seqs[1:], strict=False)) if b != a + 1)
        for seq in seqs[: gap + 1]:
            for suffix in (".log", ".idx"):
                with contextlib.suppress(FileNotFoundError):
                    segment_path(directory, seq).with_suffix(suffix).unlink()
        seqs = seqs[gap + 1 :]
    kept: list[Segment] = []
    tail = b""
    for seq in seqs:
        seg = Segment(seq, segment_path(directory, seq))
        tail = _load_index(seg, container_id, last=(seq == seqs[-1]))
        kept.append(seg)
    return kept, tail


def _load_index(seg: Segment, container_id: str, *, last: bool) -> bytes:
    size = seg.path.stat().st_size
    blocks: list[Block] = []
    try:
        raw = seg.idx_path.read_bytes()
    except FileNotFoundError:
        raw = b""
    expect = 0
    for i in range(0, len(raw) - len(raw) % IDX.size, IDX.size):
        off, count, mn, mx, nbytes = IDX.unpack_from(raw, i)
        if off != expect or off + nbytes > size:
            break
        blocks.append(Block(off, count, mn, mx, nbytes))
        expect = off + nbytes
    seg.blocks = blocks
    seg.closed_blocks = len(blocks)
    if len(raw) != len(blocks) * IDX.size:
        with open(seg.idx_path, "r+b") as f:
            f.truncate(len(blocks) * IDX.size)
    # Rebuild what the index does not cover by scanning the frames themselves; a half-written
    # frame at the end (a crash mid-write) is cut off.
    with open(seg.path, "rb") as f:
        f.seek(expect)
        tail = f.read()
    good = expect
    block: Block | None = None
    for off, length, msg in decode_frames(tail):
        t = msg.time_nano
        if block is None:
            block = Block(expect + off, 0, t, t, 0)
        block.count += 1
        block.nbytes = expect + off + length - block.offset
        block.min_t = min(block.min_t, t)
        block.max_t = max(block.max_t, t)
        good = expect + off + length
        if block.nbytes >= BLOCK_BYTES:
            blocks.append(block)
            block = None
    if block is not None:
        blocks.append(block)
    seg.count = sum(b.count for b in blocks)
    seg.size = good
    rest = b""
    if good != size:
        if last:
            # Bytes read from the FIFO but not yet a whole frame when the plugin stopped: the
            # rest of that frame is still in the pipe. The FIFO's next reader takes them over.
            rest = tail[good - expect :]
        else:
            log.warning("cut a half-written tail off a segment",
                        extra={"container": container_id, "segment": seg.seq,
                               "bytes": size - good})
            with open(seg.path, "r+b") as f:
                f.truncate(good)
    if not last:
        seg.closed_blocks = len(blocks)  # nothing more will be appended to it
    return rest


def write_json(path: Path, obj: Any, *, durable: bool = True) -> None:
    """Replace ``path`` atomically (root-only file). ``durable`` also survives a power cut; without
    it the new content survives a crash of the plugin, which is all a delivery cursor needs."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
