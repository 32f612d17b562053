"""labels-regex, env-regex and multiline-pattern are Go regexps (RE2 syntax), as Docker reads
them."""

from __future__ import annotations

import time

import pytest

import sinks
from logdriver.options import LogConfig, OptionError
from sinks.docker.attrs import extra_attributes
from sinks.util.batch import JoinConfig
from sinks.util.errors import SinkOptionError
from sinks.util.goregexp import compile_go_regexp

NAMES = ["HTTP_PROXY", "http_proxy", "Path", "PATH", "dc_region", "région", "a.b", "x\ny",
         "ends_z", "ends_z\n"]


def matching(pattern: str) -> list[str]:
    regexp = compile_go_regexp("log-opt 'env-regex'", pattern)
    return [name for name in NAMES if regexp.search(name) is not None]


@pytest.mark.parametrize(("pattern", "expected"), [
    # POSIX classes inside brackets: Python's re reads [[:upper:]] as a set of ":[ulpre" + "]"
    (r"^[[:upper:]_]+$", ["HTTP_PROXY", "PATH"]),
    (r"^[[:lower:][:digit:]_]+$", ["http_proxy", "dc_region", "ends_z"]),
    # POSIX classes are ASCII-only in Go: "é" is not [[:alpha:]]
    (r"[[:^alpha:]]", ["HTTP_PROXY", "http_proxy", "dc_region", "région", "a.b", "x\ny",
                       "ends_z", "ends_z\n"]),
    # \z is the end of text; Go's $ is too (Python's $ also matches before a final newline)
    (r"_z\z", ["ends_z"]),
    (r"_z$", ["ends_z"]),
    (r"(?m)_z$", ["ends_z", "ends_z\n"]),
    # flags, Unicode classes, quoting
    (r"(?i)^path$", ["Path", "PATH"]),
    (r"^\pL+$", ["Path", "PATH", "région"]),
    (r"\p{Latin}\.\p{Latin}", ["a.b"]),
    (r"\Qa.b\E", ["a.b"]),
    (r"(?s)x.y", ["x\ny"]),
    (r"x.y", []),
    # unanchored, as MatchString: a match anywhere in the name
    (r"proxy", ["http_proxy"]),
    (r"(?U)P.*A", ["PATH"]),
])
def test_go_regexp_forms(pattern: str, expected: list[str]) -> None:
    assert matching(pattern) == expected


@pytest.mark.parametrize(("pattern", "problem"), [
    (r"(a)\1", "invalid escape sequence"),  # backreference
    (r"(?=a)", "invalid perl operator"),  # lookahead
    (r"(?!a)", "invalid perl operator"),
    (r"(?<=a)b", "invalid"),  # lookbehind
    (r"(?<!a)b", "invalid"),
    (r"a++", "bad repetition operator"),  # possessive
    (r"\Z", "invalid escape sequence"),
    (r"\C", "invalid escape sequence"),  # RE2's any byte: Go refuses it
    (r"[[:nope:]]", "invalid character class range"),
    (r"a{1001}", "invalid repetition size"),  # Go's limit is 1000 too
    ("(" * 1001 + ")" * 1001, "expression nests too deeply"),
])
@pytest.mark.parametrize("key", ["labels-regex", "env-regex", "multiline-pattern"])
def test_what_go_refuses_is_refused_naming_the_option(key: str, pattern: str,
                                                      problem: str) -> None:
    errors: tuple[type[Exception], ...] = (SinkOptionError,)
    if key == "multiline-pattern":
        def parse() -> object:
            return sinks.configure({key: pattern, "http-url": "http://127.0.0.1:9/x"}, {})
    else:  # Docker's keys: the plugin checks them at StartLogging, and so does the context
        errors = (OptionError,)

        def parse() -> object:
            return LogConfig.from_options({key: pattern})

        with pytest.raises(SinkOptionError, match=f"log-opt {key!r}"):
            extra_attributes({key: pattern, "labels": "x"}, {"x": "1"}, ["x=1"])
    with pytest.raises(errors) as caught:
        parse()
    message = str(caught.value)
    assert f"log-opt {key!r}" in message and "Go (RE2) regular expression" in message
    assert problem in message


def test_go_nesting_limit_is_1000() -> None:
    assert compile_go_regexp("x", "(" * 1000 + "a" + ")" * 1000).search("a") is not None
    assert compile_go_regexp("x", "[(]" * 1001).search("(" * 1001) is not None


def test_escaped_backslash_c_and_quoted_text_are_not_refused() -> None:
    assert compile_go_regexp("x", r"\\C").search("\\C") is not None
    assert compile_go_regexp("x", r"\Q\C\E").search("\\C") is not None


def test_catastrophic_backtracking_is_gone() -> None:
    # Python's re takes exponential time on this; RE2 is linear in the text.
    regexp = compile_go_regexp("log-opt 'env-regex'", r"^(a+)+$")
    started = time.monotonic()
    assert regexp.search("a" * 50_000 + "!") is None
    assert time.monotonic() - started < 1.0


def test_a_lone_surrogate_in_a_name_is_read_as_replacement_char() -> None:
    regexp = compile_go_regexp("x", "\ufffd")
    assert regexp.search("a\udcffb") is not None


def test_env_regex_with_posix_class_attaches_what_go_would() -> None:
    env = ["HTTP_PROXY=p", "lower=l", "MixedCase=m"]
    assert extra_attributes({"env-regex": "^[[:upper:]_]+$"}, {}, env) == {"HTTP_PROXY": "p"}
    assert extra_attributes({"labels": "x", "labels-regex": r"^com\.example\.[[:alpha:]]+\z"},
                            {"com.example.tier": "web", "com.example.x1": "no", "x": "1"},
                            []) == {"com.example.tier": "web", "x": "1"}


def test_multiline_pattern_is_go_syntax() -> None:
    join = JoinConfig.from_options({"multiline-pattern": r"^[[:digit:]]{4}-"})
    assert join.multiline_pattern is not None
    assert join.multiline_pattern.search("2024-01-01 boom") is not None
    assert join.multiline_pattern.search("  at x") is None
