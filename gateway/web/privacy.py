"""The public privacy notice page, ``GET /privasi`` (docs/privacy.md).

The notice (UU PDP, Law 27/2022, art. 16(2), 20-21): what is collected and
why (the SOP profile's ``privacy.purpose``), how long it is kept (the
profile's ``retention``, :class:`handlers.profile.Retention`), the
complainant's rights and whom to ask (``privacy.contact``). Indonesian, with
English at ``?lang=en``. The web form links it (``_privacy_notice.html``)
and so does the first chat answer of a conversation
(:func:`handlers.intake.replies.privacy_line`).
"""

from __future__ import annotations

from aiohttp import web

from gateway.app_runtime import get_runtime
from gateway.web.pages import page_language, render_page
from handlers.i18n import t
from handlers.privacy import NOTICE_PATH


async def privacy_page(request: web.Request) -> web.Response:
    """``GET /privasi``: the full privacy notice in the page's language."""
    profile = get_runtime(request).profile
    lang = page_language(request)
    return render_page(
        request,
        "privacy.html",
        lang,
        title=t(lang, "Privacy notice"),
        cache="public, max-age=300",
        purpose=profile.privacy.purpose.get(lang),
        contact=profile.privacy.contact.get(lang),
        retention=profile.retention,
    )


def add_routes(app: web.Application) -> None:
    """Register ``GET /privasi``."""
    app.router.add_get(NOTICE_PATH, privacy_page, name="privacy")
