"""configure(): which sinks the log-opts enable, validation naming the key, secrets kept out."""

from __future__ import annotations

import pytest

import sinks
from sinks import SINK_OPTION_KEYS, SinkOptionError, configure
from sinks.datadog.config import DatadogConfig
from sinks.http.config import HttpConfig
from sinks.splunk.config import SplunkConfig

TOKEN = "2160C7EF-2CE9-4307-A180-F852B99CF417"
DD_KEY = "ddkey0123456789abcdef0123456789ab"
SPLUNK = {"splunk-url": "https://hec:8088", "splunk-token": TOKEN}


def test_no_sink_options_no_sinks() -> None:
    assert configure({"max-size": "10m", "tag": "{{.Name}}"}, {}) == []


def test_each_sink_is_enabled_by_its_options() -> None:
    configs = configure({**SPLUNK, "datadog-api-key": DD_KEY, "http-url": "http://h/x"}, {})
    assert [type(c) for c in configs] == [SplunkConfig, DatadogConfig, HttpConfig]
    assert [c.name for c in configs] == ["splunk", "datadog", "http"]
    assert [c.verify_on_start for c in configs] == [True, False, False]


def test_env_supplies_the_secrets() -> None:
    configs = configure({"splunk-url": "https://hec:8088", "datadog-site": "datadoghq.eu"},
                        {"SPLUNK_TOKEN": TOKEN, "DD_API_KEY": DD_KEY})
    splunk, datadog = configs
    assert isinstance(splunk, SplunkConfig) and splunk.token == TOKEN
    assert isinstance(datadog, DatadogConfig) and datadog.api_key == DD_KEY
    (datadog,) = configure({"datadog-api-key": "opt-key"}, {"DD_API_KEY": DD_KEY})
    assert isinstance(datadog, DatadogConfig) and datadog.api_key == "opt-key"  # opt wins


def test_mobys_validate_log_opt_set_is_accepted() -> None:
    # moby daemon/logger/splunk/splunk_test.go TestValidateLogOpt (minus the CA file read)
    opts = {
        "splunk-url": "http://127.0.0.1", "splunk-token": TOKEN, "splunk-source": "mysource",
        "splunk-sourcetype": "mysourcetype", "splunk-index": "myindex",
        "splunk-capath": "/usr/cert.pem", "splunk-caname": "ca_name",
        "splunk-insecureskipverify": "true", "splunk-format": "json",
        "splunk-verify-connection": "true", "splunk-gzip": "true", "splunk-gzip-level": "1",
        "env": "a", "env-regex": "^foo", "labels": "b", "tag": "c",
    }
    (config,) = configure(opts, {})
    assert isinstance(config, SplunkConfig)
    assert (config.format, config.gzip, config.gzip_level, config.fields.index) == (
        "json", True, 1, "myindex")
    assert (config.tls.ca_file, config.tls.server_name, config.tls.skip_verify) == (
        "/usr/cert.pem", "ca_name", True)
    assert set(opts) - {"env", "env-regex", "labels", "tag"} <= SINK_OPTION_KEYS


def test_splunk_defaults_match_dockers_driver() -> None:
    (config,) = configure(SPLUNK, {})
    assert isinstance(config, SplunkConfig)
    assert (config.format, config.verify_connection, config.gzip, config.gzip_level,
            config.index_ack) == ("inline", True, False, -1, False)
    # Docker posts every 5 s or at 1000 events; we cut at ~1 MB (SINKS.md) unless told 1000.
    assert (config.batch.events, config.batch.bytes, config.batch.wait_seconds) == (
        20_000, 1_000_000, 5.0)
    assert config.urls == ("https://hec:8088",)


def test_dockers_splunk_tuning_env_is_honoured() -> None:
    env = {"SPLUNK_LOGGING_DRIVER_POST_MESSAGES_BATCH_SIZE": "200",
           "SPLUNK_LOGGING_DRIVER_POST_MESSAGES_FREQUENCY": "10s"}
    (config,) = configure(SPLUNK, env)
    assert (config.batch.events, config.batch.wait_seconds) == (200, 10.0)


