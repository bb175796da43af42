"""Every text the public pages show has an Indonesian translation in web.po."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from babel.messages.pofile import read_po
from jinja2.ext import extract_from_ast

from gateway.web.templating import STATIC_DIR, TEMPLATES_DIR, environment
from handlers.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
PYTHON_SOURCES = tuple(
    ROOT / "gateway" / "web" / f"{name}.py"
    for name in ("appeal", "form", "pages", "public", "submit", "submitted", "track")
)
WEB_PO = LOCALE_DIR / "id" / "LC_MESSAGES" / "web.po"


def used_message_ids() -> dict[str, str]:
    """Message id → where it is used: ``_()`` in templates, ``t()``/``N_()`` in Python."""
    found: dict[str, str] = {}
    env = environment()
    for path in sorted(TEMPLATES_DIR.glob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for lineno, _func, message in extract_from_ast(tree, gettext_functions=("_",)):
            first = message[0] if isinstance(message, tuple) else message
            assert isinstance(first, str), f"{path.name}:{lineno}: _() needs a literal message id"
            found.setdefault(first, f"{path.name}:{lineno}")
    for path in PYTHON_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id == "t" and len(node.args) >= 2:
                arg = node.args[1]
                if not isinstance(arg, ast.Constant):
                    continue  # a variable: its values are marked with N_() where defined
            elif node.func.id == "N_" and node.args:
                arg = node.args[0]
            else:
                continue
            assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                f"{path.name}:{node.lineno}: message id must be a literal"
            )
            found.setdefault(arg.value, f"{path.name}:{node.lineno}")
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_web_po_is_complete_and_consistent() -> None:
    with WEB_PO.open("rb") as handle:
        catalog = read_po(handle, locale="id")
    assert catalog.locale is not None and str(catalog.locale) == "id"
    assert not catalog.fuzzy
    translations = {
        m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and not m.fuzzy
    }
    used = used_message_ids()
    missing = {k: v for k, v in used.items() if not translations.get(k)}
    assert not missing, f"add to web.po: {missing}"
    unused = set(translations) - set(used)
    assert not unused, f"no longer used, remove from web.po: {unused}"
    for message_id, text in translations.items():
        assert isinstance(text, str)
        assert placeholders(message_id) == placeholders(text), message_id
        assert text != message_id or message_id in {"Status"}, f"untranslated: {message_id}"


def test_pages_are_made_for_phones() -> None:
    base = (TEMPLATES_DIR / "base.html").read_text(encoding="utf-8")
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in base
    css = (STATIC_DIR / "site.css").read_text(encoding="utf-8")
    # Nothing wider than a 375 px screen, long words wrap, inputs fit their box.
    widths = [int(n) for n in re.findall(r"(?:min-)?width:\s*(\d+)px", css)]
    assert all(w <= 320 for w in widths), widths
    assert "overflow-wrap: anywhere" in css
    assert "box-sizing: border-box" in css
    assert re.search(r"input\[type=\"text\"\][^{]*\{[^}]*width: 100%", css)
    # No web fonts or remote resources (the network is closed).
    assert "@import" not in css and "url(" not in css
    for path in TEMPLATES_DIR.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text, path.name
        assert "http://" not in text and "https://" not in text, path.name
