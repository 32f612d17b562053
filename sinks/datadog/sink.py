"""Datadog Logs intake v2 sink: a JSON array of log items per request, gzip by default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..util.answer import Answer
from ..util.body import JSON_ARRAY, Body
from ..util.client import Exchange, HttpClient, build_client, gzip_fast
from ..util.record import Context, Record, Records
from ..util.send import SinkBase
from .config import DD_MAX_BATCH_COST, DD_MAX_BATCH_EVENTS, DatadogConfig
from .encoder import ItemEncoder

if TYPE_CHECKING:
    import httpx

_REFUSED = frozenset({401, 403})  # answers that mean the API key is wrong


class DatadogSink(SinkBase):
    """Posts ``[item,item,...]`` with header ``DD-API-KEY``; 202 means accepted. No start-up
    check: the intake has no health endpoint that needs no data."""

    name = "datadog"
    framing = JSON_ARRAY
    max_batch_events = DD_MAX_BATCH_EVENTS
    max_batch_bytes = DD_MAX_BATCH_COST

    @classmethod
    def from_config(cls, config: DatadogConfig, *,
                    transport: httpx.AsyncBaseTransport | None = None) -> DatadogSink:
        """The sink for ``config``, its client built (TLS material read here: a bad file
        raises SinkOptionError); ``transport`` replaces the network (tests)."""
        return cls(config, build_client(config.tls, transport=transport))

    def __init__(self, config: DatadogConfig, client: HttpClient) -> None:
        super().__init__(Exchange(client, [config.api_key]))
        self.config = config
        self._headers = {"DD-API-KEY": config.api_key, "Content-Type": "application/json"}
        if config.gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._encoder = ItemEncoder(config)

    def encode(self, ctx: Context, rec: Record) -> bytes:
        return self._encoder.encode(ctx, rec)

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        return self._encoder.encode_many(ctx, recs)

    def encode_into(self, ctx: Context, recs: Records, body: Body) -> None:
        self._encoder.encode_into(ctx, recs, body)

    async def _post_body(self, events: Body) -> Answer:
        """POST one batch, gzip (unless ``datadog-gzip=false``) at the cheapest level
        (``gzip_fast``): the Datadog agent's own default is its cheapest compression, zstd
        level 1 (its pkg/config/setup: DefaultLogCompressionKind "zstd",
        DefaultZstdCompressionLevel 1; gzip, at level 6, only when ``compression_kind`` says
        gzip). zstd is not in the intake's public API (gzip, deflate): gzip it stays."""
        body: bytes | bytearray = events.payload()
        if self.config.gzip:
            body = gzip_fast(body)
        return await self._exchange.post_events(
            self.config.url, body, self._headers, refused=_REFUSED, refused_what="API key")
