"""gzip_body on both libraries (zlib-ng and the zlib fallback) and gzip_fast on both of its
(igzip and the zlib fallback): the same bytes come back out."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinks.util import twin
from sinks.util.client import FAST_GZIP, FAST_GZIP_LEVEL, GZIP, gzip_body, gzip_fast

LEVELS = range(-1, 10)  # Go's gzip levels, what splunk-gzip-level takes


def test_the_library_is_registered_and_switchable(kernel_twin: str) -> None:
    assert twin.report()["kernels"]["zlib_ng.zlib_ng"] == kernel_twin  # type: ignore[index]
    if kernel_twin == "pure":
        assert GZIP.active is zlib
    else:
        assert GZIP.active is GZIP.compiled and GZIP.active.__name__ == "zlib_ng.zlib_ng"


@pytest.mark.parametrize("level", LEVELS)
def test_a_gzip_member_any_server_takes(kernel_twin: str, level: int) -> None:
    body = b"".join(b'{"event":{"line":"%06d %s"}}' % (i, b"x" * (i % 97)) for i in range(3000))
    out = gzip_body(body, level)
    assert out[:4] == b"\x1f\x8b\x08\x00" and out[4:8] == b"\x00\x00\x00\x00"  # no name, mtime 0
    assert gzip.decompress(out) == body
    assert zlib.decompress(out, 31) == body  # one member, nothing after it
    assert gzip_body(body, level) == out  # equal input, equal bytes
    if level != 0:
        assert len(out) < len(body) // 5


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=70_000) | st.text(max_size=5_000).map(str.encode),
       level=st.sampled_from(LEVELS))
def test_both_libraries_decompress_to_the_input(data: bytes, level: int) -> None:
    compiled = GZIP.compiled
    assert compiled is not None, f"zlib-ng is not importable: {GZIP.missing}"
    for library in (compiled, zlib):
        assert gzip.decompress(library.compress(data, level, 31)) == data


def test_a_level_outside_go_s_range_is_refused_by_both() -> None:
    compiled = GZIP.compiled
    assert compiled is not None, f"zlib-ng is not importable: {GZIP.missing}"
    for library in (compiled, zlib):
        for level in (-2, 10):
            with pytest.raises(library.error,  # type: ignore[attr-defined]
                               match="compression level"):
                library.compress(b"x", level, 31)


def test_the_fast_library_is_registered_and_switchable(kernel_twin: str) -> None:
    assert twin.report()["kernels"]["isal.isal_zlib"] == kernel_twin  # type: ignore[index]
    if kernel_twin == "pure":
        assert FAST_GZIP.active is zlib
    else:
        assert FAST_GZIP.active is FAST_GZIP.compiled
        assert FAST_GZIP.active.__name__ == "isal.isal_zlib"


def test_gzip_fast_makes_a_member_any_server_takes(kernel_twin: str) -> None:
    body = b"".join(b'{"message":"%06d %s"}' % (i, b"x" * (i % 97)) for i in range(3000))
    out = gzip_fast(bytearray(body))
    assert out[:4] == b"\x1f\x8b\x08\x00" and out[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert gzip.decompress(out) == body
    assert zlib.decompress(out, 31) == body  # one member, nothing after it
    assert gzip_fast(body) == out  # equal input, equal bytes
    assert len(out) < len(body) // 5


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=70_000) | st.text(max_size=5_000).map(str.encode))
def test_both_fast_libraries_decompress_to_the_input(data: bytes) -> None:
    compiled = FAST_GZIP.compiled
    assert compiled is not None, f"python-isal is not importable: {FAST_GZIP.missing}"
    for library in (compiled, zlib):
        assert gzip.decompress(library.compress(data, FAST_GZIP_LEVEL, 31)) == data
