"""Every conversation text has an Indonesian translation in aduan.po."""

from __future__ import annotations

import ast
import string
from pathlib import Path

from babel.messages.pofile import read_po

from handlers.i18n import LOCALE_DIR, t
from handlers.profile import STATUS_NAMES
from handlers.staff_alerts import (
    ESCALATION_SUBJECT,
    ESCALATION_TEXT,
    REMINDER_SUBJECT,
    REMINDER_TEXT,
)
from handlers.workflow import SATISFACTION_QUESTION

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    sorted((ROOT / "handlers").rglob("*.py"))
    + sorted((ROOT / "gateway").glob("*.py"))
    + sorted((ROOT / "gateway" / "webhooks").glob("*.py"))
)
ADUAN_PO = LOCALE_DIR / "id" / "LC_MESSAGES" / "aduan.po"


def used_message_ids() -> set[str]:
    """Literal message ids of ``t(language, "…")`` calls, plus the ids kept in constants."""
    found = set(STATUS_NAMES.values()) | {SATISFACTION_QUESTION}
    found |= {REMINDER_SUBJECT, REMINDER_TEXT, ESCALATION_SUBJECT, ESCALATION_TEXT}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "t"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                found.add(node.args[1].value)
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_aduan_po_is_complete_and_consistent() -> None:
    with ADUAN_PO.open("rb") as handle:
        catalog = read_po(handle, locale="id")
    translations = {
        m.id: m.string for m in catalog if isinstance(m.id, str) and m.id and not m.fuzzy
    }
    used = used_message_ids()
    assert len(used) > 20
    missing = sorted(m for m in used if not translations.get(m))
    assert not missing, f"add to aduan.po: {missing}"
    unused = sorted(set(translations) - used)
    assert not unused, f"no longer used, remove from aduan.po: {unused}"
    for message_id, text in translations.items():
        assert isinstance(text, str)
        assert placeholders(message_id) == placeholders(text), message_id


def test_translation_falls_back_to_english() -> None:
    assert t("id", "Your complaint") == "Pengaduan Anda"
    assert t("en", "Your complaint") == "Your complaint"
    assert t("id", "no such text {x}", x=1) == "no such text 1"
