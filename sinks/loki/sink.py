"""Loki sink: a drop-in for Loki's Docker driver (same log-opts, labels and wire), on the shared
HTTP client, with failover across several ``loki-url``s and nothing dropped unless asked."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..util.answer import Answer, Outcome
from ..util.body import EVENT_LIST, Body
from ..util.client import Exchange, HttpClient, Reply, build_client
from ..util.errors import SinkOptionError
from ..util.record import Context, Record, Records
from ..util.send import InTurn, SinkBase
from .answer import Refusal, classify, refusals, same_stream
from .config import (
    FORMAT_PROTOBUF,
    INGESTION_BURST_SIZE_BYTES,
    LOKI_DEFAULT_BATCH_EVENTS,
    RETRY_FOREVER,
    SOURCE_LABEL,
    Endpoint,
    LokiConfig,
)
from .encoder import Stream, build_body, encode, encode_many, entry_line, split
from .labels import container_labels

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

CONTENT_TYPES = {True: "application/x-protobuf", False: "application/json"}
TENANT_HEADER = "X-Scope-OrgID"  # Loki's multi-tenancy header (loki-tenant-id)
MAX_TRACKED_REQUESTS = 64  # requests whose retries are counted at once (MAX_IN_FLIGHT is less)


class LokiSink(SinkBase):
    """POSTs one PushRequest per batch to ``loki-url`` (the next URL when one fails)."""

    name = "loki"
    framing = EVENT_LIST  # the push request is built from the events, not their joined bytes
    max_batch_events = LOKI_DEFAULT_BATCH_EVENTS
    max_batch_bytes = INGESTION_BURST_SIZE_BYTES

    def __init__(self, config: LokiConfig, client: HttpClient) -> None:
        self.config = config
        secrets: list[str] = []
        for endpoint in config.endpoints:
            if endpoint.authorization:
                secrets += [endpoint.authorization, endpoint.authorization.split(" ", 1)[1]]
            secrets.append(endpoint.password)
            query = _url_query(endpoint.url)
            if query:
                secrets += [query] + [item.partition("=")[2] for item in query.split("&")]
        super().__init__(Exchange(client, secrets))
        self._protobuf = config.format == FORMAT_PROTOBUF
        self._headers = {"Content-Type": CONTENT_TYPES[self._protobuf]}
        if config.tenant_id:
            self._headers[TENANT_HEADER] = config.tenant_id
        self._endpoints = InTurn(config.endpoints)
        self._ctx: Context | None = None
        self._labels: dict[str, str] = {}
        self._streams: dict[str, dict[str, str]] = {}
        # retries so far per request, keyed by id() of its Body.key (the key is kept so the
        # id cannot be reused while counted): only when loki-retries is finite
        self._attempts: dict[int, tuple[object, int]] = {}

    @classmethod
    def from_config(cls, config: LokiConfig, *,
                    transport: httpx.AsyncBaseTransport | None = None) -> LokiSink:
        """The sink for ``config``, its client built (TLS material read here: a bad file
        raises SinkOptionError); ``transport`` replaces the network (tests)."""
        return cls(config, build_client(config.tls, timeout=config.timeout,
                                        transport=transport, proxy=config.proxy_url))

    # ----------------------------------------------------------------- encoding
    def _use(self, ctx: Context) -> None:
        if ctx is self._ctx or ctx == self._ctx:
            return
        self._ctx = ctx
        self._streams = {}
        try:
            self._labels = container_labels(self.config, ctx)
        except SinkOptionError as exc:  # checked at the container's start: not expected here
            log.error("loki labels cannot be built: sending with container_name and host only",
                      extra={"container": ctx.container_id, "error": str(exc)})
            self._labels = {"container_name": ctx.container_name, "host": ctx.hostname}

    def stream_labels(self, source: str) -> dict[str, str]:
        """The labels of this container's stream for ``source`` (stdout, stderr)."""
        labels = self._streams.get(source)
        if labels is None:
            labels = self._streams[source] = {**self._labels, SOURCE_LABEL: source}
        return labels

    def encode(self, ctx: Context, rec: Record) -> bytes:
        self._use(ctx)
        return encode(rec, protobuf=self._protobuf)

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        self._use(ctx)
        return encode_many(recs, protobuf=self._protobuf)

    # ----------------------------------------------------------------- sending
    async def _post_body(self, events_body: Body) -> Answer:
        """One push request of the body's events (grouped into streams by ``build_body``)."""
        events = events_body.wire_events()
        body, streams = build_body(events, self.stream_labels, protobuf=self._protobuf)
        endpoints = self._endpoints.round()
        answer = Answer(Outcome.RETRY, None, None, "no endpoint")
        for i, endpoint in enumerate(endpoints):
            answer = await self._post(endpoint, body, events, streams)
            if answer.outcome is not Outcome.RETRY:
                break
            if i + 1 < len(endpoints):
                log.warning("loki endpoint failed, trying the next",
                            extra={"endpoint": endpoint.shown,
                                   "reason": self._exchange.scrub(answer.reason)})
        return self._exchange.scrubbed(self._count_retries(events_body.key, answer))

    async def _post(self, endpoint: Endpoint, body: bytes, events: Sequence[bytes],
                    streams: list[Stream]) -> Answer:
        headers = self._headers
        if endpoint.authorization:
            headers = {**headers, "Authorization": endpoint.authorization}
        reply = await self._exchange.request("POST", endpoint.url, content=body, headers=headers)
        if not isinstance(reply, Reply):
            answer = reply
        else:
            answer = classify(reply.status, reply.body, reply.headers)
            if answer.outcome is Outcome.DROP and reply.status == 400:
                found = refusals(reply.body)
                named = None if found is None else self._named(found, events, streams)
                answer = replace(answer, refused_events=named)
        if len(self.config.endpoints) > 1:
            answer = replace(answer, reason=f"{endpoint.shown}: {answer.reason}")
        return answer

    def _named(self, found: list[Refusal], events: Sequence[bytes],
               streams: list[Stream]) -> tuple[int, ...] | None:
        """Indices of the events a 400 named (a stream Loki names may carry labels it added
        itself, such as service_name: ``same_stream``); None if a refusal matches none (then
        the whole request is dead-lettered: better a copy too many there than an entry lost)."""
        named: set[int] = set()
        for refusal in found:
            matched = set()
            exact = [s.indices for s in streams if s.labels == refusal.stream]
            candidates = exact or [s.indices for s in streams
                                   if same_stream(s.labels, refusal.stream)]
            for i in (i for indices in candidates for i in indices):
                _, ts, entry = split(events[i])
                if refusal.length is not None:
                    if len(entry_line(entry, protobuf=self._protobuf)) != refusal.length:
                        continue
                elif refusal.second is not None:
                    if int.from_bytes(ts, "big") // 1_000_000_000 != refusal.second:
                        continue
                matched.add(i)
            if not matched:
                return None
            named |= matched
        return tuple(sorted(named))

    def _count_retries(self, first: object, answer: Answer) -> Answer:
        """``loki-retries`` N (not 0): a request is made N times in all, then dropped
        (dead-lettered) at its N-th failure, as Loki's driver (clients/pkg/util/client.go
        sendBatch: send, ``backoff.Wait()``, stop once ``!backoff.Ongoing()``; dskit's
        backoff.go: Wait counts a retry, Ongoing is false once retries >= MaxRetries; 0 is for
        ever). The wait before each retry is at least Loki's driver's backoff,
        ``loki-min-backoff`` doubling up to ``loki-max-backoff``. ``first`` identifies the
        request (``Body.key``)."""
        key = id(first)
        if answer.outcome is not Outcome.RETRY:
            self._attempts.pop(key, None)
            return answer
        seen = self._attempts.get(key)
        attempt = seen[1] + 1 if seen is not None and seen[0] is first else 1
        limit = self.config.retries
        if limit != RETRY_FOREVER and attempt >= limit:
            self._attempts.pop(key, None)
            return Answer(Outcome.DROP, answer.status, None,
                          f"gave up after {limit} requests (loki-retries): {answer.reason}")
        if len(self._attempts) >= MAX_TRACKED_REQUESTS:
            self._attempts.clear()  # requests abandoned at shutdown: start their count again
        self._attempts[key] = (first, attempt)
        delay = min(self.config.max_backoff, self.config.min_backoff * 2 ** min(attempt - 1, 40))
        if answer.retry_after is None or answer.retry_after < delay:
            answer = replace(answer, retry_after=delay)
        return answer

    async def verify(self) -> None:
        """No start-up check: Loki's driver has none, and a container must not wait on Loki."""


def _url_query(url: str) -> str:
    """The query of ``url`` as httpx parses it (secrets in it are scrubbed from reasons);
    httpx is imported here only, for a Loki sink, not by every process."""
    import httpx

    return httpx.URL(url).query.decode()
