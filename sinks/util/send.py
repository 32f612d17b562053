"""The one step every sink's ``send`` goes through (``send_body``: skipped events left out, no
request for none, a SPLIT of a single event settled as a DROP, refused events named in the
caller's numbering), and SinkBase, which every sink builds on so that its ``send`` is that
step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Generic, TypeVar

from .answer import Answer, Outcome
from .body import BACK_TO_BACK, Body
from .client import Exchange
from .record import Context, Records
from .retry import settle_split

T = TypeVar("T")

NOTHING_TO_SEND = "nothing to send"

PostBody = Callable[[Body], Awaitable[Answer]]  # one request for a body with an event to send


async def send_body(body: Body, post: PostBody) -> Answer:
    """``post`` ``body`` when an event of it goes on the wire (an empty event is a record the
    sink skips by design) and settle the answer.

    No such event: OK with no request. A SPLIT for one event becomes a DROP (``settle_split``).
    An ``invalid_event`` or ``refused_events`` the server gave (indices into the events it was
    sent, the non-empty ones) are mapped back to indices into ``body``. ``post`` must never
    raise and must scrub its reasons.
    """
    sent = body.nonempty
    if not sent:
        return Answer(Outcome.OK, None, None, NOTHING_TO_SEND)
    answer = settle_split(await post(body), sent)
    if body.empty and (answer.invalid_event is not None or answer.refused_events is not None):
        nonempty = body.nonempty_indices()
        bad = answer.invalid_event
        if bad is not None:
            answer = replace(answer, invalid_event=nonempty[bad] if bad < len(nonempty) else None)
        if answer.refused_events is not None:
            answer = replace(answer, refused_events=tuple(
                nonempty[i] for i in answer.refused_events if i < len(nonempty)))
    return answer


class SinkBase:
    """What every sink shares: ``send_body`` is ``send_body`` over the sink's ``_post_body`` (one
    request for a body with events to send; never raises, reasons scrubbed), ``send`` the same
    for a list of events, ``encode_into`` its ``encode_many`` appended to the body, no start-up
    check unless the sink has one, and ``close`` releases the Exchange (idempotent).

    A sink whose request is its body (``framing``) overrides ``_post_body`` and sends
    ``body.payload()``; the others (Loki, OTLP) keep their events as a list (``EVENT_LIST``)
    and build their request from them in ``_post_events``."""

    framing = BACK_TO_BACK

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        raise NotImplementedError

    def encode_into(self, ctx: Context, recs: Records, body: Body) -> None:
        body.extend(self.encode_many(ctx, recs))

    async def send(self, encoded: Sequence[bytes]) -> Answer:
        return await self.send_body(Body.of(self.framing, encoded))

    async def send_body(self, body: Body) -> Answer:
        return await send_body(body, self._post_body)

    async def _post_body(self, body: Body) -> Answer:
        return await self._post_events(body.wire_events())

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
