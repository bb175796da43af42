"""The translation catalogues are complete, current and compile.

Runs what ``make catalogues`` runs -- ``pybabel extract`` with ``babel.cfg``
and the Makefile's keywords, through Babel's Python API -- and compares the
texts found with every ``handlers/locale/<lang>/LC_MESSAGES/aduan.po``
(docs/translations.md "Translations"). SOP profile texts are not extracted.
"""

from __future__ import annotations

import ast
import io
import os
import re
import shutil
import string
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2.ext import extract_from_ast

import handlers.i18n as i18n
from gateway.inbox.pages import TIME_STATES
from gateway.reports.texts import CATEGORY_NAMES, CHANNEL_NAMES
from gateway.web.templating import environment
from handlers.i18n import CataloguesNotCompiled, t, tn
from handlers.intake.replies import expiry_text
from handlers.profile import STATUS_NAMES, Profile

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("handlers", "gateway", "channels")
TEMPLATE_FUNCTIONS = ("_", "gettext", "ngettext")

#: Calls of t()/tn() whose message id is not a literal, by file: the
#: expression passed. Each one's ids are marked with N_() where they are
#: defined, so extraction still sees them. A new entry needs the same.
DYNAMIC_IDS: dict[str, set[str]] = {
    "gateway/access_log.py": {"SERVER_ERROR_TEXT"},
    "gateway/inbox/complaint_view.py": {
        "TIME_STATES[state]",
        "CATEGORY_NAMES[complaint.category]",
        "CATEGORY_NAMES.get(c, c)",
        "CATEGORY_NAMES[data['category']]",
    },
    "gateway/inbox/pages.py": {"name", "TIME_STATES[row.time_state]", "CATEGORY_NAMES.get(c, c)"},
    "gateway/reports/texts.py": {"name"},  # CATEGORY_NAMES
    "gateway/web/pages.py": {"heading", "detail"},  # N_() in pages.py and its callers
    "gateway/web/submit.py": {"TOKEN_TEXTS[check.state]", "USED_TOKEN_TEXT"},
    "gateway/web/track.py": {"text"},  # STATUS_TEXTS
    "gateway/web/templating.py": {"message_id", "singular", "plural"},  # the templates' _()
    "handlers/profile.py": {"name"},  # STATUS_NAMES
    "handlers/staff_alerts.py": {"msgid", "subject_id"},  # REMINDER_*, ESCALATION_*
    "handlers/staff_notices.py": {"msgid", "subject_id"},  # NEW_COMPLAINT_*, ASSIGNED_*
    "handlers/workflow.py": {"SATISFACTION_QUESTION"},
}


def makefile_keywords(root: Path = ROOT) -> dict[str, object]:
    """The ``-k`` specs of ``EXTRACT_KEYWORDS`` in the Makefile, as Babel reads them."""
    text = (root / "Makefile").read_text(encoding="utf-8")
    line = re.search(r"^EXTRACT_KEYWORDS\s*:=(.*)$", text, re.MULTILINE)
    assert line is not None, "the Makefile lost EXTRACT_KEYWORDS"
    words = line.group(1).split()
    assert "--no-default-keywords" in words
    specs = [words[i + 1] for i, word in enumerate(words) if word == "-k"]
    return dict(parse_keywords(specs))


