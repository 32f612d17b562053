"""Log-opts -> a frozen config: the allow-list, value parsing, and errors that name the option."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sinks import SINK_OPTION_KEYS, SinkOptionError
from sinks.goregexp import compile_go_regexp

from .ring import DEFAULT_MAX_FILE, DEFAULT_MAX_SIZE

# Docker's own keys: the daemon handles mode/max-buffer-size itself and passes every --log-opt on.
MODE = "mode"
MAX_BUFFER_SIZE = "max-buffer-size"
MAX_SIZE = "max-size"
MAX_FILE = "max-file"
COMPRESS = "compress"
TAG = "tag"
LABELS = "labels"
LABELS_REGEX = "labels-regex"
ENV = "env"
ENV_REGEX = "env-regex"
CACHE_PREFIX = "cache-"  # dual logging cache options (cache-disabled, cache-max-size, ...)
CACHE_KEYS = ("cache-disabled", "cache-max-size", "cache-max-file", "cache-compress")

DOCKER_KEYS = (
    MODE, MAX_BUFFER_SIZE, MAX_SIZE, MAX_FILE, COMPRESS, TAG, LABELS, LABELS_REGEX, ENV, ENV_REGEX,
    *CACHE_KEYS,
)
KNOWN_KEYS: tuple[str, ...] = DOCKER_KEYS + tuple(sorted(SINK_OPTION_KEYS))

MIN_MAX_SIZE = 4096  # a segment must hold at least a few entries to be useful

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_DECIMAL_UNITS = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class OptionError(ValueError):
    """A log-opt that cannot be used; the message names it."""


def parse_size(key: str, value: str, *, binary: bool = False) -> int:
    """Docker's ``units.FromHumanSize`` (``20m`` = 20,000,000, as the ``local`` driver reads
    ``max-size``), or with ``binary`` its ``units.RAMInBytes`` (``20m`` = 20 MiB)."""
    m = _SIZE_RE.match(value.strip())
    if not m:
        raise OptionError(f"invalid value for log-opt {key!r}: {value!r} is not a size like 20m")
    try:
        number = float(m.group(1))
        unit = (m.group(2) or "").lower()
        scale = _UNITS if binary else _DECIMAL_UNITS
        return int(number * scale.get(unit, 1))
    except (ValueError, OverflowError) as exc:  # "1.2.3"; more digits than a float holds
        raise OptionError(f"invalid value for log-opt {key!r}: {value!r} is not a size") from exc


def parse_bool(key: str, value: str) -> bool:
    """Go's ``strconv.ParseBool``."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise OptionError(f"invalid value for log-opt {key!r}: {value!r} is not true or false")


def parse_int(key: str, value: str, *, minimum: int) -> int:
    try:
        n = int(value.strip())
    except ValueError as exc:
        raise OptionError(f"invalid value for log-opt {key!r}: {value!r} is not a number") from exc
    if n < minimum:
        raise OptionError(f"invalid value for log-opt {key!r}: must be at least {minimum}")
    return n


def unknown_key_error(key: str, known: tuple[str, ...] = KNOWN_KEYS) -> OptionError:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return OptionError(f"unknown log-opt {key!r}{hint}")


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """How much history to keep for one container (Docker's `local` driver options)."""

    max_size: int = DEFAULT_MAX_SIZE
    max_file: int = DEFAULT_MAX_FILE
    compress: bool = False


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Everything StartLogging's log-opts configure."""

    store: StoreConfig
    tag: str | None = None

    @classmethod
    def from_options(cls, opts: Mapping[str, str] | None) -> LogConfig:
        opts = dict(opts or {})
        for key, value in opts.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise OptionError(f"log-opt {key!r} must map a string to a string")
            try:
                key.encode()
                value.encode()
            except UnicodeEncodeError as exc:  # a lone surrogate: JSON "\udcff"
                raise OptionError(f"log-opt {key!r}: not valid Unicode") from exc
            if key not in KNOWN_KEYS and not key.startswith(CACHE_PREFIX):
                raise unknown_key_error(key)
        max_size = DEFAULT_MAX_SIZE
        if MAX_SIZE in opts:
            max_size = parse_size(MAX_SIZE, opts[MAX_SIZE])
            if max_size < MIN_MAX_SIZE:
                raise OptionError(
                    f"invalid value for log-opt {MAX_SIZE!r}: must be at least {MIN_MAX_SIZE} bytes"
                )
        max_file = DEFAULT_MAX_FILE
        if MAX_FILE in opts:
            max_file = parse_int(MAX_FILE, opts[MAX_FILE], minimum=1)
        compress = parse_bool(COMPRESS, opts[COMPRESS]) if COMPRESS in opts else False
        if MODE in opts and opts[MODE] not in ("blocking", "non-blocking"):
            raise OptionError(
                f"invalid value for log-opt {MODE!r}: {opts[MODE]!r} (use blocking or non-blocking)"
            )
        if MAX_BUFFER_SIZE in opts:
            parse_size(MAX_BUFFER_SIZE, opts[MAX_BUFFER_SIZE], binary=True)
        for key in (LABELS_REGEX, ENV_REGEX):
            if key in opts:
                try:  # Go's regexp, as Docker compiles it: RE2 syntax
                    compile_go_regexp(f"log-opt {key!r}", opts[key])
                except SinkOptionError as exc:
                    raise OptionError(str(exc)) from exc
        return cls(
            store=StoreConfig(max_size=max_size, max_file=max_file, compress=compress),
            tag=opts.get(TAG),
        )
