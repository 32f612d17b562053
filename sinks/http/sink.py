"""Generic HTTP sink: POST batches as a JSON array, NDJSON or text lines to one URL
(options in ``config``, encodings in ``encoder``)."""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

from ..util.answer import Answer
from ..util.body import BACK_TO_BACK, JSON_ARRAY, Body
from ..util.client import Exchange, HttpClient, build_client, gzip_body
from ..util.record import Context, Record, Records
from ..util.send import SinkBase
from .config import FORMAT_JSON, HTTP_MAX_BATCH_BYTES, HTTP_MAX_BATCH_EVENTS, HttpConfig
from .encoder import EventEncoder

if TYPE_CHECKING:
    import httpx

_REFUSED = frozenset({401, 403, 407})  # answers that mean the credentials are wrong
GZIP_LEVEL = 6


class HttpSink(SinkBase):
    """POSTs one body per batch to ``http-url``; any 2xx is success. No start-up check: a generic
    receiver has no agreed health endpoint."""

    name = "http"
    max_batch_events = HTTP_MAX_BATCH_EVENTS
    max_batch_bytes = HTTP_MAX_BATCH_BYTES

    @classmethod
    def from_config(cls, config: HttpConfig, *,
                    transport: httpx.AsyncBaseTransport | None = None) -> HttpSink:
        """The sink for ``config``, its client built (TLS material read here: a bad file
        raises SinkOptionError); ``transport`` replaces the network (tests)."""
        return cls(config, build_client(config.tls, transport=transport))

    def __init__(self, config: HttpConfig, client: HttpClient) -> None:
        self.config = config
        secrets = [v for k, v in config.headers.items() if k != "Content-Type"]
        secrets += [v.split(" ", 1)[1] for v in secrets if v.startswith(("Basic ", "Bearer "))]
        if config.password:  # a server may quote the password it was sent, not its base64
            secrets.append(config.password)
        query = urllib.parse.urlsplit(config.url).query
        if query:  # a token in the query string must not reach a reason either, nor its value
            secrets.append(query)  # alone (what a server quotes back)
            secrets += [item.partition("=")[2] for item in query.split("&")]
        super().__init__(Exchange(client, secrets))
        self._headers = dict(config.headers)
        if config.gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._encoder = EventEncoder(config.format)
        self.framing = JSON_ARRAY if config.format == FORMAT_JSON else BACK_TO_BACK

    def encode(self, ctx: Context, rec: Record) -> bytes:
        return self._encoder.encode(ctx, rec)

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        return self._encoder.encode_many(ctx, recs)

    def encode_into(self, ctx: Context, recs: Records, body: Body) -> None:
        self._encoder.encode_into(ctx, recs, body)

    async def _post_body(self, events: Body) -> Answer:
        body: bytes | bytearray = events.payload()
        if self.config.gzip:
            body = gzip_body(body, GZIP_LEVEL)
        return await self._exchange.post_events(
            self.config.url, body, self._headers, refused=_REFUSED, refused_what="credentials")
