"""otlp-* log-opts and OTEL_EXPORTER_OTLP_* variables: every option, precedence, bad values."""

from __future__ import annotations

import pytest

import sinks
from sinks.otlp.config import (
    DEFAULT_TIMEOUT_SECONDS,
    NO_LIMIT_TIMEOUT_SECONDS,
    OTLP_DEFAULT_BATCH_BYTES,
    OTLP_DEFAULT_BATCH_EVENTS,
    OTLP_DEFAULT_BATCH_WAIT,
    OtlpConfig,
)
from sinks.util.errors import SinkOptionError


def cfg(opts: dict[str, str] | None = None, env: dict[str, str] | None = None) -> OtlpConfig:
    return OtlpConfig.from_options(opts or {}, env or {})


def refused(opts: dict[str, str], env: dict[str, str] | None = None) -> str:
    with pytest.raises(SinkOptionError) as info:
        cfg(opts, env)
    return str(info.value)


def test_defaults() -> None:
    c = cfg()
    assert c.url == "http://localhost:4318/v1/logs"
    assert (c.protocol, c.content_type, c.gzip, c.timeout) == (
        "http/protobuf", "application/x-protobuf", True, DEFAULT_TIMEOUT_SECONDS)
    assert dict(c.headers) == {} and c.service_name == "" and not c.verify_on_start
    assert (c.batch.events, c.batch.bytes, c.batch.wait_seconds) == (
        OTLP_DEFAULT_BATCH_EVENTS, OTLP_DEFAULT_BATCH_BYTES, OTLP_DEFAULT_BATCH_WAIT)


