"""Translations of what citizens and staff read, through gettext catalogues.

Message ids are English and are the English text; the Indonesian text lives in
``handlers/locale/id/LC_MESSAGES/aduan.po`` (one catalogue, domain ``aduan``),
compiled to ``aduan.mo`` when the project is built (``make catalogues-compiled``,
which runs :data:`COMPILE_COMMAND`) and read with Babel's
:class:`babel.support.Translations`, plural forms included (Indonesian has one
form, ``nplurals=1; plural=0``; English two). Indonesian (``id``) is the default
language, English (``en``) the second (docs/intake.md). Texts that belong to one
office (field prompts, office name) live in the SOP profile instead.

How texts are found, added and checked: docs/translations.md "Translations".
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "aduan"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
#: The language of the message ids: it needs no catalogue.
SOURCE_LANGUAGE = "en"

#: What builds the ``.mo`` files from the ``.po`` files (run from the project root).
COMPILE_COMMAND = "make catalogues-compiled (or: pybabel compile -d handlers/locale -D aduan)"


class CataloguesNotCompiled(RuntimeError):
    """A language's compiled catalogue (``.mo``) is missing, or older than its ``.po``.

    The message names the file and :data:`COMPILE_COMMAND`.
    """


def catalogue_paths(language: str) -> tuple[Path, Path]:
    """The ``(.po, .mo)`` paths of ``language``'s catalogue (either may not exist)."""
    base = LOCALE_DIR / language / "LC_MESSAGES" / DOMAIN
    return base.with_suffix(".po"), base.with_suffix(".mo")


def check_compiled(language: str) -> None:
    """Raise unless ``language`` has an up-to-date ``.mo`` (or needs none).

    The source language needs a catalogue only when it has a ``.po``. An
    installed package carries only the ``.mo`` files, so nothing is compared
    there.

    Raises:
        CataloguesNotCompiled: the ``.mo`` is missing or older than its ``.po``.
    """
    po, mo = catalogue_paths(language)
    if not mo.exists():
        if language == SOURCE_LANGUAGE and not po.exists():
            return
        raise CataloguesNotCompiled(f"{mo} is missing: build it with {COMPILE_COMMAND}")
    if po.exists() and po.stat().st_mtime > mo.stat().st_mtime:
        raise CataloguesNotCompiled(
            f"{mo} is older than {po.name}: rebuild it with {COMPILE_COMMAND}"
        )


# A checkout without compiled catalogues fails here, on import, rather than on
# the first page or reply that needs a text.
for _language in LANGUAGES:
    check_compiled(_language)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (``id`` or ``en``).

    The source language without a catalogue (English: its texts are the
    message ids) gets :class:`gettext.NullTranslations`, whose plural rule is
    English's.

    Raises:
        CataloguesNotCompiled: see :func:`check_compiled`.
    """
    check_compiled(language)
    _po, mo = catalogue_paths(language)
    if not mo.exists():
        return gettext.NullTranslations()
    with mo.open("rb") as handle:
        return Translations(handle, domain=DOMAIN)


def normalise_language(language: str | None) -> str:
    """``en`` for English, ``id`` for everything else."""
    return "en" if (language or "").lower().startswith("en") else DEFAULT_LANGUAGE


def N_(message_id: str) -> str:
    """Mark ``message_id`` for extraction where it is defined; returns it unchanged.

    For ids kept in constants and tables and translated later with :func:`t`
    (``pybabel extract`` sees only literal ids at a call).
    """
    return message_id


def t(language: str | None, message_id: str, /, **values: Any) -> str:
    """Translate ``message_id`` into ``language`` and fill ``{placeholders}``.

    Falls back to the English message id when a translation is missing.

    Raises:
        CataloguesNotCompiled: see :func:`check_compiled`.
        KeyError: a ``{placeholder}`` of the text has no value.
    """
    text = translations(normalise_language(language)).gettext(message_id)
    return text.format(**values) if values else text


def tn(language: str | None, singular: str, plural: str, n: int, /, **values: Any) -> str:
    """The form of ``singular``/``plural`` for the count ``n`` in ``language``, filled in.

    The count is available to the text as ``{n}``; ``values`` fill the other
    placeholders. The catalogue's plural rule picks the form (Indonesian has
    one; English, and a missing translation, use ``singular`` for 1 and
    ``plural`` otherwise).

    Raises:
        CataloguesNotCompiled: see :func:`check_compiled`.
        KeyError: a ``{placeholder}`` of the text has no value.
    """
    text = translations(normalise_language(language)).ngettext(singular, plural, n)
    return text.format(**{"n": n, **values})
