"""``otlp-*`` log-opts and the standard ``OTEL_EXPORTER_OTLP_*`` variables -> one OtlpConfig.

Sources: the OpenTelemetry specification, ``specification/protocol/exporter.md`` (options,
per-signal overrides, endpoint URLs, headers) and ``specification/configuration/common.md``
(a timeout is an integer of milliseconds; 0 means no limit; a negative one is ignored).

Which value wins, for every setting: the log-opt, then ``OTEL_EXPORTER_OTLP_LOGS_<X>``, then
``OTEL_EXPORTER_OTLP_<X>`` (both read from the plugin's environment), then the default. For the
endpoint the two log-opts come before both variables (``otlp-logs-endpoint`` before
``otlp-endpoint``). No I/O here; errors name the option or variable and never quote a header
value.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ..util.batch import BatchConfig, BatchLimits, batch_config
from ..util.headers import check_header_name
from ..util.parse import check_header_secret, env_var, invalid, opt, parse_duration, parse_http_url
from ..util.tls import TLSKeys, TLSOptions

OTLP_ENDPOINT = "otlp-endpoint"
OTLP_LOGS_ENDPOINT = "otlp-logs-endpoint"
OTLP_PROTOCOL = "otlp-protocol"
OTLP_HEADERS = "otlp-headers"
# A % not starting a %XX escape (RFC 3986 section 2.1), which W3C Baggage values must use.
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
OTLP_COMPRESSION = "otlp-compression"
OTLP_TIMEOUT = "otlp-timeout"
OTLP_SERVICE_NAME = "otlp-service-name"
OTLP_TLS_KEYS = TLSKeys.with_prefix("otlp")
OTLP_PREFIX = "otlp-"  # any key with it enables the sink
OTLP_KEYS = frozenset({
    OTLP_ENDPOINT, OTLP_LOGS_ENDPOINT, OTLP_PROTOCOL, OTLP_HEADERS, OTLP_COMPRESSION,
    OTLP_TIMEOUT, OTLP_SERVICE_NAME,
}) | OTLP_TLS_KEYS.all()

ENV_PREFIX = "OTEL_EXPORTER_OTLP_"
ENV_LOGS_PREFIX = "OTEL_EXPORTER_OTLP_LOGS_"

PROTOCOL_PROTOBUF = "http/protobuf"
PROTOCOL_JSON = "http/json"
PROTOCOL_GRPC = "grpc"
CONTENT_TYPES = {PROTOCOL_PROTOBUF: "application/x-protobuf", PROTOCOL_JSON: "application/json"}
COMPRESSION_GZIP, COMPRESSION_NONE = "gzip", "none"

DEFAULT_ENDPOINT = "http://localhost:4318"  # exporter.md: the OTLP/HTTP default
LOGS_PATH = "v1/logs"  # appended to a base endpoint (exporter.md "Endpoint URLs for OTLP/HTTP")
DEFAULT_TIMEOUT_SECONDS = 10.0  # exporter.md: Timeout default 10 s
NO_LIMIT_TIMEOUT_SECONDS = (2**31 - 1) / 1000  # common.md: 0 = no limit, "the maximum
# milliseconds representable by a 32-bit integer" (about 24.8 days)
# OTLP/HTTP Request: "The client SHOULD limit the size of the request body, including before
# compression ... RECOMMENDED to use 64 MiB"; the server answers 413 above its own limit.
MAX_REQUEST_BYTES = 64 * 1024 * 1024
# The resource, scope and nesting around the log records: batches are cut this far below the
# request limit so that the resource (labels and env attributes included) always fits.
ENVELOPE_ALLOWANCE = 1024 * 1024
OTLP_DEFAULT_BATCH_EVENTS = 8192  # the Collector's batch processor send_batch_size default
OTLP_DEFAULT_BATCH_BYTES = 1_000_000  # 1 MB: what gateways and managed intakes take untuned
OTLP_DEFAULT_BATCH_WAIT = 1.0  # seconds: the SDK's OTEL_BLRP_SCHEDULE_DELAY default (1000 ms)
OTLP_MAX_BATCH_EVENTS = 100_000  # no protocol limit; bounds one request's memory and retry cost
OTLP_MAX_BATCH_BYTES = MAX_REQUEST_BYTES - ENVELOPE_ALLOWANCE
OTLP_LIMITS = BatchLimits(OTLP_DEFAULT_BATCH_EVENTS, OTLP_DEFAULT_BATCH_BYTES,
                          OTLP_DEFAULT_BATCH_WAIT, OTLP_MAX_BATCH_EVENTS, OTLP_MAX_BATCH_BYTES)

_MS = re.compile(r"[0-9]+")
_MAX_MS_CHARS = 12  # 10^12 ms is 31 years: anything longer is a typo


@dataclass(frozen=True, slots=True)
class Setting:
    """One value and how an error should name where it came from."""

    value: str
    where: str


def setting(opts: Mapping[str, str], env: Mapping[str, str], key: str, suffix: str
            ) -> Setting | None:
    """The log-opt ``key``, else ``OTEL_EXPORTER_OTLP_LOGS_<suffix>``, else
    ``OTEL_EXPORTER_OTLP_<suffix>``; an empty variable counts as unset."""
    if key in opts:
        return Setting(opts[key], opt(key))
    for name in (ENV_LOGS_PREFIX + suffix, ENV_PREFIX + suffix):
        if env.get(name):
            return Setting(env[name], env_var(name))
    return None


def logs_url(base: str) -> str:
    """A base endpoint -> its logs URL: "ensuring that the base URL ends with a slash and then
    appending" ``v1/logs`` (exporter.md)."""
    parts = urllib.parse.urlsplit(base)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urllib.parse.urlunsplit(parts._replace(path=path + LOGS_PATH, fragment=""))


