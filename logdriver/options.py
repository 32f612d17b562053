"""Log-opts -> one frozen ``LogOptions``, parsed once per StartLogging and used by everything.

Validation, the plugin (store options) and the shipper process (sink configs, join config,
context: sent parsed, never re-read from raw options) share the one parse, as Loki's Docker
driver does in ``clients/cmd/docker-driver/config.go``. The value rules are the sinks' own
(``sinks.parse_size``, ``parse_bool``: Docker's go-units sizes, Go's booleans and regexps);
errors name the log-opt. Only the ``sinks`` package's public names are used here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sinks
from sinks import (
    ENV,
    ENV_REGEX,
    LABELS,
    LABELS_REGEX,
    SINK_OPTION_KEYS,
    TAG,
    AttrSelectors,
    Context,
    JoinConfig,
    SinkConfig,
    SinkOptionError,
    check_unicode,
    go_atoi,
    opt,
    with_tls_files_read,
)
from sinks import parse_bool as _parse_bool
from sinks import parse_size as _parse_size

from .store import DEFAULT_MAX_FILE, DEFAULT_MAX_SIZE, DROP_OLDEST, WHEN_FULL

# Docker's own keys: the daemon handles mode/max-buffer-size itself and passes every --log-opt on.
MODE = "mode"
MAX_BUFFER_SIZE = "max-buffer-size"
MAX_SIZE = "max-size"
MAX_FILE = "max-file"
COMPRESS = "compress"
# TAG, LABELS, LABELS_REGEX, ENV, ENV_REGEX: Docker's too, defined once, by the sinks that use them
CACHE_PREFIX = "cache-"  # dual logging cache options (cache-disabled, cache-max-size, ...)
CACHE_KEYS = ("cache-disabled", "cache-max-size", "cache-max-file", "cache-compress")
# The delivery spool (store/ledger.py): history rotated out of `docker logs` a sink still needs.
SPOOL_MAX_SIZE = "spool-max-size"
SPOOL_WHEN_FULL = "spool-when-full"
SPOOL_KEYS = (SPOOL_MAX_SIZE, SPOOL_WHEN_FULL)
LOCAL_COMPRESS = True  # `local`'s default for compress (history here is kept uncompressed)

DOCKER_KEYS = (
    MODE, MAX_BUFFER_SIZE, MAX_SIZE, MAX_FILE, COMPRESS, TAG, LABELS, LABELS_REGEX, ENV, ENV_REGEX,
    *CACHE_KEYS,
)
KNOWN_KEYS: tuple[str, ...] = DOCKER_KEYS + SPOOL_KEYS + tuple(sorted(SINK_OPTION_KEYS))

# Bytes. `local` takes any max-size from 0 up (0 rotates at every entry); a segment here is
# never smaller than this, so that it holds a few entries.
MIN_MAX_SIZE = 4096
# A log-opt that cannot be used; the message names it. One error type for every log-opt.
OptionError = SinkOptionError


def parse_size(key: str, value: str, *, binary: bool = False) -> int:
    """Bytes, as Docker reads a size: ``units.FromHumanSize`` (decimal: ``20m`` = 20,000,000,
    as the ``local`` driver reads ``max-size``), or with ``binary`` ``units.RAMInBytes`` (``20m``
    = 20 MiB): ``sinks.parse_size``. OptionError names ``key``."""
    return _parse_size(opt(key), value, minimum=0, binary=binary)


def parse_bool(key: str, value: str) -> bool:
    """Go's ``strconv.ParseBool``: ``sinks.parse_bool``; OptionError names ``key``."""
    return _parse_bool(opt(key), value)


