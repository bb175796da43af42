"""Hypothesis strategies for hostile provider payloads, and the storability check.

Recorded payloads (``tests/<provider>/data``) are the templates; the
structured-but-wrong inputs replace any of their values, at any depth, with
arbitrary JSON: wrong types, huge strings, NUL, lone surrogates, numbers far
out of range.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from channels.base import DeliveryReport, InboundMessage
from gateway.inbound.sanitise import LIMITS

#: Derandomised and without an example database, so CI runs the same inputs.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NASTY = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\ufffd", "\u202e", "\n", "%00"]

#: Short text, text salted with NUL and lone surrogates, and long runs
#: (past every column: 2000 > 500).
nasty_text: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=20),
    st.lists(st.one_of(st.text(max_size=8), st.sampled_from(NASTY)), max_size=8).map("".join),
    st.integers(min_value=150, max_value=2000).map(lambda n: "\ud800x\x00" * (n // 3)),
)

big_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([10**20, -(10**20), 2**63, 253402300800, -62135596801]),
    st.floats(allow_nan=True, allow_infinity=True),
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), big_numbers, nasty_text),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(nasty_text, children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _paths(child, (*prefix, i))
    return found


def _set(value: Any, path: tuple[Any, ...], new: Any) -> None:
    for step in path[:-1]:
        value = value[step]
    value[path[-1]] = new


@st.composite
def mutated(draw: st.DrawFn, template: Any, values: st.SearchStrategy[Any] = json_values) -> Any:
    """``template`` with one to three of its values (any depth) replaced."""
    data = copy.deepcopy(template)
    paths = _paths(data)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        try:
            _set(data, path, draw(values))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
        paths = _paths(data)
    return data


def hostile(template: Any) -> st.SearchStrategy[Any]:
    """Arbitrary JSON, or ``template`` made wrong in places."""
    return st.one_of(json_values, mutated(template), mutated(template, nasty_text))


def assert_storable_text(value: str, limit: int | None = None) -> None:
    assert "\x00" not in value
    value.encode("utf-8")  # raises on a lone surrogate
    if limit is not None:
        assert len(value) <= limit


def assert_storable_json(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    assert "\\u0000" not in text
    assert_storable_text(text)


def assert_storable_message(message: InboundMessage) -> None:
    """What ``store_message`` would write fits PostgreSQL's columns and encoding."""
    assert_storable_text(message.external_id, LIMITS["external_id"])
    assert_storable_text(message.sender, LIMITS["sender"])
    assert_storable_text(message.text)
    for name in ("sender_name", "subject", "language"):
        value = getattr(message, name)
        if value is not None:
            assert_storable_text(value, LIMITS[name])
    for key, field_value in message.fields.items():
        assert_storable_text(key)
        assert_storable_text(field_value)
    for ref in message.thread_refs:
        assert_storable_text(ref)
    for attachment in message.attachments:
        assert_storable_text(attachment.filename, LIMITS["filename"])
        assert_storable_text(attachment.content_type, LIMITS["content_type"])
    assert isinstance(message.received_at, datetime) and message.received_at.tzinfo is not None
    assert_storable_json(message.raw)


def assert_storable_report(report: DeliveryReport) -> None:
    assert_storable_text(report.provider_id, LIMITS["provider_id"])
    if report.error_code is not None:
        assert_storable_text(report.error_code, LIMITS["error_code"])
    assert_storable_json(report.raw)


Parser = Callable[[Any], Any]
