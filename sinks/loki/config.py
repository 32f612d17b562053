"""Loki's ``loki-*`` log-opts (the names and meanings of Loki's Docker driver) -> a frozen
LokiConfig, with no I/O. Errors name the option and never quote a password or a URL's query.

Source of the option names, defaults and sanitising: grafana/loki
``clients/cmd/docker-driver/config.go`` and ``clients/pkg/util/config.go`` (Loki 3.x).
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar

from ..docker.gotemplate import FUNCS, TemplateError, Tree, parse
from ..docker.template import TAG
from ..util.batch import BATCH_BYTES, BATCH_WAIT, BatchConfig, BatchLimits, batch_config
from ..util.errors import SinkOptionError
from ..util.parse import (
    check_header_secret,
    invalid,
    opt,
    parse_bool,
    parse_duration,
    parse_http_url,
    parse_int,
    redact_url,
)
from ..util.tls import TLSKeys, TLSOptions

# Loki's Docker driver's option names (config.go), plus loki-format (ours: protobuf or json).
LOKI_URL = "loki-url"
LOKI_EXTERNAL_LABELS = "loki-external-labels"
LOKI_TENANT_ID = "loki-tenant-id"
LOKI_BATCH_SIZE = "loki-batch-size"
LOKI_BATCH_WAIT = "loki-batch-wait"
LOKI_TIMEOUT = "loki-timeout"
LOKI_MIN_BACKOFF = "loki-min-backoff"
LOKI_MAX_BACKOFF = "loki-max-backoff"
LOKI_RETRIES = "loki-retries"
LOKI_PROXY_URL = "loki-proxy-url"
LOKI_TLS_CA_FILE = "loki-tls-ca-file"
LOKI_TLS_CERT_FILE = "loki-tls-cert-file"
LOKI_TLS_KEY_FILE = "loki-tls-key-file"
LOKI_TLS_SERVER_NAME = "loki-tls-server-name"
LOKI_TLS_INSECURE_SKIP_VERIFY = "loki-tls-insecure-skip-verify"
LOKI_PIPELINE_STAGES = "loki-pipeline-stages"
LOKI_PIPELINE_STAGE_FILE = "loki-pipeline-stage-file"
LOKI_RELABEL_CONFIG = "loki-relabel-config"
LOKI_FORMAT = "loki-format"
NO_FILE = "no-file"  # accepted: `docker logs` always reads this plugin's own store
KEEP_FILE = "keep-file"
LOKI_PREFIX = "loki-"  # any key with it enables the sink
LOKI_TLS_KEYS = TLSKeys(ca=LOKI_TLS_CA_FILE, server_name=LOKI_TLS_SERVER_NAME,
                        skip_verify=LOKI_TLS_INSECURE_SKIP_VERIFY, cert=LOKI_TLS_CERT_FILE,
                        key=LOKI_TLS_KEY_FILE)
REFUSED_KEYS = (LOKI_PIPELINE_STAGES, LOKI_PIPELINE_STAGE_FILE, LOKI_RELABEL_CONFIG)
LOKI_KEYS = frozenset({
    LOKI_URL, LOKI_EXTERNAL_LABELS, LOKI_TENANT_ID, LOKI_BATCH_SIZE, LOKI_BATCH_WAIT,
    LOKI_TIMEOUT, LOKI_MIN_BACKOFF, LOKI_MAX_BACKOFF, LOKI_RETRIES, LOKI_PROXY_URL, LOKI_FORMAT,
    NO_FILE, KEEP_FILE, *REFUSED_KEYS,
}) | LOKI_TLS_KEYS.all()

FORMAT_PROTOBUF, FORMAT_JSON = "protobuf", "json"
DEFAULT_EXTERNAL_LABELS = "container_name={{.Name}}"  # Loki's defaultExternalLabels
# Loki's clients/pkg/util/config.go defaults.
DEFAULT_BATCH_BYTES = 1024 * 1024  # BatchSize: 1 MiB of lines
DEFAULT_BATCH_WAIT = 1.0  # seconds (BatchWait)
DEFAULT_TIMEOUT = 10.0  # seconds (Timeout), per request
DEFAULT_MIN_BACKOFF = 0.5  # seconds (MinBackoff)
DEFAULT_MAX_BACKOFF = 300.0  # seconds (MaxBackoff: 5 m)
RETRY_FOREVER = 0  # dskit backoff: MaxRetries 0 retries for ever; our default (Loki's is 10,
# which then drops the batch: here the disk store holds what waits, so nothing need be dropped)
# Loki's limits_config defaults (pkg/validation/limits.go, Loki 3.x).
INGESTION_BURST_SIZE_BYTES = 6 * 1024 * 1024  # ingestion_burst_size_mb 6: a larger push is
# refused with 429 however often it is retried, so no batch may exceed it
MAX_LABEL_NAMES_PER_SERIES = 15  # max_label_names_per_series
MAX_LABEL_NAME_LENGTH = 1024  # max_label_name_length, bytes (Go's len of the name)
MAX_LABEL_VALUE_LENGTH = 2048  # max_label_value_length, bytes (Go's len of the value)
MAX_LINE_SIZE = 256 * 1024  # max_line_size "256KB" (bytes): Loki refuses a longer line (400)
LOKI_DEFAULT_BATCH_EVENTS = 100_000  # Loki has no count limit: bounds one request's retry cost
LOKI_LIMITS = BatchLimits(LOKI_DEFAULT_BATCH_EVENTS, DEFAULT_BATCH_BYTES, DEFAULT_BATCH_WAIT,
                          LOKI_DEFAULT_BATCH_EVENTS, INGESTION_BURST_SIZE_BYTES)

# Loki's driver adds these from the container's labels (config.go).
SWARM_SERVICE_LABEL = ("com.docker.swarm.service.name", "swarm_service")
SWARM_STACK_LABEL = ("com.docker.stack.namespace", "swarm_stack")
COMPOSE_SERVICE_LABEL = ("com.docker.compose.service", "compose_service")
COMPOSE_PROJECT_LABEL = ("com.docker.compose.project", "compose_project")
HOST_LABEL = "host"
FILENAME_LABEL = "filename"
SOURCE_LABEL = "source"
TAG_LABEL = "tag"

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")  # Prometheus' legacy name, as LogQL parses


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One push URL; credentials from its user info become a Basic ``Authorization``."""

    url: str = field(repr=False)  # without user info; may hold a query
    authorization: str | None = field(default=None, repr=False)
    password: str = field(default="", repr=False)  # only to scrub it from reasons

    @property
    def shown(self) -> str:
        return redact_url(self.url)


