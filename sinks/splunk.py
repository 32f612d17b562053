"""Splunk HEC sink: a drop-in for Docker's ``splunk`` driver (same log-opts, defaults, envelopes),
plus several endpoints (round-robin with failover) and real indexer acknowledgement."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

import httpx

from .splunk_ack import (
    ACK_FIRST_POLL_SECONDS,
    ACK_MAX_POLL_SECONDS,
    ACK_TIMEOUT_SECONDS,
    ack_id_of,
    await_ack,
)
from .splunk_answer import classify_hec
from .splunk_envelope import FORMAT_INLINE, FORMATS, Envelope, HecFields
from .util.answer import Answer, Outcome
from .util.batch import BATCH_SIZE, BATCH_WAIT, BatchConfig, BatchLimits, batch_config
from .util.client import Exchange, Reply, build_client, gzip_body
from .util.errors import SinkOptionError, SinkVerifyError
from .util.parse import (
    check_header_secret,
    first_of,
    invalid,
    opt,
    parse_bool,
    parse_http_url,
    parse_int,
    redact_url,
)
from .util.record import Context, Record, Records
from .util.retry import settle_split
from .util.tls import TLSKeys, TLSOptions

log = logging.getLogger(__name__)

# Docker's option names (moby daemon/logger/splunk/splunk.go).
SPLUNK_URL = "splunk-url"
SPLUNK_TOKEN = "splunk-token"
SPLUNK_SOURCE = "splunk-source"
SPLUNK_SOURCETYPE = "splunk-sourcetype"
SPLUNK_INDEX = "splunk-index"
SPLUNK_CAPATH = "splunk-capath"
SPLUNK_CANAME = "splunk-caname"
SPLUNK_INSECURESKIPVERIFY = "splunk-insecureskipverify"
SPLUNK_FORMAT = "splunk-format"
SPLUNK_VERIFY_CONNECTION = "splunk-verify-connection"
SPLUNK_GZIP = "splunk-gzip"
SPLUNK_GZIP_LEVEL = "splunk-gzip-level"
SPLUNK_INDEX_ACKNOWLEDGMENT = "splunk-index-acknowledgment"
SPLUNK_TLS_KEYS = TLSKeys(ca=SPLUNK_CAPATH, server_name=SPLUNK_CANAME,
                          skip_verify=SPLUNK_INSECURESKIPVERIFY)
SPLUNK_KEYS = frozenset({
    SPLUNK_URL, SPLUNK_TOKEN, SPLUNK_SOURCE, SPLUNK_SOURCETYPE, SPLUNK_INDEX, SPLUNK_FORMAT,
    SPLUNK_VERIFY_CONNECTION, SPLUNK_GZIP, SPLUNK_GZIP_LEVEL, SPLUNK_INDEX_ACKNOWLEDGMENT,
}) | SPLUNK_TLS_KEYS.all()

ENV_SPLUNK_TOKEN = "SPLUNK_TOKEN"  # keeps the token out of `docker inspect`
# Docker's splunk driver's own tuning variables, honoured for drop-in parity.
ENV_POST_MESSAGES_BATCH_SIZE = "SPLUNK_LOGGING_DRIVER_POST_MESSAGES_BATCH_SIZE"
ENV_POST_MESSAGES_FREQUENCY = "SPLUNK_LOGGING_DRIVER_POST_MESSAGES_FREQUENCY"

HEC_EVENT_PATH = "/services/collector/event/1.0"  # where Docker's driver always posts
HEC_HEALTH_PATH = "/services/collector/health/1.0"  # 200 when HEC accepts data (Splunk 6.6+)
# Batches are cut at about 1 MB (max_content_length before Splunk 6.5 and on many managed
# deployments; raise batch-bytes for a server known to take more). Docker's driver cuts at 1000
# events (defaultPostMessagesBatchSize); its variable SPLUNK_LOGGING_DRIVER_POST_MESSAGES_BATCH_SIZE
# or batch-size still does. Fewer, fuller requests cost HEC and this plugin less per line.
HEC_DEFAULT_BATCH_EVENTS = 20_000
HEC_DEFAULT_BATCH_BYTES = 1_000_000
HEC_DEFAULT_BATCH_WAIT = 5.0  # seconds: Docker's defaultPostMessagesFrequency
HEC_MAX_CONTENT_LENGTH = 800 * 1024 * 1024  # Splunk 6.5+ max_content_length: the hard ceiling
HEC_MAX_BATCH_EVENTS = 100_000  # HEC has no count limit; this bounds one retry's cost
VERIFY_TIMEOUT_SECONDS = 3.0  # the start-up check delays the container's start: keep it short
GZIP_DEFAULT_LEVEL = -1  # Go's gzip.DefaultCompression (zlib level 6)
GZIP_MIN_LEVEL, GZIP_MAX_LEVEL = -1, 9  # what Docker's driver accepts
HEC_LIMITS = BatchLimits(HEC_DEFAULT_BATCH_EVENTS, HEC_DEFAULT_BATCH_BYTES,
                         HEC_DEFAULT_BATCH_WAIT, HEC_MAX_BATCH_EVENTS, HEC_MAX_CONTENT_LENGTH)


def parse_endpoints(value: str) -> tuple[str, ...]:
    """``splunk-url``: one or more comma-separated ``scheme://host:port`` base URLs."""
    endpoints = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            raise invalid(opt(SPLUNK_URL), "empty URL in the list")
        parts = parse_http_url(opt(SPLUNK_URL), item, allow_path=False)
        endpoints.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(endpoints)


