"""Jinja2 rendering for the public pages: autoescaping on, texts through :func:`t`.

Templates live in ``gateway/templates``; static files in ``gateway/static``
(served at ``/static/``). Every template gets ``lang`` (``"id"``/``"en"``), the
gettext functions of Jinja2's i18n extension bound to that language --
``_("English text", name=value)`` (:func:`t`) and
``ngettext("{n} complaint", "{n} complaints", count)`` (:func:`tn`, the count
as ``{n}``) -- and ``static_url`` (a file's URL with a content hash, so a
changed stylesheet is never served stale from a browser cache). Texts use
``{name}`` placeholders, as in Python; ``pybabel extract`` reads the calls
(docs/translations.md "Translations").

Autoescaping is on for every template and undefined variables raise, so user
input is always escaped and a missing value is a bug rather than a blank.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from handlers.i18n import normalise_language, t, tn

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_PREFIX = "/static/"


@cache
def environment() -> jinja2.Environment:
    """The process-wide Jinja2 environment (autoescape on, strict undefined)."""
    env = jinja2.Environment(
        extensions=["jinja2.ext.i18n"],
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["static_url"] = static_url
    # Not "newstyle": that fills %(name)s placeholders; ours are {name}.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=False
    )
    return env


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, message_id: str, /, **values: Any) -> str:
    """``_()``/``gettext()`` of a template: :func:`t` in the page's ``lang``."""
    return t(context["lang"], message_id, **values)


@jinja2.pass_context
def _ngettext(
    context: jinja2.runtime.Context, singular: str, plural: str, n: int, /, **values: Any
) -> str:
    """``ngettext()`` of a template: :func:`tn` in the page's ``lang``."""
    return tn(context["lang"], singular, plural, n, **values)


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

    Adds ``lang`` to the context; the template's ``_``/``ngettext`` translate
    into it.

    Raises:
        jinja2.TemplateError: for a template bug (including an undefined variable).
    """
    lang = normalise_language(language)
    return environment().get_template(template).render(lang=lang, **context)