@dataclass(frozen=True, slots=True)
class LokiConfig:
    """Validated ``loki-*`` log-opts."""

    name: ClassVar[str] = "loki"
    endpoints: tuple[Endpoint, ...]
    batch: BatchConfig
    tls: TLSOptions
    external_labels: tuple[tuple[str, Tree], ...] = field(default=(), compare=False)
    external_labels_text: str = DEFAULT_EXTERNAL_LABELS
    tenant_id: str | None = None
    format: str = FORMAT_PROTOBUF
    timeout: float = DEFAULT_TIMEOUT
    min_backoff: float = DEFAULT_MIN_BACKOFF
    max_backoff: float = DEFAULT_MAX_BACKOFF
    retries: int = RETRY_FOREVER
    proxy_url: str | None = field(default=None, repr=False)
    tag_label: bool = False  # `tag` was set: the rendered tag is a stream label

    @property
    def verify_on_start(self) -> bool:
        return False

    @classmethod
    def from_options(cls, opts: Mapping[str, str], env: Mapping[str, str]) -> LokiConfig:
        for key in REFUSED_KEYS:
            if key in opts:
                raise SinkOptionError(
                    f"log-opt {key!r} is not supported by this plugin: run the pipeline stages "
                    "or relabelling where the logs arrive (Loki's own pipeline, Grafana Alloy or "
                    "an OpenTelemetry Collector in front of Loki), or set the labels with "
                    f"{LOKI_EXTERNAL_LABELS!r}, 'labels' and 'env'")
        if LOKI_URL not in opts:
            raise SinkOptionError(f"log-opt {LOKI_URL!r} is required for the loki sink")
        fmt = opts.get(LOKI_FORMAT, FORMAT_PROTOBUF)
        if fmt not in (FORMAT_PROTOBUF, FORMAT_JSON):
            raise invalid(opt(LOKI_FORMAT), f"{fmt!r} is not a format (use protobuf or json)")
        tenant = opts.get(LOKI_TENANT_ID) or None
        if tenant is not None:
            check_header_secret(opt(LOKI_TENANT_ID), tenant)
        text = opts.get(LOKI_EXTERNAL_LABELS, DEFAULT_EXTERNAL_LABELS)
        batch = batch_config(opts, env, LOKI_LIMITS)
        if LOKI_BATCH_SIZE in opts and BATCH_BYTES not in opts:
            size = parse_int(opt(LOKI_BATCH_SIZE), opts[LOKI_BATCH_SIZE], minimum=1)
            batch = replace(batch, bytes=min(size, INGESTION_BURST_SIZE_BYTES))
        if LOKI_BATCH_WAIT in opts and BATCH_WAIT not in opts:
            batch = replace(batch, wait_seconds=_duration(opts, LOKI_BATCH_WAIT, 0.0))
        min_backoff = _duration(opts, LOKI_MIN_BACKOFF, DEFAULT_MIN_BACKOFF)
        max_backoff = _duration(opts, LOKI_MAX_BACKOFF, DEFAULT_MAX_BACKOFF)
        if max_backoff < min_backoff:
            raise invalid(opt(LOKI_MAX_BACKOFF), f"shorter than {LOKI_MIN_BACKOFF!r}")
        retries = RETRY_FOREVER
        if LOKI_RETRIES in opts:
            retries = parse_int(opt(LOKI_RETRIES), opts[LOKI_RETRIES], minimum=0)
        proxy = opts.get(LOKI_PROXY_URL) or None
        if proxy is not None:
            parse_http_url(opt(LOKI_PROXY_URL), proxy, allow_path=True)
        for key in (NO_FILE, KEEP_FILE):
            if opts.get(key):
                parse_bool(opt(key), opts[key])
        return cls(
            endpoints=parse_endpoints(opts[LOKI_URL]),
            batch=batch,
            tls=TLSOptions.from_options(opts, LOKI_TLS_KEYS),
            external_labels=parse_external_labels(text),
            external_labels_text=text,
            tenant_id=tenant,
            format=fmt,
            timeout=_duration(opts, LOKI_TIMEOUT, DEFAULT_TIMEOUT),
            min_backoff=min_backoff,
            max_backoff=max_backoff,
            retries=retries,
            proxy_url=proxy,
            tag_label=TAG in opts,
        )


