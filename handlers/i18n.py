"""Translations of what citizens and staff read, through gettext catalogues.

Message ids are English; ``gateway/locale/<lang>/LC_MESSAGES/aduan.po`` holds
each language's text, read with Babel at start. Indonesian (``id``) is the
default language, English (``en``) the second (docs/intake.md). Texts that
belong to one office (field prompts, office name) live in the SOP profile
instead.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


@cache
def catalogue(language: str) -> dict[str, str]:
    """Message id → translated text for ``language``; empty for English/unknown.

    Every ``*.po`` file in ``locale/<language>/LC_MESSAGES`` is read (``aduan.po``
    for conversation texts, ``web.po`` for the public pages).
    """
    table: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if message.id and isinstance(message.id, str) and isinstance(message.string, str):
                if message.string and not message.fuzzy:
                    table[message.id] = message.string
    return table


def normalise_language(language: str | None) -> str:
    """``en`` for English, ``id`` for everything else."""
    return "en" if (language or "").lower().startswith("en") else DEFAULT_LANGUAGE


def t(language: str | None, message_id: str, /, **values: Any) -> str:
    """Translate ``message_id`` into ``language`` and fill ``{placeholders}``.

    Falls back to the English message id when a translation is missing.
    """
    text = catalogue(normalise_language(language)).get(message_id, message_id)
    return text.format(**values) if values else text