@pytest.mark.parametrize(("opts", "env", "key"), [
    ({"splunk-token": TOKEN}, {}, "splunk-url"),
    ({"splunk-url": "http://hec:8088"}, {}, "splunk-token"),
    ({**SPLUNK, "splunk-url": "hec:8088"}, {}, "splunk-url"),
    ({**SPLUNK, "splunk-url": "https://hec:8088/services/collector"}, {}, "splunk-url"),
    ({**SPLUNK, "splunk-url": "https://a:1,,https://b:2"}, {}, "splunk-url"),
    ({**SPLUNK, "splunk-format": "xml"}, {}, "splunk-format"),
    ({**SPLUNK, "splunk-gzip": "yes"}, {}, "splunk-gzip"),
    ({**SPLUNK, "splunk-gzip-level": "10"}, {}, "splunk-gzip-level"),
    ({**SPLUNK, "splunk-gzip-level": "-2"}, {}, "splunk-gzip-level"),
    ({**SPLUNK, "splunk-verify-connection": "nope"}, {}, "splunk-verify-connection"),
    ({**SPLUNK, "splunk-index-acknowledgment": "2"}, {}, "splunk-index-acknowledgment"),
    ({**SPLUNK, "splunk-insecureskipverify": "maybe"}, {}, "splunk-insecureskipverify"),
    ({**SPLUNK, "splunk-capath": ""}, {}, "splunk-capath"),
    ({**SPLUNK, "splunk-capath": "-----BEGIN CERTIFICATE-----\nxx\n"}, {}, "splunk-capath"),
    ({**SPLUNK, "tag": "{{nope}}"}, {}, "tag"),  # parse error (run-time: at start)
    ({**SPLUNK, "batch-size": "x"}, {}, "batch-size"),
    ({"batch-wait": "x"}, {}, "batch-wait"),  # checked even with no sink enabled
    ({"partial-max-size": "x"}, {}, "partial-max-size"),
    ({"multiline-pattern": "("}, {}, "multiline-pattern"),
    ({"datadog-site": "datadoghq.com"}, {}, "datadog-api-key"),
    ({"datadog-api-key": DD_KEY, "datadog-site": "example.com"}, {}, "datadog-site"),
    ({"datadog-api-key": DD_KEY, "datadog-url": "ftp://x"}, {}, "datadog-url"),
    ({"datadog-api-key": DD_KEY, "datadog-url": "http://h?x=1"}, {}, "datadog-url"),
    ({"datadog-api-key": DD_KEY, "datadog-tags": "env:prod,,x"}, {}, "datadog-tags"),
    ({"datadog-api-key": DD_KEY, "datadog-tags": "a b"}, {}, "datadog-tags"),
    ({"datadog-api-key": DD_KEY, "datadog-gzip": "on"}, {}, "datadog-gzip"),
    ({"datadog-api-key": DD_KEY, "datadog-hostname": " "}, {}, "datadog-hostname"),
    ({"datadog-api-key": DD_KEY, "datadog-tls-skip-verify": "y"}, {}, "datadog-tls-skip-verify"),
    ({"datadog-api-key": DD_KEY, "datadog-tls-key": "/k.pem"}, {}, "datadog-tls-key"),
    ({"datadog-api-key": DD_KEY, "datadog-tls-server-name": "a b"}, {}, "datadog-tls-server-name"),
    ({"http-format": "json"}, {}, "http-url"),
    ({"http-url": "http://h", "http-tls-cert": ""}, {}, "http-tls-cert"),
])
def test_errors_name_the_key(opts: dict[str, str], env: dict[str, str], key: str) -> None:
    with pytest.raises(SinkOptionError) as err:
        configure(opts, env)
    assert f"'{key}'" in str(err.value)


SECRETS = ["Sup3rS3cretTok", "DdS3cretKeyValue", "B3arerS3cret", "PassW0rdS3cret", "HdrS3cret"]


