"""Log-opt value parsers with Docker's and Go's syntax; errors name the key and never a secret."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping

from .errors import SinkOptionError
from .goregexp import GoRegexp, compile_go_regexp
from .units import parse_go_size

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # Go's strconv.ParseBool
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_INT_RE = re.compile(r"[+-]?[0-9]+")
_MAX_INT_CHARS = 20  # Go's ParseInt(.., 64): 19 digits and a sign; Python refuses >4300 digits
# Go's time.ParseDuration units, in seconds.
_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
    "h": 3600.0,
}
_MAX_DURATION_SECONDS = (2**63 - 1) / 1e9  # Go's time.Duration: int64 nanoseconds (~292 years)
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def opt(key: str) -> str:
    """How an error names a log-opt."""
    return f"log-opt {key!r}"


def env_var(name: str) -> str:
    """How an error names an environment variable."""
    return f"environment variable {name}"


def invalid(where: str, problem: str) -> SinkOptionError:
    return SinkOptionError(f"invalid value for {where}: {problem}")


def parse_bool(where: str, value: str) -> bool:
    """Go's ``strconv.ParseBool``, as Docker's drivers read their boolean options."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise invalid(where, f"{value!r} is not true or false")


def parse_int(where: str, value: str, *, minimum: int, maximum: int | None = None) -> int:
    """A base-10 integer (Go's ``strconv.ParseInt``: no spaces, no underscores) within bounds."""
    if not _INT_RE.fullmatch(value):
        raise invalid(where, f"{value!r} is not an integer")
    if len(value) > _MAX_INT_CHARS:
        raise invalid(where, f"{value[:_MAX_INT_CHARS]!r}... is out of range")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise invalid(where, f"{value!r} is out of range (must be {bounds})")
    return number


def parse_size(where: str, value: str, *, minimum: int = 1, binary: bool = False) -> int:
    """Bytes, as Docker reads a size (``units.parse_go_size``): go-units ``FromHumanSize``
    (decimal: ``5m`` is 5,000,000 bytes, as ``local`` reads ``max-size`` and as vendors quote
    limits), or with ``binary`` ``RAMInBytes`` (``5m`` is 5 MiB)."""
    size = parse_go_size(value, binary=binary)
    if size is None:
        raise invalid(where, f"{value!r} is not a size like 1m or 512k")
    if size < minimum:
        raise invalid(where, f"{value!r} is below the minimum of {minimum} bytes")
    return size


def parse_duration(where: str, value: str, *, positive: bool = True) -> float:
    """Go's ``time.ParseDuration`` (``500ms``, ``5s``, ``1m30s``), in seconds; negatives refused."""
    text = value
    if text.startswith("+"):
        text = text[1:]
    if text == "0":
        seconds = 0.0
    else:
        pos = 0
        seconds = 0.0
        while pos < len(text):
            match = _DURATION_PART.match(text, pos)
            if not match:
                raise invalid(where, f"{value!r} is not a duration like 500ms, 5s or 1m")
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos == 0:
            raise invalid(where, f"{value!r} is not a duration like 500ms, 5s or 1m")
    if seconds > _MAX_DURATION_SECONDS:  # Go's int64 nanoseconds overflow: "invalid duration"
        raise invalid(where, f"{value[:40]!r} is too long a duration")
    if positive and seconds <= 0:
        raise invalid(where, f"{value!r} must be longer than zero")
    return seconds


def check_unicode(opts: Mapping[str, str]) -> None:
    """Every log-opt name and value is valid Unicode (JSON can carry a lone surrogate,
    ``"\\udcff"``, which no encoder takes); SinkOptionError names the log-opt."""
    for key, value in opts.items():
        if key.isascii() and value.isascii():
            continue
        for text, what in ((key, "name"), (value, "value")):
            try:
                text.encode()
            except UnicodeEncodeError as exc:
                raise SinkOptionError(f"invalid {what} for log-opt {key!r}: not valid Unicode"
                                      ) from exc


def parse_regex(where: str, value: str) -> GoRegexp:
    """A Go regexp (RE2 syntax), as Docker compiles labels-regex and env-regex."""
    return compile_go_regexp(where, value)


def check_header_secret(where: str, value: str) -> None:
    """A secret goes into a header: refuse what httpx would refuse, without echoing it."""
    if not value:
        raise invalid(where, "empty")
    if not all(" " <= c <= "~" or c == "\t" for c in value):  # httpx encodes headers as ASCII
        raise invalid(where, "contains characters not allowed in an HTTP header")


def redact_url(url: str) -> str:
    """A URL fit for messages: ``scheme://host[:port]/path`` with no user info, no query string
    and no fragment; a placeholder when that is not what the text is (no ``scheme://host``, or an
    ``@`` after the host, where a password holding a ``/`` would have put part of itself), so a
    message never shows a value the user did not type nor any part of a password."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<unparsable URL>"
    if not parts.scheme or not host or "@" in parts.path:
        return "<unparsable URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def parse_http_url(where: str, value: str, *, allow_path: bool) -> urllib.parse.SplitResult:
    """An absolute http(s) URL with a host; user info is refused (credentials have their own keys).

    With ``allow_path=False`` the URL must be ``scheme://host[:port]`` (as Docker's splunk driver
    requires of ``splunk-url``): no path beyond "/", no query, no fragment. Errors quote at most
    ``redact_url``'s form of a URL that has a scheme and a host: the text of one that does not
    (``user:password@host``) is never shown.
    """
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise invalid(where, "not a URL (expected http:// or https:// and a host)") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(where, "expected http:// or https:// and a host")
    shown = redact_url(value)
    if parts.username is not None or parts.password is not None:
        raise invalid(where, f"{shown!r}: credentials in the URL are not accepted")
    if any(c.isspace() or not c.isprintable() for c in parts.hostname):
        raise invalid(where, f"{shown!r}: the host contains a space or a control character")
    if not allow_path and (parts.path not in ("", "/") or parts.query or parts.fragment):
        raise invalid(where, f"{shown!r}: expected format scheme://dns_name_or_ip:port")
    return parts


def first_of(opts: Mapping[str, str], env: Mapping[str, str], key: str, env_name: str
             ) -> tuple[str, str] | None:
    """The log-opt if given, else the environment variable; with how an error should name it."""
    if key in opts:
        return opts[key], opt(key)
    if env.get(env_name):
        return env[env_name], env_var(env_name)
    return None


def required_header_secret(opts: Mapping[str, str], env: Mapping[str, str], key: str,
                           env_name: str) -> str:
    """The secret (a token, an API key) a sink sends in a header: the log-opt ``key``, else the
    plugin's environment variable ``env_name``. SinkOptionError when neither is set, or when it
    is not a valid header value (the error names where it came from, never the value)."""
    found = first_of(opts, env, key, env_name)
    if found is None:
        raise SinkOptionError(
            f"log-opt {key!r} is required (or set {env_name} in the plugin's environment)")
    secret, where = found
    check_header_secret(where, secret)
    return secret
