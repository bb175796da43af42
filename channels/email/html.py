"""HTML mail bodies as plain text, for HTML-only messages (docs/channels.md, "Email")."""

from __future__ import annotations

import re

import html2text

__all__ = ["html_to_text"]

# html2text escapes Markdown syntax ("1\\.", "\\- item", "\\*"); we want plain text.
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: no links, images or emphasis markers.

    Paragraphs and line breaks are kept, lines are not re-wrapped, and
    ``<blockquote>`` becomes ``>``-quoted lines so that quoted replies can be
    stripped like plain-text ones (:func:`channels.email.quotes.strip_quotes`).
    Pure; never raises on malformed HTML.
    """
    converter = html2text.HTML2Text()
    converter.ignore_links = True
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = False
    converter.body_width = 0
    converter.unicode_snob = True
    converter.single_line_break = False
    try:
        text = converter.handle(html)
    except Exception:  # html2text on broken markup: fall back to tag stripping
        text = re.sub(r"<[^>]+>", " ", html)
    return _MD_ESCAPE.sub(r"\1", text)
