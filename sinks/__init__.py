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

Entry points for the plugin: ``SINK_OPTION_KEYS`` (log-opts the sinks own), ``setup``
(log-opts -> one frozen SinkSetup: a config per enabled sink, the join config, the parsed tag
template and attribute selectors, no I/O; ``configure`` is its configs alone), ``context_for``
(StartLogging Info -> Context), then per config ``create(config)`` (``registry``) -> a Sink with
``encode``, ``send``, ``verify`` and ``close``; ``send`` answers an ``Answer`` (``outcome``, and
``fault`` to tell a setting from bad data). ``load_kernels`` and ``kernel_report``
(util/twin.py): which twin of each compiled kernel this process runs, for status and /metrics.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .datadog import DATADOG_KEYS, DATADOG_PREFIX, DatadogConfig
from .docker.attrs import ENV, ENV_REGEX, LABELS, LABELS_REGEX, AttrSelectors
from .docker.context import context_for as _context_for
from .docker.template import TAG, TagTemplate, render_tag
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
    batch_fit,
    plan_batches,
)
from .util.body import Body
from .util.errors import SinkOptionError, SinkVerifyError
from .util.parse import check_unicode, opt, parse_bool, parse_size
from .util.record import Context, Record, Records, TagInfo
from .util.retry import backoff, classify_http
from .util.tls import with_tls_files_read
from .util.twin import load_kernels
from .util.twin import report as kernel_report
from .util.units import go_atoi

SINK_OPTION_KEYS: frozenset[str] = (SPLUNK_KEYS | DATADOG_KEYS | HTTP_KEYS | LOKI_KEYS
                                     | OTLP_KEYS | BATCH_KEYS | JOIN_KEYS)

__all__ = [
    "ENV", "ENV_REGEX", "LABELS", "LABELS_REGEX", "SINK_OPTION_KEYS", "TAG", "Answer",
    "AttrSelectors", "BatchConfig", "Body", "Context", "DatadogConfig", "Fault", "HttpConfig",
    "JoinConfig", "LokiConfig", "OtlpConfig", "Outcome", "Record", "Records", "Sink",
    "SinkConfig", "SinkOptionError", "SinkSetup", "SinkVerifyError", "SplunkConfig", "TagInfo",
    "TagTemplate", "backoff", "batch_cost", "batch_fit", "check_batch_env", "check_unicode",
    "classify_http", "configure", "context_for", "create", "go_atoi", "join_config",
    "kernel_report", "load_kernels", "opt", "parse_bool", "parse_size",
    "plan_batches", "render_tag", "setup", "with_tls_files_read",
]


@dataclass(frozen=True, slots=True)
class SinkSetup:
    """One container's log-opts as the sinks read them, each parsed once."""

    configs: tuple[SinkConfig, ...]  # one per enabled sink, in the order of ``setup``
    join: JoinConfig  # partial-max-size, multiline-*
    attrs: AttrSelectors  # labels, labels-regex, env, env-regex
    tag: TagTemplate | None = None  # parsed when a sink is enabled (it renders only for them)


def setup(opts: Mapping[str, str], env: Mapping[str, str], *,
          attrs: AttrSelectors | None = None) -> SinkSetup:
    """Every log-opt the sinks read, parsed once: one validated config per sink the log-opts
    enable, in the order splunk, datadog, http, loki, otlp; the join config; ``tag`` (when a
    sink is enabled) and the attribute selectors (``attrs`` when the caller parsed them).

    A sink is enabled by any of its keys (``splunk-*`` then needs ``splunk-url``; ``datadog-*``
    needs an API key from ``datadog-api-key`` or env ``DD_API_KEY``; ``http-*`` needs
    ``http-url``; ``loki-*`` needs ``loki-url``; ``otlp-*`` takes its endpoint from the
    OTEL_EXPORTER_OTLP_* variables, or localhost:4318, when no ``otlp-endpoint`` is given). No
    I/O. The caller has checked the options are valid Unicode (``check_unicode``). Raises
    SinkOptionError naming the key, never quoting a secret.
    """
    join = JoinConfig.from_options(opts)
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
    return SinkSetup(
        configs=tuple(configs), join=join,
        attrs=AttrSelectors.from_options(opts) if attrs is None else attrs,
        tag=TagTemplate.from_option(opts.get(TAG)) if configs else None,
    )


def check_batch_env(env: Mapping[str, str]) -> None:
    """The plugin-wide batch defaults (``LOGDRIVER_BATCH_SIZE``, ``_BYTES``, ``_WAIT``), checked
    by the rules of their log-opts. Raises SinkOptionError naming the variable; the plugin calls
    it when it starts, so that a bad default fails the start, not every container's
    StartLogging."""
    # Every sink parses these by the same rules (batch_config: a value over a sink's ceiling is
    # lowered to it, never refused), so the HTTP sink's limits stand for all of them here.
    batch_config({}, env, HTTP_LIMITS)


def configure(opts: Mapping[str, str], env: Mapping[str, str]) -> list[SinkConfig]:
    """``check_unicode`` then ``setup``'s configs: every value of a key in SINK_OPTION_KEYS is
    checked, and ``tag`` when a sink is enabled; no I/O. Raises SinkOptionError naming the
    key, never quoting a secret."""
    check_unicode(opts)
    return list(setup(opts, env).configs)


def context_for(info: Mapping[str, object], parsed: SinkSetup, *, hostname: str) -> Context:
    """``docker.context.context_for`` with ``setup``'s parsed tag and attributes (nothing is
    parsed again), and the sinks' checks that need the container (Loki's labels, on the
    LokiConfig ``setup`` built). Raises SinkOptionError."""
    tag = parsed.tag if parsed.tag is not None else TagTemplate.from_option(None)
    ctx = _context_for(info, {}, hostname=hostname, attrs=parsed.attrs, tag=tag)
    for config in parsed.configs:
        if isinstance(config, LokiConfig):
            check_context(config, ctx)
    return ctx


def join_config(opts: Mapping[str, str]) -> JoinConfig:
    """``partial-max-size``, ``multiline-pattern``, ``multiline-timeout``, validated."""
    return JoinConfig.from_options(opts)