@pytest.mark.parametrize(("opts", "env", "url"), [
    ({"otlp-endpoint": "http://c:4318"}, {}, "http://c:4318/v1/logs"),
    ({"otlp-endpoint": "https://c/my/collector/"}, {}, "https://c/my/collector/v1/logs"),
    ({"otlp-endpoint": "https://c/base?x=1"}, {}, "https://c/base/v1/logs?x=1"),
    ({"otlp-logs-endpoint": "http://c:4318"}, {}, "http://c:4318/"),  # as is, "/" if no path
    ({"otlp-logs-endpoint": "https://c/in/logs"}, {}, "https://c/in/logs"),
    ({"otlp-logs-endpoint": "http://a/x", "otlp-endpoint": "http://b"}, {}, "http://a/x"),
    ({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:4318"}, "http://e:4318/v1/logs"),
    ({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT":
          "http://l/p"}, "http://l/p"),
    # any log-opt beats any variable
    ({"otlp-endpoint": "http://o"}, {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://l/p"},
     "http://o/v1/logs"),
])
def test_endpoint_precedence_and_urls(opts: dict[str, str], env: dict[str, str], url: str
                                      ) -> None:
    assert cfg(opts, env).url == url


@pytest.mark.parametrize(("opts", "env", "named"), [
    ({"otlp-endpoint": "ftp://c"}, {}, "log-opt 'otlp-endpoint'"),
    ({"otlp-logs-endpoint": "c:4318"}, {}, "log-opt 'otlp-logs-endpoint'"),
    ({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "nope"},
     "environment variable OTEL_EXPORTER_OTLP_ENDPOINT"),
    ({"otlp-endpoint": "http://u:secretpw@c"}, {}, "log-opt 'otlp-endpoint'"),
])
def test_bad_endpoints_name_where_they_came_from(opts: dict[str, str], env: dict[str, str],
                                                 named: str) -> None:
    message = refused(opts, env)
    assert named in message and "secretpw" not in message


def test_protocol() -> None:
    assert cfg({"otlp-protocol": "http/json"}).content_type == "application/json"
    assert cfg({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}).protocol == "http/json"
    assert cfg({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf"}).protocol == \
        "http/protobuf"
    assert "grpc is not supported" in refused({"otlp-protocol": "grpc"})
    message = refused({}, {"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc"})
    assert "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL" in message and "grpc" in message
    assert "log-opt 'otlp-protocol'" in refused({"otlp-protocol": "thrift"})


def test_headers_are_percent_decoded_and_never_quoted() -> None:
    c = cfg({"otlp-headers": " api-key = a%20b%2Cc+d , X-Tenant=t1,,"})
    assert dict(c.headers) == {"api-key": "a b,c+d", "X-Tenant": "t1"}
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "a=1", "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "b=2"}
    assert dict(cfg({}, env).headers) == {"b": "2"}
    assert dict(cfg({"otlp-headers": "c=3"}, env).headers) == {"c": "3"}


@pytest.mark.parametrize("value", ["novalue", "bad name=x", "Content-Type=x", "k=",
                                   "k=sec%0Aret", "k=%FFsecret"])
def test_bad_headers(value: str) -> None:
    message = refused({"otlp-headers": value})
    assert "log-opt 'otlp-headers'" in message and "secret" not in message.replace(
        "otlp-headers", "")


@pytest.mark.parametrize(("value", "says"), [
    ("Authorization: Bearer LeakedSecret456", "item 1 of 1 is not key=value"),
    ("api-key=abc,Bearer LeakedSecret123", "item 2 of 2 is not key=value"),
    ("LeakedSecret789", "item 1 of 1 is not key=value"),
    ("Authorization: Bearer LeakedSecret=", "item 1 of 1: the header name is not"),
    ("Authorization=Bearer%ZZLeakedSecret", "header 'Authorization': a malformed percent-escape"),
    ("Authorization=LeakedSecret%4", "header 'Authorization': a malformed percent-escape"),
    ("Leaked%ZZSecret=x", "item 1 of 1: a malformed percent-escape in the name"),
])
@pytest.mark.parametrize("where", ["otlp-headers", "OTEL_EXPORTER_OTLP_HEADERS",
                                   "OTEL_EXPORTER_OTLP_LOGS_HEADERS"])
def test_malformed_headers_name_the_option_and_never_the_text(value: str, says: str,
                                                               where: str) -> None:
    if where.startswith("OTEL"):
        message = refused({}, {where: value})
        assert f"environment variable {where}" in message
    else:
        message = refused({where: value})
        assert f"log-opt {where!r}" in message
    assert says in message and "Leaked" not in message and "Bearer" not in message


def test_compression() -> None:
    assert cfg({"otlp-compression": "none"}).gzip is False
    assert cfg({}, {"OTEL_EXPORTER_OTLP_COMPRESSION": "none"}).gzip is False
    assert cfg({"otlp-compression": "gzip"}, {"OTEL_EXPORTER_OTLP_COMPRESSION": "none"}).gzip
    assert "log-opt 'otlp-compression'" in refused({"otlp-compression": "zstd"})
    assert "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION" in refused(
        {}, {"OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": "br"})


def test_timeout() -> None:
    assert cfg({"otlp-timeout": "2500"}).timeout == 2.5  # milliseconds, as the variables
    assert cfg({"otlp-timeout": "3s"}).timeout == 3.0  # or a Go duration
    assert cfg({"otlp-timeout": "0"}).timeout == NO_LIMIT_TIMEOUT_SECONDS
    assert cfg({}, {"OTEL_EXPORTER_OTLP_TIMEOUT": "1500"}).timeout == 1.5
    assert cfg({}, {"OTEL_EXPORTER_OTLP_TIMEOUT": "1500",
                    "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "500"}).timeout == 0.5
    # a negative variable is ignored (common.md), the next one or the default applies
    assert cfg({}, {"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "-1"}).timeout == DEFAULT_TIMEOUT_SECONDS
    assert "log-opt 'otlp-timeout'" in refused({"otlp-timeout": "soon"})
    assert "log-opt 'otlp-timeout'" in refused({"otlp-timeout": "-5s"})
    assert "OTEL_EXPORTER_OTLP_TIMEOUT" in refused({}, {"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"})


def test_tls_options_and_their_variables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = cfg({"otlp-tls-ca": "/ca.pem", "otlp-tls-cert": "/c.pem", "otlp-tls-key": "/k.pem",
             "otlp-tls-server-name": "collector", "otlp-tls-skip-verify": "true"})
    assert (c.tls.ca_file, c.tls.cert_file, c.tls.key_file, c.tls.server_name,
            c.tls.skip_verify) == ("/ca.pem", "/c.pem", "/k.pem", "collector", True)
    env = {"OTEL_EXPORTER_OTLP_CERTIFICATE": "/env-ca.pem",
           "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE": "/env-c.pem",
           "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/general-c.pem",
           "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/env-k.pem"}
    c = cfg({}, env)
    assert (c.tls.ca_file, c.tls.cert_file, c.tls.key_file) == (
        "/env-ca.pem", "/env-c.pem", "/env-k.pem")
    assert cfg({"otlp-tls-ca": "/opt.pem"}, env).tls.ca_file == "/opt.pem"
    missing = str(tmp_path / "missing.pem")
    bad = cfg({}, {"OTEL_EXPORTER_OTLP_CERTIFICATE": missing})
    with pytest.raises(SinkOptionError, match="OTEL_EXPORTER_OTLP_CERTIFICATE"):
        bad.tls.ssl_context()
    assert "log-opt 'otlp-tls-skip-verify'" in refused({"otlp-tls-skip-verify": "maybe"})


def test_service_name_and_batching() -> None:
    assert cfg({"otlp-service-name": "shop"}).service_name == "shop"
    assert "log-opt 'otlp-service-name'" in refused({"otlp-service-name": " "})
    c = cfg({"batch-size": "10", "batch-bytes": "64k", "batch-wait": "200ms"})
    assert (c.batch.events, c.batch.bytes, c.batch.wait_seconds) == (10, 64_000, 0.2)


def test_configure_enables_it_after_http_and_knows_its_keys() -> None:
    configs = sinks.configure({"otlp-service-name": "a", "http-url": "http://h/"}, {})
    assert [c.name for c in configs] == ["http", "otlp"]
    assert {"otlp-endpoint", "otlp-logs-endpoint", "otlp-protocol", "otlp-headers",
            "otlp-compression", "otlp-timeout", "otlp-service-name", "otlp-tls-ca",
            "otlp-tls-cert", "otlp-tls-key", "otlp-tls-server-name",
            "otlp-tls-skip-verify"} <= sinks.SINK_OPTION_KEYS
    assert sinks.configure({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}) == []


@pytest.mark.parametrize("key", ["otlp-endpoint", "otlp-logs-endpoint"])
def test_endpoint_errors_never_show_a_password(key: str) -> None:
    message = refused({key: "user:LeakPw5@collector:4318"})
    assert f"log-opt {key!r}" in message and "LeakPw5" not in message


class _Watched(dict[str, str]):
    """An environment that notes every variable the config looks up."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)


def test_every_variable_the_sink_reads_can_be_set_with_docker_plugin_set() -> None:
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    env = _Watched()
    OtlpConfig.from_options({}, env)  # (cfg() would swap an empty mapping for {})
    assert {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT"} <= env.asked
    plugin = json.loads((Path(__file__).parents[4] / "plugin" / "config.json").read_text())
    settable = {e["name"] for e in plugin["env"] if "value" in e.get("settable", [])}
    assert sorted(env.asked - settable) == []
