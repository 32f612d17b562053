"""Go's regexp syntax (RE2) for the regex log-opts: ``labels-regex``, ``env-regex``,
``multiline-pattern``, compiled with Google's RE2 (the ``google-re2`` binding)."""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from .errors import SinkOptionError

__all__ = ["GoRegexp", "compile_go_regexp"]

# RE2's default memory budget for one compiled program (the C++ library's own default); a
# pattern that needs more is refused ("pattern too large"), where Go would build it.
MAX_PROGRAM_BYTES = 8 << 20
MAX_NESTING = 1000  # Go's regexp/syntax maxHeight: deeper groups are refused

_SURROGATE = re.compile("[\ud800-\udfff]")
_NO_MATCH = (-1, -1)


@functools.cache
def _engine() -> tuple[Any, Any]:
    """RE2's compiled-regexp class and our options, imported on the first pattern: most
    containers set no regex option, and the binding costs each process about 3 MiB.

    The binding's compiled-regexp object is used directly: re2.compile(...).search translates
    match offsets back to str positions, 17 us a search on a 100-byte line against re's 1 us;
    RE2.Match on the encoded line takes 2.2 us (multiline-pattern runs once per line)."""
    import re2  # type: ignore[import-untyped]
    from re2 import _re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print the pattern and the error to stderr
    options.max_mem = MAX_PROGRAM_BYTES
    options.never_capture = True  # only whether it matches is asked
    return _re2.RE2, options


class GoRegexp:
    """A compiled pattern. ``search`` is Go's ``MatchString``: unanchored, leftmost-first."""

    __slots__ = ("pattern", "_compiled", "_unanchored")

    def __init__(self, pattern: str, compiled: Any) -> None:
        self.pattern = pattern
        self._compiled = compiled
        self._unanchored = type(compiled).Anchor.UNANCHORED

    def search(self, text: str) -> Literal[True] | None:
        """True if ``text`` holds a match, else None (so ``is not None`` reads as with ``re``).

        A lone surrogate (an invalid byte kept by surrogateescape) is read as U+FFFD, as Go
        reads an invalid UTF-8 byte.
        """
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:
            raw = _SURROGATE.sub("\ufffd", text).encode("utf-8")
        if self._compiled.Match(self._unanchored, raw, 0, len(raw))[0] != _NO_MATCH:
            return True
        return None

    def __repr__(self) -> str:
        return f"GoRegexp({self.pattern!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its pattern and compiled again (the plugin sends parsed configs to its
        shipper process this way)."""
        return compile_go_regexp, ("a pickled pattern", self.pattern)


def _go_only_refusals(pattern: str) -> str | None:
    """What Go's regexp/syntax refuses but RE2 accepts: ``\\C`` (RE2's any byte) and groups
    nested deeper than Go's ``maxHeight`` (1000, since Go 1.19.2)."""
    depth = 0
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1:i + 2]
            if nxt == "Q":  # \Q...\E is literal text in both
                end = pattern.find("\\E", i + 2)
                if end < 0:
                    return None
                i = end + 2
                continue
            if nxt == "C":
                return "invalid escape sequence: `\\C`"
            i += 2
        elif c == "[":  # a class: skip to its "]" ("[]" and "[^]" start with a literal "]")
            i += 2 if pattern.startswith("[^", i) else 1
            i += 1 if pattern[i:i + 1] == "]" else 0
            while i < n and pattern[i] != "]":
                if pattern[i] == "\\":
                    i += 1
                elif pattern.startswith("[:", i):
                    end = pattern.find(":]", i + 2)
                    i = end + 1 if end >= 0 else i
                i += 1
            i += 1
        elif c == "(":
            depth += 1
            if depth > MAX_NESTING:
                return "expression nests too deeply"
            i += 1
        else:
            depth -= c == ")"
            i += 1
    return None


def compile_go_regexp(where: str, pattern: str) -> GoRegexp:
    """Compile ``pattern`` as Go's ``regexp.Compile`` does.

    ``where`` names the option in errors (``log-opt 'env-regex'``). RE2 is the syntax of Go's
    regexp: POSIX classes (``[[:upper:]]``), ``\\z``, ``\\pL``, ``(?i)`` flags, ``\\Q...\\E``;
    no backreferences, lookarounds or possessive forms. Raises SinkOptionError.
    """
    problem = _go_only_refusals(pattern)
    if problem is None:
        try:
            regexp, options = _engine()
            compiled = regexp(pattern.encode("utf-8"), options)
        except UnicodeEncodeError as exc:  # a lone surrogate: not UTF-8
            problem = str(exc)
        else:
            if compiled.ok():
                return GoRegexp(pattern, compiled)
            detail = compiled.error()
            problem = detail.decode("utf-8", "replace") if isinstance(detail, bytes) \
                else str(detail)
    raise SinkOptionError(
        f"invalid value for {where}: not a valid Go (RE2) regular expression: {problem}"
    )