def exact_url(url: str) -> str:
    """A per-signal endpoint is used as is, but "if an URL contains no path part, the root path
    ``/`` MUST be used"."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path or "/", fragment=""))


def endpoint(opts: Mapping[str, str], env: Mapping[str, str]) -> str:
    """The URL to post to: otlp-logs-endpoint (as is), otlp-endpoint (+ v1/logs), then the
    variables in the same order, then ``http://localhost:4318/v1/logs``."""
    candidates = (
        (OTLP_LOGS_ENDPOINT in opts, opts.get(OTLP_LOGS_ENDPOINT, ""), opt(OTLP_LOGS_ENDPOINT),
         True),
        (OTLP_ENDPOINT in opts, opts.get(OTLP_ENDPOINT, ""), opt(OTLP_ENDPOINT), False),
        (bool(env.get(ENV_LOGS_PREFIX + "ENDPOINT")), env.get(ENV_LOGS_PREFIX + "ENDPOINT", ""),
         env_var(ENV_LOGS_PREFIX + "ENDPOINT"), True),
        (bool(env.get(ENV_PREFIX + "ENDPOINT")), env.get(ENV_PREFIX + "ENDPOINT", ""),
         env_var(ENV_PREFIX + "ENDPOINT"), False),
    )
    for given, value, where, exact in candidates:
        if given:
            parse_http_url(where, value, allow_path=True)
            return exact_url(value) if exact else logs_url(value)
    return logs_url(DEFAULT_ENDPOINT)


def parse_protocol(found: Setting | None) -> str:
    if found is None:
        return PROTOCOL_PROTOBUF
    value = found.value.strip()
    if value == PROTOCOL_GRPC:
        raise invalid(found.where, "grpc is not supported: this sink speaks OTLP/HTTP (use "
                                   "http/protobuf or http/json, port 4318 on a Collector)")
    if value not in CONTENT_TYPES:
        raise invalid(found.where, f"{value!r} is not a protocol (use http/protobuf or "
                                   "http/json)")
    return value


def parse_headers(found: Setting | None) -> dict[str, str]:
    """``k=v,k=v`` in the W3C Baggage form the specification names: keys and values
    percent-decoded (``+`` stays a plus), spaces around them dropped, no ``;`` properties.
    Every value is treated as a secret: errors name the header, never its value."""
    headers: dict[str, str] = {}
    if found is None:
        return headers
    items = found.value.split(",")
    for number, item in enumerate(items, 1):
        if not item.strip():
            continue
        position = f"item {number} of {len(items)}"
        raw_name, sep, raw_value = item.partition("=")
        if BAD_ESCAPE.search(raw_name):
            raise invalid(found.where, f"{position}: a malformed percent-escape in the name")
        name = urllib.parse.unquote(raw_name.strip())
        check_header_name(found.where, name, "key=value,key2=value2", item=position,
                          has_value=bool(sep))
        if BAD_ESCAPE.search(raw_value):
            raise invalid(f"{found.where} header {name!r}", "a malformed percent-escape (a % "
                          "not followed by two hex digits)")
        try:
            value = urllib.parse.unquote(raw_value.strip(), errors="strict")
        except UnicodeDecodeError as exc:
            raise invalid(f"{found.where} header {name!r}", "percent-encoding that is not "
                          "UTF-8") from exc
        check_header_secret(f"{found.where} header {name!r}", value)
        headers[name] = value
    return headers


def parse_compression(found: Setting | None) -> bool:
    """True for gzip (the default, as the Collector's otlphttp exporter), False for none."""
    if found is None:
        return True
    value = found.value.strip()
    if value not in (COMPRESSION_GZIP, COMPRESSION_NONE):
        raise invalid(found.where, f"{value!r} is not a compression (use gzip or none)")
    return value == COMPRESSION_GZIP


