"""Go's regexp syntax (RE2) for the regex log-opts: ``labels-regex``, ``env-regex``,
``multiline-pattern``, compiled with Google's RE2 (the ``google-re2`` binding)."""

from __future__ import annotations

import re

import re2  # type: ignore[import-untyped]

from .errors import SinkOptionError

__all__ = ["GoRegexp", "compile_go_regexp"]

# RE2's default memory budget for one compiled program (the C++ library's own default); a
# pattern that needs more is refused ("pattern too large"), where Go would build it.
MAX_PROGRAM_BYTES = 8 << 20


MAX_NESTING = 1000  # Go's regexp/syntax maxHeight: deeper groups are refused

_SURROGATE = re.compile("[\ud800-\udfff]")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print the pattern and the error to stderr
_OPTIONS.max_mem = MAX_PROGRAM_BYTES


class GoRegexp:
    """A compiled pattern. ``search`` is Go's ``MatchString``: unanchored, leftmost-first."""

    __slots__ = ("pattern", "_compiled")

    def __init__(self, pattern: str, compiled: object) -> None:
        self.pattern = pattern
        self._compiled = compiled

    def search(self, text: str) -> object | None:
        """The first match in ``text``, or None (as ``re.Pattern.search``; a lone surrogate is
        read as U+FFFD, as Go reads an invalid UTF-8 byte)."""
        try:
            return self._compiled.search(text)  # type: ignore[attr-defined,no-any-return]
        except UnicodeEncodeError:
            text = _SURROGATE.sub("\ufffd", text)
            return self._compiled.search(text)  # type: ignore[attr-defined,no-any-return]

    def __repr__(self) -> str:
        return f"GoRegexp({self.pattern!r})"


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
            return GoRegexp(pattern, re2.compile(pattern, _OPTIONS))
        except re2.error as exc:
            detail = exc.args[0] if exc.args else exc
            if isinstance(detail, bytes):
                detail = detail.decode("utf-8", "replace")
            problem = str(detail)
        except (TypeError, ValueError) as exc:  # a lone surrogate: not UTF-8 (UnicodeError)
            problem = str(exc)
    raise SinkOptionError(
        f"invalid value for {where}: not a valid Go (RE2) regular expression: {problem}"
    )
