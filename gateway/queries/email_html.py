"""HTML email bodies made safe to show in a staff browser (README.md, "Staff inbox").

The email channel keeps a copy of each message under 1 MiB in
``Message.raw["rfc822_b64"]`` (:func:`channels.email.parse.parse_email`);
its ``text/html`` body is what the sender saw. It is shown only after
sanitising with nh3 (the Rust ``ammonia`` library): basic formatting tags
only, no attributes except ``href`` on ``<a>`` (``http``, ``https``,
``mailto``) with ``rel="noopener noreferrer nofollow"``, no images (a remote
image is a tracking beacon), no scripts, styles, frames, forms or event
handlers. Without a kept HTML part the message's text is shown instead,
escaped by the template.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import nh3
from markupsafe import Markup

#: Formatting tags kept; every other tag is removed (its text kept). Headings
#: are not kept: the page's own headings give its outline (screen readers).
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "dd",
        "div",
        "dl",
        "dt",
        "em",
        "hr",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
#: Tags removed together with their content.
DROPPED_WITH_CONTENT = frozenset({"script", "style", "title", "template"})
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"


def sanitise_html(html: str) -> str:
    """``html`` reduced to the allowed tags and attributes (see the module docstring)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={"a": {"href"}},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _html_part(data: bytes) -> str | None:
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not isinstance(message, EmailMessage):
        return None
    part = message.get_body(preferencelist=("html",))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown or broken charset
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else None


def safe_email_html(raw: Mapping[str, Any]) -> Markup | None:
    """The sanitised HTML body of a stored email, or ``None`` when none is kept.

    ``raw`` is the message's ``Message.raw``. ``None`` too when the copy is
    missing (messages over 1 MiB), unreadable, has no ``text/html`` body, or
    nothing visible is left after sanitising. The result is safe to insert
    into a page as is.
    """
    encoded = raw.get("rfc822_b64")
    if not isinstance(encoded, str):
        return None
    try:
        html = _html_part(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, TypeError, IndexError, AttributeError):
        return None
    if not html:
        return None
    clean = sanitise_html(html).strip()
    if not clean or not any(ch.strip() for ch in _visible_text(clean)):
        return None
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def _visible_text(clean_html: str) -> str:
    return nh3.clean(clean_html, tags=set())
