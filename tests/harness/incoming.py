"""Table-driven parse cases: one row a recorded or edited payload and what it must give.

A channel's parse test is a list of :class:`IncomingCase` rows run by
:func:`check_incoming` against the channel's parser; adding a case is adding
a row. A row expects exactly one of: an :class:`channels.errors.InboundParseError`
whose message contains ``error``; ``ignored`` (the parser answers ``None``:
not a message); or a message whose attributes equal ``fields`` (a
:class:`Check` value tests the attribute with a predicate instead) and that
passes the ``message`` check, if any.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest

from channels.base import InboundMessage
from channels.errors import InboundParseError


@dataclass(frozen=True)
class Check:
    """An expected attribute tested by ``predicate`` (``what`` names it in a failure)."""

    predicate: Callable[[Any], bool]
    what: str

    def __repr__(self) -> str:
        return self.what


#: The attribute is a timezone-aware datetime.
AWARE = Check(lambda value: value.tzinfo is not None, "timezone-aware")


@dataclass(frozen=True)
class IncomingCase:
    """One parse case: ``name`` (the test id), the ``payload`` handed to the parser
    and the expected outcome (see the module docstring)."""

    name: str
    payload: Any
    fields: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    ignored: bool = False
    #: A check of the whole message, for what is not one attribute.
    message: Check | None = None


def check_incoming(
    case: IncomingCase, parse: Callable[[Any], InboundMessage | None]
) -> InboundMessage | None:
    """Run ``parse`` on the case's payload and assert its expected outcome; the message."""
    if case.error is not None:
        with pytest.raises(InboundParseError, match=re.escape(case.error)):
            parse(case.payload)
        return None
    msg = parse(case.payload)
    if case.ignored:
        assert msg is None, f"{case.name}: expected no message, got {msg!r}"
        return None
    assert msg is not None, f"{case.name}: expected a message"
    for name, expected in case.fields.items():
        got = getattr(msg, name)
        if isinstance(expected, Check):
            assert expected.predicate(got), f"{case.name}: {name}={got!r} is not {expected.what}"
        else:
            assert got == expected, f"{case.name}: {name}={got!r}, expected {expected!r}"
    if case.message is not None:
        assert case.message.predicate(msg), f"{case.name}: the message is not {case.message.what}"
    return msg


class Named(Protocol):
    """A table row with a ``name``."""

    @property
    def name(self) -> str: ...


def named_cases(cases: Sequence[Named]) -> pytest.MarkDecorator:
    """``@pytest.mark.parametrize("case", cases)`` with each row's name as its id."""
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    return pytest.mark.parametrize("case", cases, ids=names)
