"""loki-* log-opts: every option parsed as Loki's Docker driver reads it; bad values name it."""

from __future__ import annotations

import base64

import pytest

import sinks
from sinks.loki.config import (
    DEFAULT_BATCH_BYTES,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MIN_BACKOFF,
    DEFAULT_TIMEOUT,
    INGESTION_BURST_SIZE_BYTES,
    LOKI_KEYS,
    RETRY_FOREVER,
    LokiConfig,
    sanitize_label_name,
)
from sinks.util.errors import SinkOptionError

URL = "http://loki:3100/loki/api/v1/push"


def config(**opts: str) -> LokiConfig:
    return LokiConfig.from_options({"loki-url": URL, **opts}, {})


def test_defaults_are_loki_drivers_but_retries_forever() -> None:
    cfg = config()
    assert [e.url for e in cfg.endpoints] == [URL]
    assert cfg.batch.bytes == DEFAULT_BATCH_BYTES == 1024 * 1024
    assert cfg.batch.wait_seconds == 1.0
    assert (cfg.timeout, cfg.min_backoff, cfg.max_backoff) == (
        DEFAULT_TIMEOUT, DEFAULT_MIN_BACKOFF, DEFAULT_MAX_BACKOFF) == (10.0, 0.5, 300.0)
    assert cfg.retries == RETRY_FOREVER
    assert cfg.format == "protobuf" and cfg.tenant_id is None and cfg.proxy_url is None
    assert cfg.external_labels_text == "container_name={{.Name}}"
    assert not cfg.tag_label and not cfg.verify_on_start


def test_every_option() -> None:
    cfg = config(**{
        "loki-url": f"{URL},https://u1:p%40ss@logs.example/loki/api/v1/push",
        "loki-external-labels": "job=docker,img={{.ImageName}}", "loki-tenant-id": "team-a",
        "loki-batch-size": "204800", "loki-batch-wait": "3s", "loki-timeout": "2s",
        "loki-min-backoff": "100ms", "loki-max-backoff": "1m", "loki-retries": "4",
        "loki-proxy-url": "http://proxy:3128", "loki-tls-ca-file": "/ca.pem",
        "loki-tls-cert-file": "/c.pem", "loki-tls-key-file": "/k.pem",
        "loki-tls-server-name": "loki.internal", "loki-tls-insecure-skip-verify": "true",
        "loki-format": "json", "no-file": "true", "keep-file": "false", "tag": "{{.Name}}",
    })
    second = cfg.endpoints[1]
    assert second.url == "https://logs.example/loki/api/v1/push"
    assert second.authorization == "Basic " + base64.b64encode(b"u1:p@ss").decode()
    assert "p%40ss" not in repr(cfg) and "p@ss" not in repr(cfg)
    assert [name for name, _ in cfg.external_labels] == ["job", "img"]
    assert cfg.tenant_id == "team-a"
    assert (cfg.batch.bytes, cfg.batch.wait_seconds) == (204800, 3.0)
    assert (cfg.timeout, cfg.min_backoff, cfg.max_backoff, cfg.retries) == (2.0, 0.1, 60.0, 4)
    assert cfg.proxy_url == "http://proxy:3128"
    tls = cfg.tls
    assert (tls.ca_file, tls.cert_file, tls.key_file, tls.server_name, tls.skip_verify) == (
        "/ca.pem", "/c.pem", "/k.pem", "loki.internal", True)
    assert cfg.format == "json" and cfg.tag_label


def test_batch_size_is_capped_at_lokis_ingestion_burst() -> None:
    assert config(**{"loki-batch-size": str(10 ** 9)}).batch.bytes == INGESTION_BURST_SIZE_BYTES


def test_enabled_by_any_loki_key_and_keys_are_known_to_the_plugin() -> None:
    assert [c.name for c in sinks.configure({"loki-url": URL}, {})] == ["loki"]
    assert LOKI_KEYS <= sinks.SINK_OPTION_KEYS
    assert {"no-file", "keep-file", "loki-relabel-config"} <= LOKI_KEYS
    assert sinks.configure({"no-file": "true"}, {}) == []  # accepted, enables nothing
    with pytest.raises(SinkOptionError, match="'loki-url' is required"):
        sinks.configure({"loki-tenant-id": "a"}, {})


