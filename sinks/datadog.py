"""Datadog Logs intake v2 sink: a JSON array of log items per request, gzip by default."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import httpx

from .util.answer import Answer, Outcome
from .util.batch import BatchConfig, BatchLimits, batch_config
from .util.client import Exchange, build_client, gzip_body
from .util.errors import SinkOptionError
from .util.gojson import decode_line
from .util.parse import check_header_secret, first_of, invalid, opt, parse_bool, parse_http_url
from .util.record import Context, Record, Records
from .util.timefmt import epoch_ms
from .util.tls import TLSKeys, TLSOptions

_REFUSED = frozenset({401, 403})  # answers that mean the API key is wrong

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
DD_MAX_MESSAGE_BYTES = 1_000_000  # per log: the intake truncates longer ones; we do it visibly
DD_TRUNCATION_MARKER = "...TRUNCATED"
DD_DEFAULT_BATCH_WAIT = 5.0  # seconds: the Datadog agent's logs_config.batch_wait default
DD_GZIP_LEVEL = 6  # the agent's default compression level
DD_LIMITS = BatchLimits(DD_MAX_BATCH_EVENTS, DD_MAX_BATCH_COST, DD_DEFAULT_BATCH_WAIT,
                        DD_MAX_BATCH_EVENTS, DD_MAX_BATCH_COST)
# Attributes this sink sets on every item; a container attribute with one of these names loses.
DD_RESERVED = frozenset({"message", "ddsource", "ddtags", "hostname", "service", "status",
                         "timestamp", "container_id", "container_name", "image", "tag", "partial"})


def split_image_name(image: str) -> tuple[str, str, str] | None:
    """(long name, short name, tag) as the Datadog agent splits an image reference for its
    ``image_name``/``short_image``/``image_tag`` tags (pkg/util/containers/image/image.go
    ``SplitImageName``); None for an image given by ID."""
    if not image or image.startswith("sha256:"):
        return None
    long = image
    if (pos := long.rfind("@sha")) > 0:
        long = long[:pos]
    tag = ""
    last_colon, last_slash = long.rfind(":"), long.rfind("/")
    if last_colon > -1 and last_colon > last_slash:
        long, tag = long[:last_colon], long[last_colon + 1:]
    short = long[last_slash + 1:] if last_slash > -1 else long
    return long, short, tag


def container_tags(ctx: Context) -> list[str]:
    """The Datadog agent's Docker tags (comp/core/tagger/tags/tags.go; docs "Docker Tag
    Extraction"): container_name, container_id, image_name, short_image, image_tag and, for the
    Docker runtime, docker_image = image_name[:image_tag]."""
    tags = [f"container_id:{ctx.container_id}", f"container_name:{ctx.container_name}"]
    split = split_image_name(ctx.image_name)
    if split is not None:
        long, short, tag = split
        tags += [f"image_name:{long}", f"short_image:{short}"]
        if tag:
            tags.append(f"image_tag:{tag}")
        tags.append(f"docker_image:{long}:{tag}" if tag else f"docker_image:{long}")
    return tags


def parse_tags(value: str) -> tuple[str, ...]:
    """``datadog-tags``: comma-separated ``key:value`` (or bare ``value``) tags."""
    tags = []
    for item in value.split(","):
        item = item.strip()
        if not item or item.startswith(":") or any(c.isspace() for c in item):
            raise invalid(opt(DATADOG_TAGS), f"{item!r} is not a tag like env:prod")
        tags.append(item)
    return tuple(tags)


def truncate_message(text: str) -> tuple[str, bool]:
    """At most DD_MAX_MESSAGE_BYTES of UTF-8, cut on a character boundary, with the marker."""
    raw = text.encode()
    if len(raw) <= DD_MAX_MESSAGE_BYTES:
        return text, False
    keep = DD_MAX_MESSAGE_BYTES - len(DD_TRUNCATION_MARKER.encode())
    return raw[:keep].decode("utf-8", errors="ignore") + DD_TRUNCATION_MARKER, True


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
        found = first_of(opts, env, DATADOG_API_KEY, ENV_DD_API_KEY)
        if found is None:
            raise SinkOptionError(
                f"log-opt {DATADOG_API_KEY!r} is required (or set {ENV_DD_API_KEY} in the "
                "plugin's environment)"
            )
        api_key, where = found
        check_header_secret(where, api_key)
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

    def create(self, *, transport: httpx.AsyncBaseTransport | None = None) -> DatadogSink:
        return DatadogSink(self, build_client(self.tls, transport=transport))


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_STDOUT_STATUS = ',"status":"info","timestamp":'
_STDERR_STATUS = ',"status":"error","timestamp":'


def _members(values: Mapping[str, object]) -> str:
    """``,"k":v,...``: the members of a JSON object, to splice into another."""
    return "," + _dumps(dict(values))[1:-1] if values else ""


class _ItemShape:
    """The per-container parts of an item, serialised once per container."""

    def __init__(self, config: DatadogConfig, ctx: Context) -> None:
        self.ctx = ctx
        self.head: dict[str, object] = {"ddsource": config.source,
                                        "ddtags": ",".join([*config.tags, *container_tags(ctx)]),
                                        "hostname": config.hostname or ctx.hostname}
        if config.service:
            self.head["service"] = config.service
        self.tail: dict[str, object] = {"container_id": ctx.container_id,
                                        "container_name": ctx.container_name,
                                        "image": ctx.image_name, "tag": ctx.tag}
        # Container attributes come last and never replace a field this sink sets.
        self.attrs = {k: v for k, v in ctx.attrs.items() if k not in DD_RESERVED}
        self.head_json = _members(self.head)
        self.tail_json = _members(self.tail)
        self.attrs_json = _members(self.attrs)


class DatadogSink:
    """Posts ``[item,item,...]`` with header ``DD-API-KEY``; 202 means accepted."""

    name = "datadog"
    max_batch_events = DD_MAX_BATCH_EVENTS
    max_batch_bytes = DD_MAX_BATCH_COST

    def __init__(self, config: DatadogConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self._exchange = Exchange(client, [config.api_key])
        self._headers = {"DD-API-KEY": config.api_key, "Content-Type": "application/json"}
        if config.gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._shape: _ItemShape | None = None

    def _shape_for(self, ctx: Context) -> _ItemShape:
        shape = self._shape
        if shape is None or (shape.ctx is not ctx and shape.ctx != ctx):
            shape = self._shape = _ItemShape(self.config, ctx)
        return shape

    def item(self, ctx: Context, rec: Record) -> dict[str, object]:
        """One log item as a dict: what ``encode`` serialises (kept for tests and callers)."""
        shape = self._shape_for(ctx)
        message, truncated = truncate_message(decode_line(rec.line))
        item: dict[str, object] = {"message": message, **shape.head,
                                   "status": "error" if rec.source == "stderr" else "info",
                                   "timestamp": epoch_ms(rec.time_ns), **shape.tail}
        if rec.partial or truncated:
            item["partial"] = True
        item.update(shape.attrs)
        return item

    def encode(self, ctx: Context, rec: Record) -> bytes:
        shape = self._shape_for(ctx)
        message, truncated = truncate_message(decode_line(rec.line))
        status = _STDERR_STATUS if rec.source == "stderr" else _STDOUT_STATUS
        return "".join((
            '{"message":', _dumps(message), shape.head_json, status,
            str(epoch_ms(rec.time_ns)), shape.tail_json,
            ',"partial":true' if rec.partial or truncated else "", shape.attrs_json, "}",
        )).encode()

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        return [self.encode(ctx, rec) for rec in recs]

    async def send(self, encoded: Sequence[bytes]) -> Answer:
        events = list(filter(None, encoded))
        if not events:
            return Answer(Outcome.OK, None, None, "nothing to send")
        body = b"[" + b",".join(events) + b"]"
        if self.config.gzip:
            body = gzip_body(body, DD_GZIP_LEVEL)
        return await self._exchange.post_events(
            self.config.url, body, self._headers, events=len(events), refused=_REFUSED,
            refused_what="API key")

    async def verify(self) -> None:
        """No start-up check: the intake has no health endpoint that needs no data."""

    async def close(self) -> None:
        await self._exchange.aclose()
