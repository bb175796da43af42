"""What every public page shares: the page frame, error pages, reading a form body.

Used by :mod:`gateway.web.submit` (the form), :mod:`gateway.web.submitted`
(the confirmation page) and :mod:`gateway.web.track`; the routes are
registered by :func:`gateway.web.public.add_routes`.

Bodies must be ``application/x-www-form-urlencoded`` UTF-8 (400 otherwise) and
at most the route's limit in bytes (413).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_datetime

from gateway.app_runtime import get_runtime
from gateway.web.templating import render
from handlers.i18n import N_, normalise_language, t
from handlers.profile import FieldKind, IntakeField
from storage.limits import Verdict

log = logging.getLogger(__name__)


#: Reasons given when a request body is refused (translated when shown).
UNREADABLE_FORM = N_("The form was sent in a format we do not accept.")
FORM_TOO_LARGE = N_("The form is too large to accept.")

#: Most input fields accepted in one form body.
MAX_FORM_FIELDS = 100

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

#: Headers on every page: no framing, no sniffing, no scripts, no third parties.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
#: Pages showing personal data are never stored by any cache.
NO_STORE = "no-store"
#: The empty form may be kept by the browser (back button keeps the token, so
#: a resubmission is deduplicated) but never by a shared cache, which would
#: hand one token to several people.
PRIVATE_NO_CACHE = "private, no-cache"


class FormRejected(Exception):
    """A request body that is not an acceptable form; ``status`` is 400 or 413."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_form(request: web.Request, limit: int) -> dict[str, str]:
    """Read a URL-encoded UTF-8 form body of at most ``limit`` bytes.

    Returns the first value of each name.

    Raises:
        FormRejected: 400 for another content type, bad UTF-8 or too many
            fields; 413 for a body over ``limit``.
    """
    if request.content_type != FORM_CONTENT_TYPE:
        raise FormRejected(400, UNREADABLE_FORM)
    charset = request.charset
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise FormRejected(400, UNREADABLE_FORM)
    if request.content_length is not None and request.content_length > limit:
        raise FormRejected(413, FORM_TOO_LARGE)
    body = bytearray()
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        body += chunk
        if len(body) > limit:
            raise FormRejected(413, FORM_TOO_LARGE)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormRejected(400, UNREADABLE_FORM) from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def page_language(request: web.Request, fallback: str | None = None) -> str:
    """``en`` when ``?lang=en`` (or, without ``lang``, ``fallback`` is English), else ``id``."""
    return normalise_language(request.query.get("lang") or fallback)


