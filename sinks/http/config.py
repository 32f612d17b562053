"""Generic HTTP sink log-opts (``http-*``) -> a frozen HttpConfig; no I/O.

Options (all ``http-*``):
  http-url            required; posted to exactly (path and query kept)
  http-format         json (default: ``[{..},{..}]``), ndjson (one object per line),
                      text (the raw line bytes, each followed by a newline)
  http-headers        extra headers ``Name=value;Name2=value2`` (names are HTTP tokens; values may
                      not hold ";" or control characters; all values are treated as secrets)
  http-user, http-password   basic auth
  http-bearer-token   ``Authorization: Bearer <token>`` (not together with basic auth)
  http-gzip           gzip the body (default false)
  http-tls-ca, http-tls-cert, http-tls-key, http-tls-server-name, http-tls-skip-verify
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ..util.batch import BatchConfig, BatchLimits, batch_config
from ..util.errors import SinkOptionError
from ..util.headers import check_header_name
from ..util.parse import check_header_secret, invalid, opt, parse_bool, parse_http_url
from ..util.tls import TLSKeys, TLSOptions

HTTP_URL = "http-url"
HTTP_FORMAT = "http-format"
HTTP_HEADERS = "http-headers"
HTTP_USER = "http-user"
HTTP_PASSWORD = "http-password"
HTTP_BEARER_TOKEN = "http-bearer-token"
HTTP_GZIP = "http-gzip"
HTTP_TLS_KEYS = TLSKeys.with_prefix("http")
HTTP_PREFIX = "http-"  # any key with it enables the sink
HTTP_KEYS = frozenset({
    HTTP_URL, HTTP_FORMAT, HTTP_HEADERS, HTTP_USER, HTTP_PASSWORD, HTTP_BEARER_TOKEN, HTTP_GZIP,
}) | HTTP_TLS_KEYS.all()

FORMAT_JSON, FORMAT_NDJSON, FORMAT_TEXT = "json", "ndjson", "text"
CONTENT_TYPES = {FORMAT_JSON: "application/json", FORMAT_NDJSON: "application/x-ndjson",
                 FORMAT_TEXT: "text/plain"}
HTTP_MAX_BATCH_EVENTS = 100_000  # no protocol limit; bounds one request's memory and retry cost
# Batches are cut by bytes, as Vector's http sink does (batch.max_bytes 1,049,000, no
# max_events): 1000 events of 100-byte lines made a request of about 330 KB, three times the
# requests (and their CPU) of 1 MB ones.
HTTP_DEFAULT_BATCH_EVENTS = HTTP_MAX_BATCH_EVENTS
HTTP_DEFAULT_BATCH_BYTES = 1_000_000  # 1 MB: what most receivers take without tuning
HTTP_DEFAULT_BATCH_WAIT = 1.0  # seconds: Vector's default batch timeout for its http sink
HTTP_MAX_BATCH_BYTES = 100_000_000  # ditto, 100 MB
HTTP_LIMITS = BatchLimits(HTTP_DEFAULT_BATCH_EVENTS, HTTP_DEFAULT_BATCH_BYTES,
                          HTTP_DEFAULT_BATCH_WAIT, HTTP_MAX_BATCH_EVENTS, HTTP_MAX_BATCH_BYTES)


def parse_headers(value: str) -> dict[str, str]:
    """``http-headers``: ``Name=value;Name2=value2``; errors name the header, never its value."""
    headers: dict[str, str] = {}
    items = value.split(";")
    for number, item in enumerate(items, 1):
        if not item.strip():
            continue
        name, sep, header_value = item.partition("=")
        name = name.strip()
        check_header_name(opt(HTTP_HEADERS), name, "Name=value;Name2=value2",
                          item=f"item {number} of {len(items)}", has_value=bool(sep))
        header_value = header_value.strip()
        check_header_secret(f"{opt(HTTP_HEADERS)} header {name!r}", header_value)
        headers[name] = header_value
    return headers


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """Validated ``http-*`` log-opts."""

    name: ClassVar[str] = "http"
    url: str = field(repr=False)  # may carry a token in its query string
    batch: BatchConfig
    tls: TLSOptions
    format: str = FORMAT_JSON
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # auth included
    gzip: bool = False
    password: str = field(default="", repr=False)  # http-password, only to scrub it from reasons

    @property
    def verify_on_start(self) -> bool:
        return False

    @classmethod
    def from_options(cls, opts: Mapping[str, str], env: Mapping[str, str]) -> HttpConfig:
        if HTTP_URL not in opts:
            raise SinkOptionError(f"log-opt {HTTP_URL!r} is required for the http sink")
        parse_http_url(opt(HTTP_URL), opts[HTTP_URL], allow_path=True)
        fmt = opts.get(HTTP_FORMAT, FORMAT_JSON)
        if fmt not in CONTENT_TYPES:
            raise invalid(opt(HTTP_FORMAT), f"{fmt!r} is not a format (use json, ndjson or text)")
        headers = parse_headers(opts[HTTP_HEADERS]) if HTTP_HEADERS in opts else {}
        auth = auth_header(opts)
        if auth is not None:
            if any(name.lower() == "authorization" for name in headers):
                raise SinkOptionError(
                    f"log-opt {HTTP_HEADERS!r} sets Authorization and so do the auth log-opts"
                )
            headers["Authorization"] = auth
        headers["Content-Type"] = CONTENT_TYPES[fmt]
        return cls(
            url=opts[HTTP_URL],
            batch=batch_config(opts, env, HTTP_LIMITS),
            tls=TLSOptions.from_options(opts, HTTP_TLS_KEYS),
            format=fmt,
            headers=headers,
            gzip=parse_bool(opt(HTTP_GZIP), opts[HTTP_GZIP]) if HTTP_GZIP in opts else False,
            password=opts.get(HTTP_PASSWORD, ""),
        )


def auth_header(opts: Mapping[str, str]) -> str | None:
    """Basic (``http-user`` + ``http-password``) or bearer (``http-bearer-token``), or None."""
    basic = HTTP_USER in opts or HTTP_PASSWORD in opts
    if basic and HTTP_BEARER_TOKEN in opts:
        raise SinkOptionError(
            f"log-opts {HTTP_USER!r}/{HTTP_PASSWORD!r} and {HTTP_BEARER_TOKEN!r} exclude each other"
        )
    if HTTP_BEARER_TOKEN in opts:
        token = opts[HTTP_BEARER_TOKEN]
        check_header_secret(opt(HTTP_BEARER_TOKEN), token)
        return f"Bearer {token}"
    if not basic:
        return None
    user = opts.get(HTTP_USER, "")
    if not user or ":" in user:
        raise invalid(opt(HTTP_USER), "required with http-password, and without ':'")
    password = opts.get(HTTP_PASSWORD, "")
    if HTTP_PASSWORD in opts:
        check_header_secret(opt(HTTP_PASSWORD), password)
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