def extracted(root: Path) -> dict[str | tuple[str, str], str]:
    """Message id (a ``(singular, plural)`` pair for plural texts) → where it is used."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str | tuple[str, str], str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        root, method_map, options_map, keywords=makefile_keywords()
    ):
        key = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(key, f"{filename}:{lineno}")
    return found


def dynamic_calls(root: Path) -> list[str]:
    """Non-literal message ids at ``t``/``tn``/template calls not in :data:`DYNAMIC_IDS`."""
    problems: list[str] = []
    for directory in SOURCE_DIRS:
        for path in sorted((root / directory).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                positions = {"t": (1,), "tn": (1, 2), "N_": (0,)}.get(node.func.id, ())
                for index in positions:
                    arg = node.args[index] if len(node.args) > index else None
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        continue
                    expression = ast.unparse(arg) if arg is not None else "(none)"
                    if expression not in DYNAMIC_IDS.get(name, set()):
                        problems.append(f"{name}:{node.lineno}: {node.func.id}({expression})")
    env = environment()
    for path in sorted((root / "gateway" / "templates").rglob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for lineno, func, message in extract_from_ast(tree, TEMPLATE_FUNCTIONS):
            texts = message if isinstance(message, tuple) else (message,)
            needed = texts[:2] if func == "ngettext" else texts[:1]
            if not all(isinstance(text, str) for text in needed):
                problems.append(f"{path.relative_to(root)}:{lineno}: {func}() without a literal")
    return problems


def singular(message_id: str | tuple[str, ...]) -> str:
    """The singular of a plural message id; a plain id itself."""
    return message_id if isinstance(message_id, str) else message_id[0]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def catalogue_problems(root: Path, po_files: Iterable[Path]) -> list[str]:
    """Everything wrong between the texts used under ``root`` and the catalogues."""
    used = extracted(root)
    problems = [f"message id is not a literal: {where}" for where in dynamic_calls(root)]
    for po in po_files:
        with po.open("rb") as handle:
            catalog = read_po(handle)
        problems += [f"{po.name}: {p}" for p in single_catalogue_problems(catalog, used)]
    return problems


def single_catalogue_problems(
    catalog: Catalog, used: dict[str | tuple[str, str], str]
) -> list[str]:
    """Missing, untranslated, fuzzy, obsolete and inconsistent texts; compile errors."""
    problems: list[str] = []
    locale = str(catalog.locale)
    expected_plurals = get_plural(locale)
    if catalog.num_plurals != expected_plurals.num_plurals:
        problems.append(f"Plural-Forms should be {expected_plurals.plural_forms}")
    entries = {singular(m.id): m for m in catalog if m.id}
    used_singulars = {singular(k) for k in used}
    for key, where in used.items():
        entry = entries.get(singular(key))
        texts = entry.string if entry is not None and isinstance(entry.string, tuple) else ()
        if entry is None:
            problems.append(f"missing (run make catalogues, then translate): {key!r} ({where})")
        elif entry.id != key:
            problems.append(f"singular/plural differs from the code: {key!r} ({where})")
        elif entry.fuzzy or not all(texts or [entry.string]):
            problems.append(f"untranslated or fuzzy: {key!r} ({where})")
    for message_id, entry in entries.items():
        if message_id not in used_singulars:
            problems.append(f"obsolete, no code uses it (run make catalogues): {entry.id!r}")
    problems += [f"obsolete entry: {m.id!r}" for m in catalog.obsolete.values()]
    for entry in entries.values():
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if len(ids) > 1 and len(texts) != expected_plurals.num_plurals:
            problems.append(
                f"{len(texts)} plural forms, {locale} has {expected_plurals.num_plurals}: {ids}"
            )
        for text in texts:
            if text and placeholders(text) != placeholders(ids[-1]):
                problems.append(f"placeholders differ from the message id: {ids[0]!r}")
    for message, errors in catalog.check():
        problems += [f"does not compile: {message.id!r}: {error}" for error in errors]
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    Translations(compiled)  # readable by gettext: header and plural rule are valid
    return problems


def po_files(root: Path = ROOT) -> list[Path]:
    return sorted((root / "handlers" / "locale").glob("*/LC_MESSAGES/aduan.po"))


def test_catalogues_are_complete_current_and_compile() -> None:
    assert [p.parent.parent.name for p in po_files()] == ["id"]
    used = extracted(ROOT)
    assert len(used) > 600
    assert any(isinstance(key, tuple) for key in used), "no plural text was extracted"
    # The tables of ids translated later are marked with N_() in full.
    for table in (STATUS_NAMES, CHANNEL_NAMES, TIME_STATES, CATEGORY_NAMES):
        assert set(table.values()) <= set(used), table
    problems = catalogue_problems(ROOT, po_files())
    assert not problems, "\n".join(problems)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the sources, templates, mapping and catalogue under ``tmp_path``."""
    for directory in SOURCE_DIRS:
        shutil.copytree(
            ROOT / directory,
            tmp_path / directory,
            ignore=shutil.ignore_patterns("*.mo", "__pycache__"),
        )
    return tmp_path


