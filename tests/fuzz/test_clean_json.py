"""``clean_json`` returns a payload untouched only when cleaning would not change it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.inbound.sanitise import _clean_json, clean_json

#: JSON as providers send it (string keys), with NUL, lone surrogates, NaN and
#: infinities among the values and keys.
TEXT = st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0xDFFF))
PAYLOADS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@given(PAYLOADS)
def test_fast_path_equals_the_full_cleaning(value: Any) -> None:
    assert same(clean_json(value), _clean_json(value))


def test_nul_and_surrogates_are_never_passed_through() -> None:
    for bad in ({"a": "x\x00"}, {"a\x00": 1}, ["\ud800"], {"n": float("nan")}, {"t": ("x\x00",)}):
        cleaned = clean_json(bad)
        text = json.dumps(cleaned, ensure_ascii=False)
        assert "\\u0000" not in text and "\ud800" not in text and "NaN" not in text
