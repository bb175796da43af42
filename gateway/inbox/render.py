"""Rendering staff pages: the layout's context (office, staff member, CSRF token).

Templates live in ``gateway/templates/inbox/``; their texts are translated
through the translation catalogue (docs/translations.md).
Autoescaping is on: complainant text is always rendered as text.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.app_runtime import get_runtime
from gateway.inbox.access import may_report
from gateway.inbox.appeal_access import may_see_appeals
from gateway.inbox.auth import LANG_KEY, current
from gateway.web.templating import render
from handlers.manual_intake import manual_intake_enabled, may_register

#: The signed-in member's unread notices, set by :mod:`gateway.inbox.notifications`.
NOTICE_COUNT_KEY = web.RequestKey("staff_notice_count", int)


def role_label(request: web.Request, role: str) -> str:
    """The profile's name for ``role`` in the page language (``admin`` as is)."""
    label = get_runtime(request).profile.roles.get(role)
    return label.get(request[LANG_KEY]) if label else role


def staff_page(
    request: web.Request,
    template: str,
    *,
    title: str,
    nav: str = "",
    status: int = 200,
    **context: Any,
) -> web.Response:
    """Render ``inbox/<template>`` for the signed-in staff member.

    Adds ``office_name``, ``staff`` (the :class:`storage.models.StaffUser`),
    ``role_label``, ``csrf`` (for every form), ``page_title``, ``links``
    (which navigation links the role may use) and ``notice_count`` (unread
    notifications, :mod:`gateway.inbox.notifications`).
    """
    lang = request[LANG_KEY]
    active = current(request)
    profile = get_runtime(request).profile
    links = {
        "intake": manual_intake_enabled(profile) and may_register(profile, active.user.role),
        "reports": may_report(profile, active.user.role),
        "appeals": may_see_appeals(profile, active.user.role),
    }
    html = render(
        f"inbox/{template}",
        lang,
        page_title=title,
        nav=nav,
        office_name=get_runtime(request).profile.office.name.get(lang),
        staff=active.user,
        role_label=role_label(request, active.user.role),
        csrf=active.csrf_token,
        links=links,
        notice_count=request.get(NOTICE_COUNT_KEY, 0),
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html")
