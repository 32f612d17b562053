"""Splunk HEC sink: a drop-in for Docker's ``splunk`` driver (same log-opts, defaults, envelopes),
plus several endpoints (round-robin with failover) and real indexer acknowledgement."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from ..util.answer import Answer, Outcome
from ..util.body import Body
from ..util.client import Exchange, HttpClient, Reply, build_client, gzip_body
from ..util.errors import SinkVerifyError
from ..util.parse import redact_url
from ..util.record import Context, Record, Records
from ..util.send import InTurn, SinkBase
from .ack import ack_id_of, await_ack
from .answer import classify_hec
from .config import (
    HEC_MAX_BATCH_EVENTS,
    HEC_MAX_CONTENT_LENGTH,
    SPLUNK_URL,
    SPLUNK_VERIFY_CONNECTION,
    SplunkConfig,
)
from .encoder import Envelope

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

HEC_EVENT_PATH = "/services/collector/event/1.0"  # where Docker's driver always posts
HEC_HEALTH_PATH = "/services/collector/health/1.0"  # 200 when HEC accepts data (Splunk 6.6+)
VERIFY_TIMEOUT_SECONDS = 3.0  # the start-up check delays the container's start: keep it short


class SplunkSink(SinkBase):
    """Posts concatenated envelopes to ``/services/collector/event/1.0``."""

    name = "splunk"
    max_batch_events = HEC_MAX_BATCH_EVENTS
    max_batch_bytes = HEC_MAX_CONTENT_LENGTH

    @classmethod
    def from_config(cls, config: SplunkConfig, *,
                    transport: httpx.AsyncBaseTransport | None = None) -> SplunkSink:
        """The sink for ``config``, its client built (TLS material read here: a bad file
        raises SinkOptionError); ``transport`` replaces the network (tests)."""
        return cls(config, build_client(config.tls, transport=transport))

    def __init__(self, config: SplunkConfig, client: HttpClient) -> None:
        super().__init__(Exchange(client, [config.token]))
        self.config = config
        self._auth = {"Authorization": f"Splunk {config.token}"}
        if config.index_ack:  # one channel for this sink's life: acks are per channel
            self._auth["X-Splunk-Request-Channel"] = str(uuid.uuid4())
        self._post_headers = dict(self._auth)
        if config.gzip:
            self._post_headers["Content-Encoding"] = "gzip"
        self._urls = InTurn(config.urls)
        self._envelope: Envelope | None = None

    def _envelope_for(self, ctx: Context) -> Envelope:
        envelope = self._envelope
        if envelope is None or (envelope.ctx is not ctx and envelope.ctx != ctx):
            envelope = self._envelope = Envelope(self.config.format, ctx, self.config.fields)
        return envelope

    def encode(self, ctx: Context, rec: Record) -> bytes:
        return self._envelope_for(ctx).encode(rec)

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        return self._envelope_for(ctx).encode_many(recs)

    def encode_into(self, ctx: Context, recs: Records, body: Body) -> None:
        self._envelope_for(ctx).encode_into(recs, body)

    async def _post_body(self, events: Body) -> Answer:
        """One request (the envelopes back to back), to each endpoint in turn from the next in
        the round until one answers other than RETRY."""
        body: bytes | bytearray = events.payload()
        if self.config.gzip:
            body = gzip_body(body, self.config.gzip_level)
        urls = self._urls.round()
        answer = Answer(Outcome.RETRY, None, None, "no endpoint")
        for i, base in enumerate(urls):
            answer = await self._post(base, body)
            if answer.outcome is not Outcome.RETRY or answer.status == 200:
                break  # a 200 not acknowledged in time is resent later, not elsewhere now
            if i + 1 < len(urls):
                log.warning("splunk endpoint failed, trying the next",
                            extra={"endpoint": redact_url(base),
                                   "reason": self._exchange.scrub(answer.reason)})
        return self._exchange.scrubbed(answer)

    async def _post(self, base: str, body: bytes | bytearray) -> Answer:
        reply = await self._exchange.request("POST", base + HEC_EVENT_PATH, content=body,
                                             headers=self._post_headers)
        if not isinstance(reply, Reply):
            answer = reply
        else:
            answer = classify_hec(reply.status, reply.headers, reply.body)
            if answer.ok and self.config.index_ack:
                ack_id = ack_id_of(reply.body)
                if ack_id is None:
                    answer = Answer(Outcome.OK, reply.status, None,
                                    "accepted; no ackId (token without indexer acknowledgement)")
                else:
                    answer = await await_ack(
                        self._exchange, base, ack_id, self._auth,
                        first_poll=self.config.ack_first_poll, max_poll=self.config.ack_max_poll,
                        timeout=self.config.ack_timeout,
                    )
        if len(self.config.urls) > 1:
            answer = replace(answer, reason=f"{redact_url(base)}: {answer.reason}")
        return answer

    async def verify(self) -> None:
        """Docker's ``splunk-verify-connection`` check: passes if any endpoint is healthy.

        Asks HEC's health endpoint; where that does not exist (404/405: before Splunk 6.6, or a
        proxy), falls back to Docker's own probe, ``OPTIONS`` on the event endpoint.
        """
        problems = await asyncio.gather(*(self._bounded_check(base) for base in self.config.urls))
        if any(problem is None for problem in problems):
            return
        pairs = zip(self.config.urls, problems, strict=True)
        detail = "; ".join(f"{redact_url(base)}: {problem}" for base, problem in pairs)
        raise SinkVerifyError(self._exchange.scrub(
            f"splunk: cannot verify the connection to {SPLUNK_URL} ({detail}); set "
            f"{SPLUNK_VERIFY_CONNECTION}=false to start without this check"
        ))

    async def _bounded_check(self, base: str) -> str | None:
        try:
            return await asyncio.wait_for(self._check(base), VERIFY_TIMEOUT_SECONDS)
        except TimeoutError:
            return f"no answer within {VERIFY_TIMEOUT_SECONDS:g} s"

    async def _check(self, base: str) -> str | None:
        reply = await self._exchange.request("GET", base + HEC_HEALTH_PATH,
                                             timeout=VERIFY_TIMEOUT_SECONDS)
        if isinstance(reply, Reply) and reply.status in (404, 405):
            reply = await self._exchange.request("OPTIONS", base + HEC_EVENT_PATH,
                                                 timeout=VERIFY_TIMEOUT_SECONDS)
        if isinstance(reply, Answer):
            return reply.reason
        if reply.status == 200:
            return None
        return classify_hec(reply.status, reply.headers, reply.body).reason
