"""The OTLP/HTTP logs sink: one POST of one ``ExportLogsServiceRequest`` per batch."""

from __future__ import annotations

import logging
import time
import urllib.parse
from typing import TYPE_CHECKING

from ..util.answer import Answer, Outcome
from ..util.body import EVENT_LIST
from ..util.client import Exchange, HttpClient, Reply, build_client, gzip_body
from ..util.record import Context, Record, Records
from ..util.send import SinkBase
from .answer import classify, partial_success
from .config import MAX_REQUEST_BYTES, OTLP_MAX_BATCH_BYTES, OTLP_MAX_BATCH_EVENTS, OtlpConfig
from .encoder import OtlpEncoder

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

GZIP_LEVEL = 6  # Go's gzip.DefaultCompression, what the Collector's otlphttp exporter uses
MAX_WARNINGS_LOGGED = 16  # distinct server warnings (partial success, 0 rejected) logged per sink


class OtlpSink(SinkBase):
    """Posts to the logs endpoint; the answer is classified by ``answer.classify``."""

    name = "otlp"
    framing = EVENT_LIST  # the request wraps the events (``OtlpEncoder.request``)
    max_batch_events = OTLP_MAX_BATCH_EVENTS
    max_batch_bytes = OTLP_MAX_BATCH_BYTES

    @classmethod
    def from_config(cls, config: OtlpConfig, *,
                    transport: httpx.AsyncBaseTransport | None = None) -> OtlpSink:
        """The sink for ``config``, its client built (TLS material read here: a bad file
        raises SinkOptionError); ``transport`` replaces the network (tests)."""
        return cls(config, build_client(config.tls, timeout=config.timeout, transport=transport))

    def __init__(self, config: OtlpConfig, client: HttpClient) -> None:
        self.config = config
        secrets = list(config.headers.values())
        # "Bearer <token>", "Basic <b64>", "ApiKey <key>": a server may quote the bare credential
        secrets += [value.split(" ", 1)[1] for value in secrets if " " in value.strip()]
        query = urllib.parse.urlsplit(config.url).query
        if query:  # a token in the query string must not reach a reason either
            secrets.append(query)
            secrets += [item.partition("=")[2] for item in query.split("&")]
        super().__init__(Exchange(client, secrets))
        self._headers = {**config.headers, "Content-Type": config.content_type}
        if config.gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._encoder: OtlpEncoder | None = None
        self._warned: set[str] = set()

    def _encoder_for(self, ctx: Context) -> OtlpEncoder:
        encoder = self._encoder
        if encoder is None or (encoder.ctx is not ctx and encoder.ctx != ctx):
            encoder = self._encoder = OtlpEncoder(self.config.protocol, ctx,
                                                  self.config.service_name)
        return encoder

    def encode(self, ctx: Context, rec: Record) -> bytes:
        return self._encoder_for(ctx).encode(rec, time.time_ns())

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        return self._encoder_for(ctx).encode_many(recs, time.time_ns())

    async def _post_events(self, events: list[bytes]) -> Answer:
        """One request for these records (all of one container: this sink's encoder's)."""
        if self._encoder is None:  # nothing was encoded by this sink: the caller's mistake
            return Answer(Outcome.DROP, None, None, "records not encoded by this sink")
        body = self._encoder.request(events)
        if len(body) > MAX_REQUEST_BYTES:  # "the client MUST NOT make the request"
            return Answer(Outcome.SPLIT, None, None,
                          f"request of {len(body)} bytes over the OTLP client limit of "
                          f"{MAX_REQUEST_BYTES}")
        if self.config.gzip:
            body = gzip_body(body, GZIP_LEVEL)
        reply = await self._exchange.request("POST", self.config.url, content=body,
                                             headers=self._headers)
        if not isinstance(reply, Reply):
            return self._exchange.scrubbed(reply)
        answer = self._exchange.scrubbed(classify(reply.status, reply.headers, reply.body))
        if answer.ok and not answer.rejected and reply.body:
            part = partial_success(reply.headers, reply.body)
            if part is not None and part.message:  # 0 rejected and a message: a warning
                self._warn_once(answer.reason)
        return answer

    def _warn_once(self, reason: str) -> None:
        if reason in self._warned or len(self._warned) >= MAX_WARNINGS_LOGGED:
            return
        self._warned.add(reason)
        log.warning("otlp server accepted every record with a warning", extra={"reason": reason})

    async def verify(self) -> None:
        """No start-up check: OTLP has no health call, and an empty request proves little."""
