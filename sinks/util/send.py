"""The one step every sink's ``send`` goes through (``send_events``: skipped events left out, no
request for none, a SPLIT of a single event settled as a DROP, refused events named in the
caller's numbering), and SinkBase, which every sink builds on so that its ``send`` is that
step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Generic, TypeVar

from .answer import Answer, Outcome
from .client import Exchange
from .retry import settle_split

T = TypeVar("T")

NOTHING_TO_SEND = "nothing to send"

Post = Callable[[list[bytes]], Awaitable[Answer]]  # one request for these (non-empty) events


async def send_events(encoded: Sequence[bytes], post: Post) -> Answer:
    """``post`` the non-empty events of ``encoded`` (``b""`` is a record the sink skips by
    design) and settle the answer.

    No event: OK with no request. A SPLIT for one event becomes a DROP (``settle_split``). An
    ``invalid_event`` or ``refused_events`` the server gave (indices into the events it was
    sent) are mapped back to indices into ``encoded``. ``post`` must never raise and must scrub
    its reasons.
    """
    events = list(filter(None, encoded))
    if not events:
        return Answer(Outcome.OK, None, None, NOTHING_TO_SEND)
    answer = settle_split(await post(events), len(events))
    if len(events) != len(encoded) and (answer.invalid_event is not None
                                        or answer.refused_events is not None):
        nonempty = [i for i, event in enumerate(encoded) if event]
        bad = answer.invalid_event
        if bad is not None:
            answer = replace(answer, invalid_event=nonempty[bad] if bad < len(nonempty) else None)
        if answer.refused_events is not None:
            answer = replace(answer, refused_events=tuple(
                nonempty[i] for i in answer.refused_events if i < len(nonempty)))
    return answer


class SinkBase:
    """What every sink shares: ``send`` is ``send_events`` over the sink's ``_post_events`` (one
    request for non-empty events; never raises, reasons scrubbed), no start-up check unless the
    sink has one, and ``close`` releases the Exchange (idempotent)."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange

    async def send(self, encoded: Sequence[bytes]) -> Answer:
        return await send_events(encoded, self._post_events)

    async def _post_events(self, events: list[bytes]) -> Answer:
        raise NotImplementedError

    async def verify(self) -> None:
        """No start-up check (a sink with one overrides this)."""

    async def close(self) -> None:
        await self._exchange.aclose()


class InTurn(Generic[T]):
    """A sink's endpoints taken in turn: each request starts at the next one (spreading the
    load) and goes on to the others only while they fail."""

    def __init__(self, endpoints: Sequence[T]) -> None:
        self.endpoints = endpoints
        self._next = 0

    def round(self) -> list[T]:
        """Every endpoint, from the next in turn (which then moves on by one)."""
        start = self._next
        self._next = (start + 1) % len(self.endpoints)
        return [*self.endpoints[start:], *self.endpoints[:start]]
