"""Splunk HEC log-opts (Docker's ``splunk`` driver's names and defaults) -> a frozen SplunkConfig.

No I/O: ``SplunkSink.from_config`` builds the sink and its HTTP client (reading TLS files)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ..util.batch import BATCH_SIZE, BATCH_WAIT, BatchConfig, BatchLimits, batch_config
from ..util.errors import SinkOptionError
from ..util.parse import (
    invalid,
    opt,
    parse_bool,
    parse_http_url,
    parse_int,
    required_header_secret,
)
from ..util.tls import TLSKeys, TLSOptions
from .ack import ACK_FIRST_POLL_SECONDS, ACK_MAX_POLL_SECONDS, ACK_TIMEOUT_SECONDS

# splunk-format values (moby splunk.go: splunkFormatInline, ...)
FORMAT_INLINE = "inline"
FORMAT_JSON = "json"
FORMAT_RAW = "raw"
FORMATS = (FORMAT_INLINE, FORMAT_JSON, FORMAT_RAW)


@dataclass(frozen=True, slots=True)
class HecFields:
    """The per-sink envelope fields (``splunk-source``, ``splunk-sourcetype``, ``splunk-index``)."""

    source: str = ""
    sourcetype: str = ""
    index: str = ""


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

# Batches are cut at about 1 MB (max_content_length before Splunk 6.5 and on many managed
# deployments; raise batch-bytes for a server known to take more). Docker's driver cuts at 1000
# events (defaultPostMessagesBatchSize); its variable SPLUNK_LOGGING_DRIVER_POST_MESSAGES_BATCH_SIZE
# or batch-size still does. Fewer, fuller requests cost HEC and this plugin less per line.
HEC_DEFAULT_BATCH_EVENTS = 20_000
HEC_DEFAULT_BATCH_BYTES = 1_000_000
HEC_DEFAULT_BATCH_WAIT = 5.0  # seconds: Docker's defaultPostMessagesFrequency
HEC_MAX_CONTENT_LENGTH = 800 * 1024 * 1024  # Splunk 6.5+ max_content_length: the hard ceiling
HEC_MAX_BATCH_EVENTS = 100_000  # HEC has no count limit; this bounds one retry's cost
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
        token = required_header_secret(opts, env, SPLUNK_TOKEN, ENV_SPLUNK_TOKEN)
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
