"""Jinja2 rendering for the public pages: autoescaping on, texts through :func:`t`.

Templates live in ``gateway/templates``; static files in ``gateway/static``
(served at ``/static/``). Every template gets ``_`` (translate into the page's
language: ``_("English text", name=value)``), ``lang`` (``"id"``/``"en"``) and
``static_url`` (a file's URL with a content hash, so a changed stylesheet is
never served stale from a browser cache).

Autoescaping is on for every template and undefined variables raise, so user
input is always escaped and a missing value is a bug rather than a blank.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from handlers.i18n import normalise_language, t

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_PREFIX = "/static/"


@cache
def environment() -> jinja2.Environment:
    """The process-wide Jinja2 environment (autoescape on, strict undefined)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["static_url"] = static_url
    return env


@cache
def static_url(name: str) -> str:
    """URL of ``gateway/static/<name>`` with a short content hash (``?v=…``).

    Raises:
        FileNotFoundError: when the file does not exist.
    """
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}{name}?v={digest}"


def render(template: str, language: str, /, **context: Any) -> str:
    """Render ``template`` in ``language`` with ``context``.

    Adds ``lang`` and ``_`` (``t`` bound to the language) to the context.

    Raises:
        jinja2.TemplateError: for a template bug (including an undefined variable).
    """
    lang = normalise_language(language)

    def translate(message_id: str, /, **values: Any) -> str:
        return t(lang, message_id, **values)

    return environment().get_template(template).render(lang=lang, _=translate, **context)