@pytest.mark.parametrize("opts", [
    {"splunk-url": "http://h:1", "splunk-token": "Sup3rS3cretTok\n"},
    {"splunk-url": "bad", "splunk-token": "Sup3rS3cretTok"},
    {"splunk-url": "http://h:1", "splunk-token": "Sup3rS3cretTok", "splunk-format": "x"},
    {"datadog-api-key": "DdS3cretKeyValue\x00"},
    {"datadog-api-key": "DdS3cretKeyValue", "datadog-site": "nope"},
    {"http-url": "http://h", "http-bearer-token": "B3arerS3cret\r"},
    {"http-url": "http://h", "http-bearer-token": "B3arerS3cret", "http-user": "u"},
    {"http-url": "http://h", "http-password": "PassW0rdS3cret"},
    {"http-url": "http://h", "http-password": "PassW0rdS3cret\x7f", "http-user": "u"},
    {"http-url": "http://h", "http-headers": "X-K=HdrS3cret\x01"},
    {"http-url": "http://u:PassW0rdS3cret@h"},
])
def test_no_secret_in_any_error(opts: dict[str, str]) -> None:
    with pytest.raises(SinkOptionError) as err:
        configure(opts, {})
    for secret in SECRETS:
        assert secret not in str(err.value)


def test_no_secret_in_any_repr() -> None:
    configs = configure(
        {"splunk-url": "http://h:1", "splunk-token": SECRETS[0], "datadog-api-key": SECRETS[1],
         "http-url": "http://h/x", "http-user": "u", "http-password": SECRETS[3],
         "http-headers": f"X-K={SECRETS[4]}"}, {})
    text = repr(configs)
    for secret in SECRETS:
        assert secret not in text


def test_sink_option_keys_cover_every_key_the_sinks_read() -> None:
    expected = {
        "splunk-url", "splunk-token", "splunk-source", "splunk-sourcetype", "splunk-index",
        "splunk-capath", "splunk-caname", "splunk-insecureskipverify", "splunk-format",
        "splunk-verify-connection", "splunk-gzip", "splunk-gzip-level",
        "splunk-index-acknowledgment",
        "datadog-api-key", "datadog-site", "datadog-url", "datadog-service", "datadog-source",
        "datadog-tags", "datadog-hostname", "datadog-gzip", "datadog-tls-ca", "datadog-tls-cert",
        "datadog-tls-key", "datadog-tls-server-name", "datadog-tls-skip-verify",
        "http-url", "http-format", "http-headers", "http-user", "http-password",
        "http-bearer-token", "http-gzip", "http-tls-ca", "http-tls-cert", "http-tls-key",
        "http-tls-server-name", "http-tls-skip-verify",
        "loki-url", "loki-external-labels", "loki-tenant-id", "loki-batch-size",
        "loki-batch-wait", "loki-timeout", "loki-min-backoff", "loki-max-backoff", "loki-retries",
        "loki-proxy-url", "loki-tls-ca-file", "loki-tls-cert-file", "loki-tls-key-file",
        "loki-tls-server-name", "loki-tls-insecure-skip-verify", "loki-pipeline-stages",
        "loki-pipeline-stage-file", "loki-relabel-config", "loki-format", "no-file", "keep-file",
        "otlp-endpoint", "otlp-logs-endpoint", "otlp-protocol", "otlp-headers",
        "otlp-compression", "otlp-timeout", "otlp-service-name", "otlp-tls-ca", "otlp-tls-cert",
        "otlp-tls-key", "otlp-tls-server-name", "otlp-tls-skip-verify",
        "batch-size", "batch-bytes", "batch-wait",
        "partial-max-size", "multiline-pattern", "multiline-timeout",
    }
    assert SINK_OPTION_KEYS == expected


def test_join_config_is_exposed() -> None:
    assert sinks.join_config({"multiline-timeout": "2s"}).multiline_timeout == 2.0


async def test_create_builds_each_configs_own_sink() -> None:
    from sinks.registry import FACTORIES
    opts = {"splunk-url": "https://hec:8088", "splunk-token": "t", "datadog-api-key": "k",
            "http-url": "https://h/", "loki-url": "https://l/loki/api/v1/push",
            "otlp-endpoint": "https://o:4318"}
    configs = sinks.configure(opts, {})
    assert {type(c) for c in configs} == set(FACTORIES)
    for config in configs:
        sink = sinks.create(config)
        assert sink.name == config.name and type(sink).__name__.lower().startswith(config.name)
        await sink.close()
    with pytest.raises(TypeError, match="no sink for object"):
        sinks.create(object())  # type: ignore[arg-type]
