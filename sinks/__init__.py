"""Sink adapters (Splunk HEC, Datadog, HTTP, Grafana Loki, OpenTelemetry OTLP): they see plain
records; the plugin (logdriver) and proto are never imported here.

Layout, and the one direction of imports (util <- docker <- vendors <- this module)::

    util/      the shared layer, no vendor: client (the one HTTP seam), send (the step every
               send goes through), answer, retry, batch, tls, parse, headers, goregexp, gojson,
               timefmt, record, base (the Sink and SinkConfig protocols), errors
    docker/    Docker's semantics: template (tag, over the gotemplate/ engine), attrs, context
    splunk/    config, encoder, sink, answer (HEC's codes), ack (indexer acknowledgement)
    datadog/   config, encoder, sink
    http/      config, encoder, sink
    loki/      config, labels, encoder, sink, answer (Loki's 400 texts)
    otlp/      config, encoder, sink, answer (OTLP/HTTP's codes and partial success)

Entry points for the plugin: ``SINK_OPTION_KEYS`` (log-opts the sinks own), ``configure``
(log-opts -> one frozen config per enabled sink, no I/O), ``join_config``, ``context_for``
(StartLogging Info -> Context), then per config ``create(config)`` (``registry``) -> a Sink with
``encode``, ``send``, ``verify`` and ``close``; ``send`` answers an ``Answer`` (``outcome``, and
``fault`` to tell a setting from bad data).
"""
from __future__ import annotations

from collections.abc import Mapping

from .datadog import DATADOG_KEYS, DATADOG_PREFIX, DatadogConfig
from .docker.context import context_for as _context_for
from .docker.template import TAG, render_tag, validate_tag
from .http import HTTP_KEYS, HTTP_LIMITS, HTTP_PREFIX, HttpConfig
from .loki import LOKI_KEYS, LOKI_PREFIX, LokiConfig, check_context
from .otlp import OTLP_KEYS, OTLP_PREFIX, OtlpConfig
from .registry import create
from .splunk import SPLUNK_KEYS, SplunkConfig
from .util.answer import Answer, Fault, Outcome
from .util.base import Sink, SinkConfig
from .util.batch import (
    BATCH_KEYS,
    JOIN_KEYS,
    BatchConfig,
    JoinConfig,
    batch_config,
    batch_cost,
    plan_batches,
)
from .util.errors import SinkOptionError, SinkVerifyError
from .util.record import Context, Record, Records, TagInfo
from .util.retry import backoff, classify_http

SINK_OPTION_KEYS: frozenset[str] = (SPLUNK_KEYS | DATADOG_KEYS | HTTP_KEYS | LOKI_KEYS
                                     | OTLP_KEYS | BATCH_KEYS | JOIN_KEYS)

__all__ = [
    "SINK_OPTION_KEYS", "Answer", "BatchConfig", "Context", "DatadogConfig", "Fault",
    "HttpConfig", "JoinConfig", "LokiConfig", "OtlpConfig", "Outcome", "Record", "Records",
    "Sink", "SinkConfig", "TAG",
    "SinkOptionError", "SinkVerifyError", "SplunkConfig", "TagInfo", "backoff", "batch_cost",
    "classify_http", "configure", "context_for", "create", "join_config", "plan_batches",
    "render_tag",
]


def configure(opts: Mapping[str, str], env: Mapping[str, str]) -> list[SinkConfig]:
    """One validated config per sink the log-opts enable, in the order splunk, datadog, http, loki,
    otlp.

    A sink is enabled by any of its keys (``splunk-*`` then needs ``splunk-url``; ``datadog-*``
    needs an API key from ``datadog-api-key`` or env ``DD_API_KEY``; ``http-*`` needs
    ``http-url``; ``loki-*`` needs ``loki-url``; ``otlp-*`` takes its endpoint from the
    OTEL_EXPORTER_OTLP_* variables, or localhost:4318, when no ``otlp-endpoint`` is given). Every
    value of a key in SINK_OPTION_KEYS is checked, and ``tag`` when a sink is enabled; no I/O.
    Raises SinkOptionError naming the key, never quoting a secret.
    """
    for key, value in opts.items():
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError as exc:  # a lone surrogate: JSON "\udcff"
                raise SinkOptionError(f"invalid value for log-opt {key!r}: not valid Unicode"
                                      ) from exc
    join_config(opts)
    configs: list[SinkConfig] = []
    if any(key in SPLUNK_KEYS for key in opts):
        configs.append(SplunkConfig.from_options(opts, env))
    if any(key.startswith(DATADOG_PREFIX) for key in opts):
        configs.append(DatadogConfig.from_options(opts, env))
    if any(key.startswith(HTTP_PREFIX) for key in opts):
        configs.append(HttpConfig.from_options(opts, env))
    if any(key.startswith(LOKI_PREFIX) for key in opts):
        configs.append(LokiConfig.from_options(opts, env))
    if any(key.startswith(OTLP_PREFIX) for key in opts):
        configs.append(OtlpConfig.from_options(opts, env))
    if not configs:  # nothing to batch for, but a bad value is still reported now
        batch_config(opts, env, HTTP_LIMITS)
    if configs and TAG in opts:
        validate_tag(opts[TAG])
    return configs


def context_for(info: Mapping[str, object], opts: Mapping[str, str], *, hostname: str
                ) -> Context:
    """``context.context_for``, and the sinks' checks that need the container (Loki's labels)."""
    ctx = _context_for(info, opts, hostname=hostname)
    check_context(opts, ctx)
    return ctx


def join_config(opts: Mapping[str, str]) -> JoinConfig:
    """``partial-max-size``, ``multiline-pattern``, ``multiline-timeout``, validated."""
    return JoinConfig.from_options(opts)