@pytest.mark.parametrize("key, value, message", [
    ("loki-url", "ftp://loki/push", "'loki-url'"),
    ("loki-url", f"{URL},", "'loki-url': empty URL"),
    ("loki-url", "http://:3100/x", "'loki-url'"),
    ("loki-external-labels", "job", "'loki-external-labels': 'job' is not name=value"),
    ("loki-external-labels", "a=b=c", "'loki-external-labels'"),
    ("loki-external-labels", "bad-name=x", "'loki-external-labels': 'bad-name'"),
    ("loki-external-labels", "job={{.Nope", "'loki-external-labels' (label 'job')"),
    ("loki-tenant-id", "a\nb", "'loki-tenant-id'"),
    ("loki-batch-size", "1m", "'loki-batch-size'"),
    ("loki-batch-size", "0", "'loki-batch-size'"),
    ("loki-batch-wait", "1", "'loki-batch-wait'"),
    ("loki-timeout", "-1s", "'loki-timeout'"),
    ("loki-min-backoff", "soon", "'loki-min-backoff'"),
    ("loki-max-backoff", "100ms", "'loki-max-backoff': shorter than 'loki-min-backoff'"),
    ("loki-retries", "-1", "'loki-retries'"),
    ("loki-retries", "ten", "'loki-retries'"),
    ("loki-proxy-url", "proxy:3128", "'loki-proxy-url'"),
    ("loki-tls-insecure-skip-verify", "yes", "'loki-tls-insecure-skip-verify'"),
    ("loki-tls-key-file", "/k.pem", "'loki-tls-key-file' needs 'loki-tls-cert-file'"),
    ("loki-tls-server-name", "", "'loki-tls-server-name'"),
    ("loki-format", "logfmt", "'loki-format'"),
    ("no-file", "maybe", "'no-file'"),
    ("keep-file", "2", "'keep-file'"),
])
def test_bad_values_name_the_option(key: str, value: str, message: str) -> None:
    with pytest.raises(SinkOptionError) as caught:
        config(**{key: value})
    assert message in str(caught.value)


@pytest.mark.parametrize("key", ["loki-pipeline-stages", "loki-pipeline-stage-file",
                                 "loki-relabel-config"])
def test_pipeline_and_relabel_are_refused_with_what_to_do(key: str) -> None:
    with pytest.raises(SinkOptionError) as caught:
        config(**{key: "- json: {}"})
    text = str(caught.value)
    assert repr(key) in text and "Alloy" in text and "loki-external-labels" in text


def test_errors_never_quote_the_password() -> None:
    with pytest.raises(SinkOptionError) as caught:
        config(**{"loki-url": "ftp://user:s3cret-pw@loki/push"})
    assert "s3cret-pw" not in str(caught.value)


@pytest.mark.parametrize("name, want", [
    ("com.docker.compose.service", "com_docker_compose_service"),
    ("team-name", "team_name"), ("STAGE", "STAGE"), ("9lives", "_9lives"),
    ("héllo wörld", "h_llo_w_rld"),
])
def test_label_names_are_sanitised_as_lokis_driver_and_logql_need(name: str, want: str) -> None:
    assert sanitize_label_name(name) == want


@pytest.mark.parametrize("value", [
    "user:LeakPw1@lokihost:3100/loki/api/v1/push",
    "http://ok:3100/loki/api/v1/push,user:LeakPw2@lokihost:3100/loki/api/v1/push",
    "http://user:LeakPw3@bad host:3100/loki/api/v1/push",
])
def test_loki_url_errors_never_show_a_password(value: str) -> None:
    with pytest.raises(SinkOptionError) as err:
        LokiConfig.from_options({"loki-url": value}, {})
    assert "log-opt 'loki-url'" in str(err.value) and "LeakPw" not in str(err.value)
    assert "user" not in str(err.value)


def test_loki_url_error_shows_no_invented_text() -> None:
    with pytest.raises(SinkOptionError) as err:
        LokiConfig.from_options({"loki-url": "not a url"}, {})
    assert "://not" not in str(err.value)
