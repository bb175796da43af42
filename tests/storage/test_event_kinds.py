"""Every complaint event kind the code names is a :class:`ComplaintEventKind`, and
the history tables refuse any other."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.inbox.complaint_texts import event_label
from storage.activity import QUIET_EVENT_KINDS
from storage.db import session_factory
from storage.event_kinds import ComplaintEventKind
from storage.models import AppealEvent, ComplaintEvent

ROOT = Path(__file__).resolve().parents[2]
#: Where event kinds are written or compared. Migrations are left out on
#: purpose: they keep the names they knew when written (storage/event_kinds.py);
#: so is this file, which writes wrong kinds to see them refused.
SOURCES = sorted(
    p
    for top in ("storage", "channels", "handlers", "gateway", "tests")
    for p in (ROOT / top).rglob("*.py")
    if "migrations" not in p.parts and p != Path(__file__).resolve()
)
#: Calls whose ``kind=`` keyword is an event kind.
WRITERS = {"ComplaintEvent", "AppealEvent", "record_appeal_event"}
#: Names whose ``.kind`` is an event's kind in comparisons.
EVENTS = {"ComplaintEvent", "AppealEvent", "event", "e"}
VALUES = {kind.value for kind in ComplaintEventKind}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _strings(node: ast.expr) -> list[str]:
    """The string constants ``node`` may evaluate to (``a if c else b``, tuples, sets)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for item in node.elts for s in _strings(item)]
    return []


def kinds_named_in_source() -> dict[str, list[str]]:
    """Event kind string → where it is written as a bare string (``path:line``)."""
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            values: list[str] = []
            if isinstance(node, ast.Call) and _name(node.func) in WRITERS:
                values = [s for k in node.keywords if k.arg == "kind" for s in _strings(k.value)]
            elif (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Attribute)
                and node.left.attr == "kind"
                and _name(node.left.value) in EVENTS
            ):
                values = [s for c in node.comparators for s in _strings(c)]
            for value in values:
                found.setdefault(value, []).append(f"{where}:{node.lineno}")
    return found


def test_every_kind_named_in_the_source_is_a_member() -> None:
    found = kinds_named_in_source()
    # The scan finds the kinds the tests still compare as stored strings.
    assert {"transition", "delivery_failed", "contact_merged"} <= set(found)
    unknown = {kind: where for kind, where in found.items() if kind not in VALUES}
    assert unknown == {}


def test_application_code_uses_members_not_bare_strings() -> None:
    """Outside the tests every kind is written as ``ComplaintEventKind.X``."""
    bare = {
        kind: [w for w in where if not w.startswith("tests/")]
        for kind, where in kinds_named_in_source().items()
    }
    assert {kind: where for kind, where in bare.items() if where} == {}


def test_members_are_unique_snake_case_and_fit_the_column() -> None:
    assert len(VALUES) == len(ComplaintEventKind)
    for kind in ComplaintEventKind:
        assert re.fullmatch(r"[a-z][a-z_]*", kind.value) and len(kind.value) <= 50
        assert kind == kind.value and kind.name == kind.value.upper()


def test_quiet_kinds_are_members() -> None:
    assert QUIET_EVENT_KINDS <= set(ComplaintEventKind)
    assert QUIET_EVENT_KINDS == {
        ComplaintEventKind.STEP_REMINDER,
        ComplaintEventKind.STEP_OVERDUE_ESCALATED,
        ComplaintEventKind.APPEAL_STEP_REMINDER,
        ComplaintEventKind.APPEAL_STEP_OVERDUE_ESCALATED,
    }


@pytest.mark.parametrize("kind", list(ComplaintEventKind))
def test_the_model_keeps_a_member_as_its_plain_string(kind: ComplaintEventKind) -> None:
    event = ComplaintEvent(complaint_id=1, actor="system", kind=kind)
    assert event.kind == kind.value and type(event.kind) is str


@pytest.mark.parametrize("model", [ComplaintEvent, AppealEvent])
def test_a_kind_outside_the_enum_is_refused(model: type) -> None:
    with pytest.raises(ValueError, match="step_taken"):
        model(actor="system", kind="step_taken")


async def test_a_refused_kind_leaves_the_table_untouched(engine: AsyncEngine) -> None:
    from sqlalchemy import func, select

    sessions = session_factory(engine)
    async with sessions() as session:
        with pytest.raises(ValueError):
            session.add(ComplaintEvent(complaint_id=1, actor="system", kind="Transition"))
        assert await session.scalar(select(func.count()).select_from(ComplaintEvent)) == 0


def test_labels_of_the_history_are_keyed_by_member() -> None:
    """The inbox history names the kinds it knows; a kind it does not know shows as itself."""
    named = {kind for kind in ComplaintEventKind if event_label("en", kind) != kind.value}
    assert ComplaintEventKind.TRANSITION in named and ComplaintEventKind.REGISTERED in named
    assert event_label("en", "no_such_kind") == "no_such_kind"
