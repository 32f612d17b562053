"""Datadog Logs intake v2 log-opts (``datadog-*``) -> a frozen DatadogConfig; no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ..util.batch import BatchConfig, BatchLimits, batch_config
from ..util.parse import invalid, opt, parse_bool, parse_http_url, required_header_secret
from ..util.tls import TLSKeys, TLSOptions

DATADOG_API_KEY = "datadog-api-key"
DATADOG_SITE = "datadog-site"
DATADOG_URL = "datadog-url"
DATADOG_SERVICE = "datadog-service"
DATADOG_SOURCE = "datadog-source"
DATADOG_TAGS = "datadog-tags"
DATADOG_HOSTNAME = "datadog-hostname"
DATADOG_GZIP = "datadog-gzip"
DATADOG_TLS_KEYS = TLSKeys.with_prefix("datadog")
DATADOG_PREFIX = "datadog-"  # any key with it enables the sink
DATADOG_KEYS = frozenset({
    DATADOG_API_KEY, DATADOG_SITE, DATADOG_URL, DATADOG_SERVICE, DATADOG_SOURCE, DATADOG_TAGS,
    DATADOG_HOSTNAME, DATADOG_GZIP,
}) | DATADOG_TLS_KEYS.all()
ENV_DD_API_KEY = "DD_API_KEY"  # the Datadog agent's own variable

DD_SITES = (
    "datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "ap1.datadoghq.com",
    "ap2.datadoghq.com", "uk1.datadoghq.com", "datadoghq.eu", "ddog-gov.com", "us2.ddog-gov.com",
)
DD_DEFAULT_SITE = "datadoghq.com"
DD_INTAKE_URL = "https://http-intake.logs.{site}/api/v2/logs"
DD_LOGS_PATH = "/api/v2/logs"
DD_DEFAULT_SOURCE = "docker"
DD_MAX_BATCH_EVENTS = 1000  # entries per array, intake limit
DD_MAX_PAYLOAD_BYTES = 5_000_000  # uncompressed bytes per request, intake limit
DD_MAX_BATCH_COST = DD_MAX_PAYLOAD_BYTES - 1  # batch_cost counts n separators; the array has
# n - 1 commas plus "[" and "]": one byte more than the cost
DD_DEFAULT_BATCH_WAIT = 5.0  # seconds: the Datadog agent's logs_config.batch_wait default
DD_LIMITS = BatchLimits(DD_MAX_BATCH_EVENTS, DD_MAX_BATCH_COST, DD_DEFAULT_BATCH_WAIT,
                        DD_MAX_BATCH_EVENTS, DD_MAX_BATCH_COST)


def parse_tags(value: str) -> tuple[str, ...]:
    """``datadog-tags``: comma-separated ``key:value`` (or bare ``value``) tags."""
    tags = []
    for item in value.split(","):
        item = item.strip()
        if not item or item.startswith(":") or any(c.isspace() for c in item):
            raise invalid(opt(DATADOG_TAGS), f"{item!r} is not a tag like env:prod")
        tags.append(item)
    return tuple(tags)


@dataclass(frozen=True, slots=True)
class DatadogConfig:
    """Validated ``datadog-*`` log-opts."""

    name: ClassVar[str] = "datadog"
    url: str
    api_key: str = field(repr=False)
    batch: BatchConfig
    tls: TLSOptions
    source: str = DD_DEFAULT_SOURCE
    service: str = ""
    tags: tuple[str, ...] = ()
    hostname: str = ""  # "" = the context's hostname
    gzip: bool = True

    @property
    def verify_on_start(self) -> bool:
        return False

    @classmethod
    def from_options(cls, opts: Mapping[str, str], env: Mapping[str, str]) -> DatadogConfig:
        api_key = required_header_secret(opts, env, DATADOG_API_KEY, ENV_DD_API_KEY)
        site = opts.get(DATADOG_SITE, DD_DEFAULT_SITE)
        if site not in DD_SITES:
            raise invalid(opt(DATADOG_SITE),
                          f"{site!r} is not a Datadog site (use one of {', '.join(DD_SITES)})")
        url = DD_INTAKE_URL.format(site=site)
        if DATADOG_URL in opts:
            parts = parse_http_url(opt(DATADOG_URL), opts[DATADOG_URL], allow_path=True)
            if parts.query or parts.fragment:
                raise invalid(opt(DATADOG_URL), "expected a base URL without query or fragment")
            url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{DD_LOGS_PATH}"
        hostname = opts.get(DATADOG_HOSTNAME, "")
        if DATADOG_HOSTNAME in opts and not hostname.strip():
            raise invalid(opt(DATADOG_HOSTNAME), "empty")
        source = opts.get(DATADOG_SOURCE, DD_DEFAULT_SOURCE)
        if not source:
            raise invalid(opt(DATADOG_SOURCE), "empty")
        return cls(
            url=url,
            api_key=api_key,
            batch=batch_config(opts, env, DD_LIMITS),
            tls=TLSOptions.from_options(opts, DATADOG_TLS_KEYS),
            source=source,
            service=opts.get(DATADOG_SERVICE, ""),
            tags=parse_tags(opts[DATADOG_TAGS]) if DATADOG_TAGS in opts else (),
            hostname=hostname,
            gzip=parse_bool(opt(DATADOG_GZIP), opts[DATADOG_GZIP]) if DATADOG_GZIP in opts
            else True,
        )