def parse_timeout(opts: Mapping[str, str], env: Mapping[str, str]) -> float:
    """Seconds. The log-opt takes milliseconds (``5000``, as the variables) or a Go duration
    (``5s``); the variables take milliseconds, and a negative one is ignored (common.md).
    0 means no limit."""
    if OTLP_TIMEOUT in opts:
        value = opts[OTLP_TIMEOUT].strip()
        if _MS.fullmatch(value):
            return _milliseconds(opt(OTLP_TIMEOUT), value)
        return parse_duration(opt(OTLP_TIMEOUT), value)
    for name in (ENV_LOGS_PREFIX + "TIMEOUT", ENV_PREFIX + "TIMEOUT"):
        value = env.get(name, "").strip()
        if not value or value.startswith("-"):
            continue
        if not _MS.fullmatch(value):
            raise invalid(env_var(name), f"{value[:20]!r} is not a number of milliseconds")
        return _milliseconds(env_var(name), value)
    return DEFAULT_TIMEOUT_SECONDS


def _milliseconds(where: str, value: str) -> float:
    if len(value) > _MAX_MS_CHARS:
        raise invalid(where, f"{value[:_MAX_MS_CHARS]!r}... is too long a timeout")
    ms = int(value)
    return NO_LIMIT_TIMEOUT_SECONDS if ms == 0 else ms / 1000


OTLP_TLS_CA = "otlp-tls-ca"
OTLP_TLS_CERT = "otlp-tls-cert"
OTLP_TLS_KEY = "otlp-tls-key"
# The TLS files' variables: OTEL_EXPORTER_OTLP_[LOGS_]<suffix>
TLS_FILE_VARIABLES = {OTLP_TLS_CA: "CERTIFICATE", OTLP_TLS_CERT: "CLIENT_CERTIFICATE",
                      OTLP_TLS_KEY: "CLIENT_KEY"}


def tls_options(opts: Mapping[str, str], env: Mapping[str, str]) -> TLSOptions:
    """``otlp-tls-*``; the CA, client certificate and key fall back to the variables
    ``..._CERTIFICATE``, ``..._CLIENT_CERTIFICATE``, ``..._CLIENT_KEY``. An error about a value
    from a variable names the variable beside the log-opt."""
    merged = {k: v for k, v in opts.items() if k in OTLP_TLS_KEYS.all()}
    label: dict[str, str] = {}  # how TLSOptions' errors name each file option
    for key, suffix in TLS_FILE_VARIABLES.items():
        found = setting(opts, env, key, suffix)
        label[key] = key
        if found is not None and key not in opts:
            label[key] = f"{key} (from {found.where})"
            merged[label[key]] = found.value
    keys = TLSKeys(ca=label[OTLP_TLS_CA], server_name=OTLP_TLS_KEYS.server_name,
                   skip_verify=OTLP_TLS_KEYS.skip_verify, cert=label[OTLP_TLS_CERT],
                   key=label[OTLP_TLS_KEY])
    return TLSOptions.from_options(merged, keys)


@dataclass(frozen=True, slots=True)
class OtlpConfig:
    """Validated ``otlp-*`` log-opts (with the OTEL_EXPORTER_OTLP_* defaults applied)."""

    name: ClassVar[str] = "otlp"
    url: str = field(repr=False)  # may carry a token in its query string
    batch: BatchConfig
    tls: TLSOptions
    protocol: str = PROTOCOL_PROTOBUF
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # all secrets
    gzip: bool = True
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    service_name: str = ""  # "" = the Compose service label, else the container name

    @property
    def verify_on_start(self) -> bool:
        return False  # OTLP has no health call, and senders SHOULD NOT send empty requests

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.protocol]

    @classmethod
    def from_options(cls, opts: Mapping[str, str], env: Mapping[str, str]) -> OtlpConfig:
        service = opts.get(OTLP_SERVICE_NAME)
        if service is not None and not service.strip():
            raise invalid(opt(OTLP_SERVICE_NAME), "empty")
        return cls(
            url=endpoint(opts, env),
            batch=batch_config(opts, env, OTLP_LIMITS),
            tls=tls_options(opts, env),
            protocol=parse_protocol(setting(opts, env, OTLP_PROTOCOL, "PROTOCOL")),
            headers=parse_headers(setting(opts, env, OTLP_HEADERS, "HEADERS")),
            gzip=parse_compression(setting(opts, env, OTLP_COMPRESSION, "COMPRESSION")),
            timeout=parse_timeout(opts, env),
            service_name=service or "",
        )