def render_page(
    request: web.Request,
    template: str,
    lang: str,
    *,
    status: int = 200,
    cache: str = NO_STORE,
    title: str,
    nav: str = "",
    **context: Any,
) -> web.Response:
    """``template`` rendered in ``lang`` inside the office's page frame.

    Adds the office name, the language switch (this URL with the other
    ``lang``), :data:`SECURITY_HEADERS`, ``Cache-Control: cache`` and
    ``Content-Language``; ``context`` goes to the template.
    """
    runtime = get_runtime(request)
    office = runtime.profile.office
    other = "en" if lang == "id" else "id"
    switch_url = str(request.rel_url.with_fragment(None).update_query(lang=other))
    html = render(
        template,
        lang,
        title=title,
        office_name=office.name.get(lang),
        office_unit=office.unit.get(lang),
        switch_url=switch_url,
        switch_lang=other,
        switch_label="English" if other == "en" else "Bahasa Indonesia",
        nav=nav,
        appeal_form=runtime.profile.appeal is not None and runtime.profile.appeal.standalone,
        **context,
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = cache
    response.headers["Content-Language"] = lang
    return response


def error_page(
    request: web.Request, lang: str, status: int, heading: str, detail: str
) -> web.Response:
    """``error.html`` with ``status``; ``heading`` and ``detail`` are message ids."""
    return render_page(
        request,
        "error.html",
        lang,
        status=status,
        title=t(lang, heading),
        heading=t(lang, heading),
        detail=t(lang, detail),
    )


def too_many(request: web.Request, lang: str, verdict: Verdict, detail: str) -> web.Response:
    """429 with ``Retry-After`` (whole seconds) and the wait in minutes on the page.

    ``detail`` is a message id with a ``{minutes}`` placeholder
    (docs/web-form.md, "Limits").
    """
    seconds = max(1, math.ceil(verdict.retry_after.total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    response = render_page(
        request,
        "error.html",
        lang,
        status=429,
        title=t(lang, "Too many attempts"),
        heading=t(lang, "Too many attempts"),
        detail=t(lang, detail, minutes=minutes),
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def rejected(request: web.Request, lang: str, exc: FormRejected) -> web.Response:
    """The error page for a body :func:`read_form` refused (400 or 413)."""
    heading = N_("The form is too large") if exc.status == 413 else N_("The form could not be read")
    return error_page(request, lang, exc.status, heading, exc.reason)


def not_found(request: web.Request, lang: str) -> web.Response:
    """404 with a way back to the complaint form."""
    return error_page(
        request,
        lang,
        404,
        N_("Page not found"),
        N_("This page does not exist. Check the address, or go back to the complaint form."),
    )


def local_datetime(when: datetime, timezone: str, lang: str) -> str:
    """``when`` in the office's time zone as the page shows it.

    E.g. ``5 Maret 2026, 14.05 WIB`` (Indonesian) or ``5 March 2026, 14:05 WIB``.
    """
    zone = ZoneInfo(timezone)
    local = when.astimezone(zone)
    pattern = "d MMMM y, HH.mm" if lang == "id" else "d MMMM y, HH:mm"
    text = format_datetime(local, pattern, tzinfo=zone, locale=lang)
    return f"{text} {local.tzname() or ''}".strip()


@dataclass(frozen=True, slots=True)
class FieldView:
    """One form control as the template draws it."""

    name: str
    label: str
    hint: str | None
    value: str
    error: str | None
    required: bool
    multiline: bool = False
    input_type: str = "text"
    autocomplete: str | None = None
    inputmode: str | None = None
    verbatim: bool = False
    """No spell checking or automatic capitals (addresses, numbers)."""

    @property
    def described_by(self) -> str:
        """Ids for ``aria-describedby``: the hint, then the error."""
        ids = []
        if self.hint:
            ids.append(f"{self.name}-hint")
        if self.error:
            ids.append(f"{self.name}-error")
        return " ".join(ids)


#: Input type, ``autocomplete`` and ``inputmode`` of each intake field kind
#: (a date field is the browser's date picker, sending YYYY-MM-DD).
INTAKE_INPUTS: Mapping[FieldKind, tuple[str, str | None, str | None]] = {
    FieldKind.NAME: ("text", "name", None),
    FieldKind.TEXT: ("text", None, None),
    FieldKind.LONGTEXT: ("text", None, None),
    FieldKind.EMAIL: ("email", "email", "email"),
    FieldKind.PHONE: ("tel", "tel", "tel"),
    FieldKind.DATE: ("date", None, None),
}


def intake_field_view(
    field: IntakeField, lang: str, value: str, error: str | None, *, autofill: bool = True
) -> FieldView:
    """The SOP profile's intake ``field`` as a control in ``lang``, holding ``value``.

    With ``autofill`` (the public form) the browser may fill in the
    complainant's own details, a name only for ``complainant_name``; without
    it (staff recording a complaint) ``autocomplete="off"``, so the browser
    never offers the staff member's own name or address.
    """
    input_type, autocomplete, inputmode = INTAKE_INPUTS[field.kind]
    if not autofill:
        autocomplete = "off"
    elif field.key != "complainant_name" and field.kind is FieldKind.NAME:
        autocomplete = None
    return FieldView(
        name=field.key,
        label=field.label.get(lang),
        hint=field.prompt.get(lang),
        value=value,
        error=error,
        required=field.required,
        multiline=field.kind is FieldKind.LONGTEXT,
        input_type=input_type,
        autocomplete=autocomplete,
        inputmode=inputmode,
        verbatim=field.kind in (FieldKind.EMAIL, FieldKind.PHONE),
    )


def contact_field_view(
    name: str,
    label: str,
    kind: str,
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    hint: str | None = None,
    inputmode: bool = True,
    autofill: bool = True,
) -> FieldView:
    """An optional email (``kind="email"``) or phone (``"tel"``) control.

    Its value and error are ``typed[name]`` and ``errors[name]`` when there.
    ``kind`` is the input type and, with ``autofill`` (the public forms), the
    ``autocomplete`` token; without it (staff recording a complaint)
    ``autocomplete="off"``, as for :func:`intake_field_view`. With
    ``inputmode`` it is also the ``inputmode`` (the keyboard offered).
    """
    return FieldView(
        name=name,
        label=label,
        hint=hint,
        value=typed.get(name, ""),
        error=errors.get(name),
        required=False,
        input_type=kind,
        autocomplete=kind if autofill else "off",
        inputmode=kind if inputmode else None,
        verbatim=True,
    )


@dataclass(frozen=True, slots=True)
class SummaryError:
    """One entry of the error summary: the message and the control it links to."""

    target: str
    message: str
