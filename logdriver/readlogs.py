"""ReadLogs over one container's store: where to start (tail, since), until, and follow.

Docker asks the plugin for ``docker logs`` with a ``ReadConfig`` (moby daemon/logger:
``ReadConfig{Since, Until, Tail, Follow}``) and expects the entries back framed as the FIFO
carries them (see framing/render.py's ``ReadlogsFilter``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from .framing import ReadlogsFilter
from .store import ContainerLog

FOLLOW_POLL_SECONDS = 5.0  # a follower re-checks its client even when nothing is written
OUT_BATCH_BYTES = 256 * 1024  # ReadLogs writes the client this much at a time


@dataclass(frozen=True, slots=True)
class ReadRequest:
    since: int  # ns since the epoch; 0 = no bound
    until: int  # ns since the epoch; 0 = no bound
    tail: int  # -1 = all
    follow: bool


async def stream(
    clog: ContainerLog,
    req: ReadRequest,
    *,
    closing: Callable[[], bool],
    on_corrupt: Callable[[int], None],
) -> AsyncGenerator[bytes, None]:
    """Yield ReadLogs output for ``clog``: framed entries, up to ``OUT_BATCH_BYTES`` at a time.
    With ``follow``, wait for more until the container's StopLogging comes or ``closing()``
    (the plugin shuts down); an empty chunk now and then lets the caller notice a client that
    went away. Frames that do not decode are skipped and counted through ``on_corrupt``."""
    if req.tail == 0 and not req.follow:
        return
    stop_count = clog.stop_count
    end = clog.end
    if req.tail == 0:
        pos, skip = end, 0
    elif req.tail > 0:
        pos, skip = clog.tail_start(req.tail)
    else:
        pos, skip = clog.start, 0
    if req.since:
        since_pos = clog.since_start(req.since)
        if since_pos > pos:
            pos, skip = since_pos, 0
    render = ReadlogsFilter(skip=skip, since=req.since, until=req.until)
    out: list[bytes] = []
    out_bytes = 0
    while True:
        for data in clog.iter_frames(pos, end):
            out_bytes += render.render(data, out)
            if out_bytes >= OUT_BATCH_BYTES or render.done:
                yield b"".join(out)
                out, out_bytes = [], 0
            if render.done:
                break
        if out:
            yield b"".join(out)
            out, out_bytes = [], 0
        if render.bad:
            on_corrupt(render.bad)
            render.bad = 0
        if render.done:
            return
        pos = end
        if not req.follow or closing():
            return
        # Follow: wait for more, and end once the container's StopLogging has come.
        while clog.end == pos and clog.stop_count == stop_count and not closing():
            await clog.wait_change(FOLLOW_POLL_SECONDS)
            if clog.end == pos:
                yield b""  # lets the HTTP layer notice a client that went away
        end = clog.end
        if end == pos and (clog.stop_count != stop_count or closing()):
            return