def _duration(opts: Mapping[str, str], key: str, default: float) -> float:
    return parse_duration(opt(key), opts[key]) if key in opts else default


def parse_endpoints(value: str) -> tuple[Endpoint, ...]:
    """``loki-url``: one or more comma-separated push URLs (tried in turn on failure). A
    ``user:password@`` in a URL is sent as Basic auth (Grafana Cloud's documented form)."""
    endpoints = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            raise invalid(opt(LOKI_URL), "empty URL in the list")
        try:
            parts = urllib.parse.urlsplit(item)
        except ValueError as exc:
            raise invalid(opt(LOKI_URL), "not a URL (expected http:// or https:// and a "
                          "host)") from exc
        auth = None
        password = ""
        if parts.username is not None or parts.password is not None:
            user = urllib.parse.unquote(parts.username or "")
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            auth = f"Basic {token}"
            netloc = parts.netloc.rpartition("@")[2]
            item = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        parse_http_url(opt(LOKI_URL), item, allow_path=True)
        endpoints.append(Endpoint(item, auth, password))
    return tuple(endpoints)


def parse_external_labels(text: str) -> tuple[tuple[str, Tree], ...]:
    """``loki-external-labels``: ``name=template,name=template``, each value a Docker tag
    template over the container's Info (as Loki's driver expands them); names as Loki's."""
    labels = []
    for item in text.split(","):
        parts = item.split("=")
        if len(parts) != 2:
            raise invalid(opt(LOKI_EXTERNAL_LABELS), f"{item!r} is not name=value")
        name, template = parts
        if not _LABEL_NAME.fullmatch(name) or len(name) > MAX_LABEL_NAME_LENGTH:
            raise invalid(opt(LOKI_EXTERNAL_LABELS), f"{name!r} is not a Loki label name")
        try:
            tree = parse(template, FUNCS)
        except TemplateError as exc:
            raise template_error(exc, name) from exc
        labels.append((name, tree))
    return tuple(labels)


def template_error(exc: TemplateError, name: str) -> SinkOptionError:
    """The template engine's error (the problem alone), naming the label and its option."""
    return SinkOptionError(f"invalid value for log-opt {LOKI_EXTERNAL_LABELS!r} "
                           f"(label {name!r}): {exc}")


def sanitize_label_name(name: str) -> str:
    """Loki's driver's ``-`` and ``.`` -> ``_`` (config.go's ExtraAttributes keyMod), then any
    other character LogQL's label syntax refuses -> ``_``, and a leading digit gets ``_``
    before it (Loki's driver would send those and have every push refused)."""
    name = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    if not name or name[0].isdigit():
        name = "_" + name
    return name
