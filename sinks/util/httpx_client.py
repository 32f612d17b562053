"""The sinks' HTTP client over an httpx transport (tests swap the network for
``httpx.MockTransport``): imported by ``client.build_client`` only when a transport is given, so
the plugin and the shipper never import httpx."""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import httpx

from .client import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_ANSWER_BYTES,
    TRANSPORT_ERRORS,
    USER_AGENT,
    HttpClient,
    Reply,
)
from .proxy import Proxies


class HttpxClient(HttpClient):
    """An httpx client over a given transport: the sinks' tests swap the network for
    ``httpx.MockTransport``."""

    def __init__(self, context: ssl.SSLContext, timeout: float,
                 transport: httpx.AsyncBaseTransport, proxy: str | None) -> None:
        self.timeout = timeout
        self.errors = (*TRANSPORT_ERRORS, httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)
        if proxy is not None:
            self.secrets = Proxies.fixed(proxy, "proxy URL").secrets()
        self.client = httpx.AsyncClient(
            proxy=proxy, verify=context, transport=transport, trust_env=True,
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS)),
            follow_redirects=False, headers={"User-Agent": USER_AGENT})

    async def send(self, method: str, url: str, content: bytes | None,
                   headers: Mapping[str, str] | None, timeout: float | None) -> Reply:
        async with self.client.stream(
            method, url, content=content, headers=headers,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
        ) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= MAX_ANSWER_BYTES:
                    del body[MAX_ANSWER_BYTES:]
                    break
            return Reply(response.status_code, response.headers, bytes(body))

    async def aclose(self) -> None:
        await self.client.aclose()
