"""ReadLogs output: stored frames re-encoded as Docker expects them back, after Tail, Since, Until.

Docker's ``ReadLogs`` answer uses the FIFO's framing, and dockerd writes each ``line`` out as
given: a line's newline goes on its whole entry, or on the last piece of a line Docker split into
partial entries. The per-frame work is the ``_render`` kernel (pure and compiled twins).
"""

from __future__ import annotations

from dataclasses import dataclass

from sinks.util.twin import Twin, twin

from . import _render
from ._render import DECLINED, UNTIL, RenderKernel

KERNEL: Twin[RenderKernel] = twin(_render, "logdriver.framing._render_c")


@dataclass(slots=True)
class ReadlogsFilter:
    """Turns stored frames into ReadLogs output: Tail's ``skip`` first, then ``since``/``until``
    (ns; 0 = unbounded) exactly as Docker's own readers apply them. ``done`` is set at the first
    entry after ``until``; ``bad`` counts the frames that did not decode (skipped)."""

    skip: int = 0
    since: int = 0
    until: int = 0
    done: bool = False
    bad: int = 0

    def render(self, data: bytes, out: list[bytes]) -> int:
        """Append the output frames for ``data`` (whole frames, as stored) to ``out``; returns
        the bytes appended."""
        kernel = KERNEL.active
        pure = KERNEL.pure
        since, until = self.since, self.until
        add = out.append
        pos = total = 0
        while True:
            body, pos, self.skip, bad, stop = kernel.render_frames(
                data, pos, self.skip, since, until, -1)
            if body:
                add(body)
                total += len(body)
            self.bad += bad
            if stop == DECLINED:  # a frame the compiled twin leaves to the pure one
                body, pos, self.skip, bad, stop = pure.render_frames(
                    data, pos, self.skip, since, until, 1)
                if body:
                    add(body)
                    total += len(body)
                self.bad += bad
                if stop != UNTIL:
                    continue
            if stop == UNTIL:
                self.done = True
            return total