def unknown_key_error(key: str, known: tuple[str, ...] = KNOWN_KEYS) -> OptionError:
    import difflib  # only for an error's hint: not in every process that parses options

    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return OptionError(f"unknown log-opt {key!r}{hint}")


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """How much history to keep for one container (Docker's `local` driver options)."""

    max_size: int = DEFAULT_MAX_SIZE
    max_file: int = DEFAULT_MAX_FILE
    compress: bool = LOCAL_COMPRESS  # accepted and checked as `local` does; stored uncompressed
    spool_max_size: int | None = None  # bytes kept for delivery past history; None: budget only
    when_full: str = DROP_OLDEST  # store.ledger.WHEN_FULL


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Everything StartLogging's log-opts configure."""

    store: StoreConfig
    tag: str | None = None
    attrs: AttrSelectors = AttrSelectors()  # labels, labels-regex, env, env-regex, compiled

    @classmethod
    def from_options(cls, opts: Mapping[str, str] | None) -> LogConfig:
        opts = dict(opts or {})
        for key, value in opts.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise OptionError(f"log-opt {key!r} must map a string to a string")
            check_unicode({key: value})  # a lone surrogate: JSON "\udcff"
            if key not in KNOWN_KEYS and not key.startswith(CACHE_PREFIX):
                raise unknown_key_error(key)
        # max-size, max-file, compress: what Docker's `local` accepts, read as it reads them
        # (moby daemon/logger/local/config.go newConfig and validateConfig).
        max_size = DEFAULT_MAX_SIZE
        if MAX_SIZE in opts:
            max_size = max(parse_size(MAX_SIZE, opts[MAX_SIZE]), MIN_MAX_SIZE)
        max_file = DEFAULT_MAX_FILE
        if MAX_FILE in opts:
            n = go_atoi(opts[MAX_FILE])
            if n is None:
                raise OptionError(f"invalid value for log-opt {MAX_FILE!r}: {opts[MAX_FILE]!r} is "
                                  "not a whole number")
            if n < 0:
                raise OptionError(f"invalid value for log-opt {MAX_FILE!r}: must not be negative")
            max_file = max(n, 1)  # `local` keeps one file for 0 as for 1
        compress = parse_bool(COMPRESS, opts[COMPRESS]) if COMPRESS in opts else LOCAL_COMPRESS
        if compress and MAX_FILE in opts and max_file <= 1:
            raise OptionError(
                f"invalid value for log-opt {MAX_FILE!r}: {opts[MAX_FILE]} with {COMPRESS!r} on "
                f"(the default, as in Docker's `local`, which refuses it: compression applies to "
                f"rotated files); set {COMPRESS}=false or {MAX_FILE} of 2 or more")
        spool_max_size = None
        if SPOOL_MAX_SIZE in opts:
            spool_max_size = parse_size(SPOOL_MAX_SIZE, opts[SPOOL_MAX_SIZE])
        when_full = opts.get(SPOOL_WHEN_FULL, DROP_OLDEST)
        if when_full not in WHEN_FULL:
            raise OptionError(f"invalid value for log-opt {SPOOL_WHEN_FULL!r}: {when_full!r} "
                              f"(use {' or '.join(WHEN_FULL)})")
        if MODE in opts and opts[MODE] not in ("blocking", "non-blocking"):
            raise OptionError(
                f"invalid value for log-opt {MODE!r}: {opts[MODE]!r} (use blocking or non-blocking)"
            )
        if MAX_BUFFER_SIZE in opts:
            parse_size(MAX_BUFFER_SIZE, opts[MAX_BUFFER_SIZE], binary=True)
        attrs = AttrSelectors.from_options(opts)  # Go's regexps, as Docker compiles them: RE2
        return cls(
            store=StoreConfig(max_size=max_size, max_file=max_file, compress=compress,
                              spool_max_size=spool_max_size, when_full=when_full),
            tag=opts.get(TAG), attrs=attrs,
        )


@dataclass(frozen=True, slots=True)
class LogOptions:
    """Everything one container's log-opts (and the plugin's environment) configure, parsed
    once: by StartLogging from its ``Info``, by restart recovery from the saved ``Info``. The
    sink configs, join config and context go to the shipper process as they are."""

    store: StoreConfig
    join: JoinConfig
    sinks: tuple[SinkConfig, ...] = ()
    context: Context | None = None  # with sinks only: the tag rendered, the attributes
    tag: str | None = None

    @classmethod
    def from_info(cls, info: Mapping[str, Any], env: Mapping[str, str], *,
                  hostname: str) -> LogOptions:
        """``info`` is StartLogging's Info (``Config``: the log-opts); ``env`` supplies what
        sinks read from the environment (``SPLUNK_TOKEN``, ``LOGDRIVER_BATCH_*``). No I/O
        (TLS files are read when a sink is built). Raises OptionError naming the log-opt,
        never quoting a secret."""
        opts = info.get("Config") or {}
        log_config = LogConfig.from_options(opts)  # Unicode checked, attributes compiled
        parsed = sinks.setup(opts, env, attrs=log_config.attrs)  # each log-opt parsed once
        ctx = sinks.context_for(info, parsed, hostname=hostname) if parsed.configs else None
        return cls(store=log_config.store, join=parsed.join, sinks=parsed.configs, context=ctx,
                   tag=log_config.tag)

    def with_tls_files_read(self) -> LogOptions:
        """A copy whose sink configs hold their TLS files' contents, read now and only now (a
        bad file fails here, naming the log-opt): every client built from it, in the plugin's
        connection check and in the shipper process, reads no file."""
        return dataclasses.replace(self, sinks=tuple(map(with_tls_files_read, self.sinks)))
