"""Every text of the staff pages has an Indonesian translation (inbox*.po)."""

from __future__ import annotations

import ast
import string
from pathlib import Path

from babel.messages.pofile import read_po
from jinja2.ext import extract_from_ast

from gateway.inbox.pages import TIME_STATES
from gateway.reports.texts import CATEGORY_NAMES, CHANNEL_NAMES
from gateway.web.templating import TEMPLATES_DIR, environment
from handlers.i18n import LOCALE_DIR, catalogue

ROOT = Path(__file__).resolve().parents[2]
STAFF_TEMPLATES = TEMPLATES_DIR / "inbox"
#: The inbox's modules and the texts its reports share with ``aduan complaints export``.
STAFF_SOURCES = [
    *sorted((ROOT / "gateway" / "inbox").glob("*.py")),
    ROOT / "gateway/reports/texts.py",
]
STAFF_PO = sorted((LOCALE_DIR / "id" / "LC_MESSAGES").glob("inbox*.po"))


def used_message_ids() -> dict[str, str]:
    """Message id → where: ``_()`` in staff templates, literal ``t()`` in :data:`STAFF_SOURCES`."""
    found: dict[str, str] = {}
    env = environment()
    for path in sorted(STAFF_TEMPLATES.glob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for lineno, _func, message in extract_from_ast(tree, gettext_functions=("_",)):
            first = message[0] if isinstance(message, tuple) else message
            assert isinstance(first, str), f"{path.name}:{lineno}: _() needs a literal message id"
            found.setdefault(first, f"inbox/{path.name}:{lineno}")
    for path in STAFF_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "t"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                found.setdefault(node.args[1].value, f"{path.name}:{node.lineno}")
    for table in (CHANNEL_NAMES, TIME_STATES, CATEGORY_NAMES):
        for value in table.values():
            found.setdefault(value, "gateway/inbox/pages.py or gateway/reports/texts.py")
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_staff_texts_are_translated_and_consistent() -> None:
    translations: dict[str, str] = {}
    for path in STAFF_PO:
        with path.open("rb") as handle:
            for m in read_po(handle, locale="id"):
                if isinstance(m.id, str) and m.id and isinstance(m.string, str) and not m.fuzzy:
                    translations[m.id] = m.string
    used = used_message_ids()
    assert len(used) > 30
    shared = catalogue("id")  # the public pages' texts (skip link, "(optional)" …) count too
    missing = sorted(f"{m} ({where})" for m, where in used.items() if not shared.get(m))
    assert not missing, f"add to an inbox*.po: {missing}"
    unused = sorted(set(translations) - set(used))
    assert not unused, f"no longer used, remove from inbox*.po: {unused}"
    for message_id, text in translations.items():
        assert placeholders(message_id) == placeholders(text), message_id
