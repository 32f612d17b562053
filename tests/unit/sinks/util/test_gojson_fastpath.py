"""go_string's shortcut for plain ASCII gives exactly what the full Go-compatible path gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sinks.util.gojson import _dumps, _go_escape, go_string, go_text


@given(st.text(alphabet=st.characters(max_codepoint=0x3000)))
def test_plain_text_shortcut_matches_the_full_path(text: str) -> None:
    assert go_string(text) == _go_escape(_dumps(text))


@given(st.binary(max_size=64))
def test_shortcut_matches_for_any_bytes(line: bytes) -> None:
    text = go_text(line)
    assert go_string(text) == _go_escape(_dumps(text))