@dataclass(frozen=True, slots=True)
class SplunkConfig:
    """Validated ``splunk-*`` log-opts."""

    name: ClassVar[str] = "splunk"
    urls: tuple[str, ...]
    token: str = field(repr=False)
    batch: BatchConfig
    tls: TLSOptions
    fields: HecFields = HecFields()
    format: str = FORMAT_INLINE
    verify_connection: bool = True
    gzip: bool = False
    gzip_level: int = GZIP_DEFAULT_LEVEL
    index_ack: bool = False
    # Not log-opts: ack polling pace, adjustable for tests.
    ack_first_poll: float = ACK_FIRST_POLL_SECONDS
    ack_max_poll: float = ACK_MAX_POLL_SECONDS
    ack_timeout: float = ACK_TIMEOUT_SECONDS

    @property
    def verify_on_start(self) -> bool:
        return self.verify_connection

    @classmethod
    def from_options(cls, opts: Mapping[str, str], env: Mapping[str, str]) -> SplunkConfig:
        if SPLUNK_URL not in opts:
            raise SinkOptionError(f"log-opt {SPLUNK_URL!r} is required for the splunk sink")
        urls = parse_endpoints(opts[SPLUNK_URL])
        found = first_of(opts, env, SPLUNK_TOKEN, ENV_SPLUNK_TOKEN)
        if found is None:
            raise SinkOptionError(
                f"log-opt {SPLUNK_TOKEN!r} is required (or set {ENV_SPLUNK_TOKEN} in the plugin's "
                "environment)"
            )
        token, where = found
        check_header_secret(where, token)
        fmt = opts.get(SPLUNK_FORMAT, FORMAT_INLINE)
        if fmt not in FORMATS:
            raise invalid(opt(SPLUNK_FORMAT),
                          f"{fmt!r} is not a format (use {', '.join(FORMATS)})")

        def flag(key: str, default: bool) -> bool:
            return parse_bool(opt(key), opts[key]) if key in opts else default

        level = GZIP_DEFAULT_LEVEL
        if SPLUNK_GZIP_LEVEL in opts:
            level = parse_int(opt(SPLUNK_GZIP_LEVEL), opts[SPLUNK_GZIP_LEVEL],
                              minimum=GZIP_MIN_LEVEL, maximum=GZIP_MAX_LEVEL)
        return cls(
            urls=urls,
            token=token,
            batch=batch_config(opts, env, HEC_LIMITS, extra_env={
                BATCH_SIZE: ENV_POST_MESSAGES_BATCH_SIZE, BATCH_WAIT: ENV_POST_MESSAGES_FREQUENCY,
            }),
            tls=TLSOptions.from_options(opts, SPLUNK_TLS_KEYS),
            fields=HecFields(opts.get(SPLUNK_SOURCE, ""), opts.get(SPLUNK_SOURCETYPE, ""),
                             opts.get(SPLUNK_INDEX, "")),
            format=fmt,
            verify_connection=flag(SPLUNK_VERIFY_CONNECTION, True),
            gzip=flag(SPLUNK_GZIP, False),
            gzip_level=level,
            index_ack=flag(SPLUNK_INDEX_ACKNOWLEDGMENT, False),
        )

    def create(self, *, transport: httpx.AsyncBaseTransport | None = None) -> SplunkSink:
        return SplunkSink(self, build_client(self.tls, transport=transport))


class SplunkSink:
    """Posts concatenated envelopes to ``/services/collector/event/1.0``."""

    name = "splunk"
    max_batch_events = HEC_MAX_BATCH_EVENTS
    max_batch_bytes = HEC_MAX_CONTENT_LENGTH

    def __init__(self, config: SplunkConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self._exchange = Exchange(client, [config.token])
        self._auth = {"Authorization": f"Splunk {config.token}"}
        if config.index_ack:  # one channel for this sink's life: acks are per channel
            self._auth["X-Splunk-Request-Channel"] = str(uuid.uuid4())
        self._post_headers = dict(self._auth)
        if config.gzip:
            self._post_headers["Content-Encoding"] = "gzip"
        self._next = 0
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

    async def send(self, encoded: Sequence[bytes]) -> Answer:
        events = list(filter(None, encoded))
        if not events:
            return Answer(Outcome.OK, None, None, "nothing to send")
        body = b"".join(events)
        if self.config.gzip:
            body = gzip_body(body, self.config.gzip_level)
        urls = self.config.urls
        start = self._next
        self._next = (start + 1) % len(urls)
        answer = Answer(Outcome.RETRY, None, None, "no endpoint")
        for i in range(len(urls)):
            base = urls[(start + i) % len(urls)]
            answer = await self._post(base, body)
            if answer.outcome is not Outcome.RETRY or answer.status == 200:
                break  # a 200 not acknowledged in time is resent later, not elsewhere now
            if i + 1 < len(urls):
                log.warning("splunk endpoint failed, trying the next",
                            extra={"endpoint": redact_url(base),
                                   "reason": self._exchange.scrub(answer.reason)})
        if answer.invalid_event is not None and len(events) != len(encoded):
            # HEC counts the events it was sent; the caller counts ``encoded``, empties and all
            nonempty = [i for i, event in enumerate(encoded) if event]
            bad = answer.invalid_event
            answer = replace(answer, invalid_event=nonempty[bad] if bad < len(nonempty) else None)
        return self._exchange.scrubbed(settle_split(answer, len(events)))

    async def _post(self, base: str, body: bytes) -> Answer:
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

    async def close(self) -> None:
        await self._exchange.aclose()