def test_a_new_text_missing_from_the_catalogue_fails(project_copy: Path) -> None:
    assert not catalogue_problems(project_copy, po_files(project_copy))
    (project_copy / "handlers" / "new_reply.py").write_text(
        "from handlers.i18n import t, tn\n\n\n"
        "def reply(lang: str, table: dict[str, str], n: int) -> str:\n"
        '    return t(lang, "A text no catalogue has yet") + t(lang, table["x"])'
        ' + tn(lang, "{n} file", "{n} files", n)\n',
        encoding="utf-8",
    )
    problems = catalogue_problems(project_copy, po_files(project_copy))
    assert any("missing" in p and "A text no catalogue has yet" in p for p in problems)
    assert any("missing" in p and "{n} files" in p for p in problems)
    assert any("not a literal" in p and 't(table["x"])' in p.replace("'", '"') for p in problems)


def test_an_obsolete_or_untranslated_text_fails(project_copy: Path) -> None:
    po = po_files(project_copy)[0]
    with po.open("rb") as handle:
        catalog = read_po(handle)
    catalog.add("A text nothing uses any more", "Teks yang tidak dipakai lagi")
    catalog.get("Your complaint").string = ""  # type: ignore[union-attr]
    catalog.add(("{n} page", "{n} pages"), ("{n} halaman", "{n} halaman"))
    problems = single_catalogue_problems(catalog, extracted(project_copy))
    assert any("obsolete" in p and "A text nothing uses any more" in p for p in problems)
    assert any("untranslated" in p and "Your complaint" in p for p in problems)
    assert any("plural forms" in p and "{n} page" in p for p in problems)


def test_plural_forms_follow_each_language() -> None:
    assert tn("id", "{n} complaint", "{n} complaints", 1) == "1 pengaduan"
    assert tn("id", "{n} complaint", "{n} complaints", 3) == "3 pengaduan"
    assert tn("en", "{n} complaint", "{n} complaints", 1) == "1 complaint"
    assert tn("en", "{n} complaint", "{n} complaints", 3) == "3 complaints"
    assert tn("en", "{label}: {n} day", "{label}: {n} days", 2, label="Kept") == "Kept: 2 days"


def test_translation_falls_back_to_english() -> None:
    assert t("id", "Your complaint") == "Pengaduan Anda"
    assert t("en", "Your complaint") == "Your complaint"
    assert t("id", "no such text {x}", x=1) == "no such text 1"


def test_missing_or_stale_compiled_catalogue_names_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = tmp_path / "id" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    po, mo = messages / "aduan.po", messages / "aduan.mo"
    po.write_bytes((i18n.LOCALE_DIR / "id" / "LC_MESSAGES" / "aduan.po").read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    with pytest.raises(
        CataloguesNotCompiled, match="missing: build it with make catalogues-compiled"
    ):
        i18n.check_compiled("id")
    i18n.check_compiled("en")  # the message ids are English: no catalogue needed
    with po.open("rb") as source, mo.open("wb") as target:
        write_mo(target, read_po(source))
    i18n.check_compiled("id")
    later = mo.stat().st_mtime + 10
    os.utime(po, (later, later))
    with pytest.raises(CataloguesNotCompiled, match=r"older than aduan\.po"):
        i18n.check_compiled("id")


@pytest.mark.parametrize(
    ("hours", "english", "indonesian"),
    [
        (1.0, "no reply for 1 hour.", "selama 1 jam."),
        (72.0, "no reply for 72 hours.", "selama 72 jam."),
        (1.5, "no reply for 1.5 hours.", "selama 1.5 jam."),
    ],
)
def test_draft_expiry_counts_its_hours(hours: float, english: str, indonesian: str) -> None:
    intake = SimpleNamespace(conversation_ttl_hours=hours)
    profile = cast(Profile, SimpleNamespace(intake=intake))
    assert english in expiry_text(profile, "en")
    assert indonesian in expiry_text(profile, "id").replace("\n", " ")
