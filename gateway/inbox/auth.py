"""Staff sign-in for the inbox: sessions, CSRF, throttling, first run (docs/staff-access.md).

* Every ``/inbox`` page needs a session (:mod:`gateway.staff_sessions`) except
  the sign-in and first-run pages; without one a GET is sent to the sign-in
  page and anything else is refused (401).
* Every state-changing request (POST, PUT, PATCH, DELETE) must carry the
  session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``) and, if
  the browser sends ``Origin``, come from this site — the host of
  ``ADUAN_PUBLIC_URL``, or the request's host as a trusted proxy forwards it
  (:mod:`gateway.remote`); otherwise it is refused with 403 and nothing
  changes. The sign-in and first-run forms, which have no session yet, use a
  double-submit cookie instead. A form body that cannot be read (malformed
  multipart, unknown charset) is answered 400 and changes nothing.
* Cookies: ``HttpOnly``, ``SameSite=Lax``, path ``/inbox``, and ``Secure``
  when ``ADUAN_PUBLIC_URL`` is https or a trusted proxy says the client used
  https.
* Sign-in attempts are reserved per account and per client address before
  the password is checked (:mod:`gateway.inbox.throttle`): a locked key never
  reaches argon2; an unknown account costs the same argon2 verification as a
  known one.
* First run: while no staff account exists, ``aduan serve`` writes a one-time
  token to ``<data_dir>/setup-token`` and prints ``/inbox/setup?token=…``,
  where the first administrator account is created.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from babel.dates import format_timedelta
from multidict import MultiDictProxy
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gateway.app_runtime import get_runtime
from gateway.inbox.throttle import ThrottlePolicy, record_success, reserve
from gateway.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from gateway.remote import client_address, remote
from gateway.runtime import Runtime
from gateway.staff_sessions import (
    ActiveSession,
    SessionPolicy,
    end_session,
    load_session,
    start_session,
)
from gateway.web.templating import render
from handlers.i18n import normalise_language
from storage.models import StaffUser
from storage.types import utcnow

PREFIX = "/inbox"
SESSION_COOKIE = "aduan_session"
LOGIN_CSRF_COOKIE = "aduan_login_csrf"
LANG_COOKIE = "aduan_lang"
SETUP_TOKEN_FILE = "setup-token"  # noqa: S105 - a file name
STAFF_KEY = web.RequestKey("staff", ActiveSession)
LANG_KEY = web.RequestKey("staff_lang", str)
#: Paths under /inbox reachable without a session.
PUBLIC_PATHS = frozenset({PREFIX + "/login", PREFIX + "/setup"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
THROTTLE = ThrottlePolicy()
#: Verified when the account does not exist, so both cost the same time.
_DUMMY_HASH = hash_password("not a password, only for timing")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def session_policy(runtime: Runtime) -> SessionPolicy:
    """The session lifetimes from ``ADUAN_STAFF_SESSION_HOURS``/``ADUAN_STAFF_IDLE_MINUTES``."""
    return SessionPolicy(
        lifetime=timedelta(hours=runtime.settings.staff_session_hours),
        idle=timedelta(minutes=runtime.settings.staff_idle_minutes),
    )


def _secure(request: web.Request) -> bool:
    public = get_runtime(request).settings.effective_public_url
    return public.startswith("https://") or remote(request).scheme == "https"


def set_cookie(
    response: web.StreamResponse, request: web.Request, name: str, value: str, **kw: Any
) -> None:
    """Set a staff cookie with the flags of the module docstring."""
    response.set_cookie(
        name,
        value,
        path=PREFIX,
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
        **kw,
    )


def client_ip(request: web.Request) -> str | None:
    """The client's address through trusted proxies (:func:`gateway.remote.client_address`)."""
    return client_address(request) or None


def staff_language(request: web.Request) -> str:
    """The staff page language: ``?lang=`` if given, else the cookie, else Indonesian."""
    asked = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    return normalise_language(asked)


def current(request: web.Request) -> ActiveSession:
    """The signed-in staff member's session (set by :func:`middleware`)."""
    return request[STAFF_KEY]


def safe_next(target: str | None) -> str:
    """``target`` when it is a path inside the inbox, else the inbox itself (no open redirect)."""
    if target and target.startswith(PREFIX) and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return PREFIX


def _same_origin(request: web.Request) -> bool:
    """No ``Origin`` (an old browser), or one naming this site's host.

    This site: the host of ``ADUAN_PUBLIC_URL``, or the request's host (as a
    trusted proxy forwards it, :mod:`gateway.remote`). Behind nginx with a
    plain ``proxy_pass`` the request's own host is the upstream's, so the
    public URL is what matches.
    """
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    sent = urlsplit(origin).netloc.lower()
    public = urlsplit(get_runtime(request).settings.effective_public_url).netloc.lower()
    return bool(sent) and sent in (public, remote(request).host.lower())


class UnreadableForm(Exception):
    """The request body is not a form we can read (answered 400, nothing changed)."""


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form; raises :class:`UnreadableForm` for a body that cannot be parsed.

    aiohttp raises ``ValueError`` (missing boundary, truncated body),
    ``LookupError`` (unknown charset), ``RuntimeError`` (unknown transfer
    encoding) or ``HttpProcessingError`` (bad part headers) for a malformed
    body; a body over the size limit still raises its own 413.
    """
    try:
        return await request.post()
    except (ValueError, LookupError, RuntimeError, HttpProcessingError):
        raise UnreadableForm() from None


def unreadable(request: web.Request) -> web.Response:
    """400 page: the form could not be read and nothing changed."""
    lang = staff_language(request)
    return web.Response(
        text=render(
            "inbox/refused.html",
            lang,
            title="400",
            reason="unreadable",
            office_name=_office(request, lang),
        ),
        status=400,
        content_type="text/html",
    )


def forbidden(request: web.Request, reason: str) -> web.Response:
    """403 page: the request was refused and nothing changed."""
    lang = staff_language(request)
    return web.Response(
        text=render(
            "inbox/refused.html",
            lang,
            title="403",
            reason=reason,
            office_name=_office(request, lang),
        ),
        status=403,
        content_type="text/html",
    )


def _office(request: web.Request, lang: str) -> str:
    return get_runtime(request).profile.office.name.get(lang)


async def _csrf_ok(request: web.Request, expected: str) -> bool:
    """Whether the request carries the session's CSRF token (header or form field).

    A form body is read here even when the header is sent, so a body that
    cannot be parsed is refused (:class:`UnreadableForm`) before any handler
    runs; handlers then get aiohttp's cached copy.
    """
    sent = request.headers.get("X-CSRF-Token")
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await read_form(request)
        value = form.get("csrf")
        if sent is None:
            sent = value if isinstance(value, str) else None
    return bool(sent) and hmac.compare_digest(str(sent), expected)


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sessions and CSRF for ``/inbox`` (see the module docstring); other paths pass through."""
    path = request.path
    if not (path == PREFIX or path.startswith(PREFIX + "/")):
        return await handler(request)
    request[LANG_KEY] = staff_language(request)
    if path in PUBLIC_PATHS:
        return await _respond(request, handler)
    runtime = get_runtime(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    active = None
    if token:
        async with runtime.sessions() as session, session.begin():
            active = await load_session(session, token, policy=session_policy(runtime))
    if active is None:
        if request.method in UNSAFE_METHODS:
            raise web.HTTPUnauthorized(text="sign in first")
        raise web.HTTPSeeOther(f"{PREFIX}/login?next={_quote(request.path_qs)}")
    request[STAFF_KEY] = active
    if request.method in UNSAFE_METHODS:
        if not _same_origin(request):
            return forbidden(request, "origin")
        try:
            if not await _csrf_ok(request, active.csrf_token):
                return forbidden(request, "csrf")
        except UnreadableForm:
            return unreadable(request)
    return await _respond(request, handler)


async def _respond(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    )
    if "lang" in request.query and not response.prepared:
        set_cookie(response, request, LANG_COOKIE, request[LANG_KEY], max_age=365 * 86400)
    return response


def _quote(value: str) -> str:
    return quote(value, safe="")


# --- pages --------------------------------------------------------------------


def _public_page(
    request: web.Request, template: str, *, csrf: str, status: int = 200, **context: Any
) -> web.Response:
    """A page shown before sign-in (sign-in, first run), with a fresh double-submit
    CSRF cookie matching the form's ``csrf`` field."""
    lang = request[LANG_KEY]
    runtime = get_runtime(request)
    response = web.Response(
        text=render(
            f"inbox/{template}",
            lang,
            title=template,
            office_name=runtime.profile.office.name.get(lang),
            csrf=csrf,
            **context,
        ),
        status=status,
        content_type="text/html",
    )
    set_cookie(response, request, LOGIN_CSRF_COOKIE, csrf)
    return response


def _login_page(
    request: web.Request,
    *,
    csrf: str,
    error: str | None = None,
    username: str = "",
    status: int = 200,
    wait: str = "",
) -> web.Response:
    return _public_page(
        request,
        "login.html",
        csrf=csrf,
        status=status,
        error=error,
        username=username,
        wait=wait,
        next=safe_next(request.query.get("next")),
    )


def wait_text(until: datetime, now: datetime, lang: str) -> str:
    """How long until ``until``, rounded up to a whole second, or minute past one
    minute ("30 detik", "2 menit"), in ``lang``."""
    seconds = max(1, math.ceil((until - now).total_seconds()))
    if seconds > 60:
        seconds = math.ceil(seconds / 60) * 60
    return format_timedelta(timedelta(seconds=seconds), locale=lang, threshold=1)


async def login_page(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/login``: the sign-in form (or the inbox when already signed in)."""
    runtime = get_runtime(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with runtime.sessions() as session, session.begin():
            if await load_session(session, token, policy=session_policy(runtime)):
                raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return _login_page(request, csrf=secrets.token_urlsafe(32))


def _login_csrf_ok(request: web.Request, form: Any) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf")
    return bool(cookie) and isinstance(sent, str) and hmac.compare_digest(cookie, sent)


async def _signed_out_form(request: web.Request) -> MultiDictProxy[Any] | web.Response:
    """The posted form of a page used without a session (sign-in, first set-up),
    or the answer refusing it: 400 when it cannot be read, 403 when its
    sign-in CSRF token or its origin does not match."""
    try:
        form = await read_form(request)
    except UnreadableForm:
        return unreadable(request)
    if not _login_csrf_ok(request, form) or not _same_origin(request):
        return forbidden(request, "csrf")
    return form


async def login(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/login``: reserve the attempt, check the password, open a session.

    The attempt is counted (:func:`gateway.inbox.throttle.reserve`, committed)
    before argon2 runs; a locked account or address is answered 429 with the
    time left, without a password check.
    """
    runtime = get_runtime(request)
    form = await _signed_out_form(request)
    if isinstance(form, web.Response):
        return form
    username = str(form.get("username") or "").strip()[:100]
    password = str(form.get("password") or "")
    ip = client_ip(request)
    fresh_csrf = secrets.token_urlsafe(32)
    now = utcnow()
    async with runtime.sessions() as session, session.begin():
        until = await reserve(session, username, ip, policy=THROTTLE, now=now)
    if until is not None:
        response = _login_page(
            request,
            csrf=fresh_csrf,
            error="locked",
            username=username,
            status=429,
            wait=wait_text(until, now, request[LANG_KEY]),
        )
        response.headers["Retry-After"] = str(max(1, math.ceil((until - now).total_seconds())))
        return response
    async with runtime.sessions() as session, session.begin():
        user = await session.scalar(
            select(StaffUser).where(StaffUser.username == username, StaffUser.active.is_(True))
        )
    # argon2 takes a noticeable time on purpose: off the event loop.
    valid = await asyncio.to_thread(
        verify_password, user.password_hash if user else _DUMMY_HASH, password
    )
    if user is None or not valid:  # already counted by the reservation
        return _login_page(request, csrf=fresh_csrf, error="invalid", username=username, status=401)
    async with runtime.sessions() as session, session.begin():
        await record_success(session, username, ip, policy=THROTTLE)
        token, _active = await start_session(
            session,
            user,
            policy=session_policy(runtime),
            ip=ip,
            user_agent=request.headers.get("User-Agent"),
        )
    response = web.HTTPSeeOther(safe_next(str(form.get("next") or "")))
    set_cookie(response, request, SESSION_COOKIE, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/logout``: end the session (CSRF-checked by the middleware)."""
    runtime = get_runtime(request)
    async with runtime.sessions() as session, session.begin():
        await end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = web.HTTPSeeOther(PREFIX + "/login")
    response.del_cookie(SESSION_COOKIE, path=PREFIX)
    raise response


# --- first run ------------------------------------------------------------------


def setup_token_path(runtime: Runtime) -> Path:
    """Where the one-time first-run token is kept: ``<data_dir>/setup-token``."""
    return Path(runtime.settings.data_dir) / SETUP_TOKEN_FILE


def ensure_setup_token(data_dir: Path) -> str:
    """The first-run token, created (mode 0600) if missing; for ``aduan serve`` to print."""
    path = Path(data_dir) / SETUP_TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.write_text(token, encoding="utf-8")
    return token


async def _setup_allowed(request: web.Request, token: str) -> bool:
    runtime = get_runtime(request)
    path = setup_token_path(runtime)
    if not token or not path.exists():
        return False
    if not hmac.compare_digest(path.read_text(encoding="utf-8").strip(), token):
        return False
    async with runtime.sessions() as session:
        return not await session.scalar(select(func.count()).select_from(StaffUser))


def _setup_page(
    request: web.Request,
    *,
    csrf: str,
    errors: dict[str, str],
    values: dict[str, str],
    status: int = 200,
) -> web.Response:
    return _public_page(
        request,
        "setup.html",
        csrf=csrf,
        status=status,
        token=request.query.get("token", ""),
        errors=errors,
        values=values,
        min_length=MIN_PASSWORD_LENGTH,
    )


async def setup_page(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/setup?token=…``: the form for the first administrator account."""
    if not await _setup_allowed(request, request.query.get("token", "")):
        raise web.HTTPNotFound()
    return _setup_page(request, csrf=secrets.token_urlsafe(32), errors={}, values={})


async def setup(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/setup?token=…``: create the first administrator and sign them in."""
    runtime = get_runtime(request)
    if not await _setup_allowed(request, request.query.get("token", "")):
        raise web.HTTPNotFound()
    form = await _signed_out_form(request)
    if isinstance(form, web.Response):
        return form
    values = {k: str(form.get(k) or "").strip() for k in ("username", "full_name", "email")}
    password, repeat = str(form.get("password") or ""), str(form.get("password2") or "")
    errors: dict[str, str] = {}
    if not values["username"] or len(values["username"]) > 100 or not values["username"].isascii():
        errors["username"] = "username"
    if not values["full_name"] or len(values["full_name"]) > 200:
        errors["full_name"] = "full_name"
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = "short"  # noqa: S105 - an error code
    elif password != repeat:
        errors["password2"] = "mismatch"
    if errors:
        return _setup_page(
            request, csrf=secrets.token_urlsafe(32), errors=errors, values=values, status=400
        )
    user = StaffUser(
        username=values["username"],
        full_name=values["full_name"],
        email=values["email"] or None,
        role="admin",
        password_hash=await asyncio.to_thread(hash_password, password),
        active=True,
    )
    try:
        async with runtime.sessions() as session, session.begin():
            if await session.scalar(select(func.count()).select_from(StaffUser)):
                raise web.HTTPNotFound()
            session.add(user)
            await session.flush()
            token, _active = await start_session(
                session,
                user,
                policy=session_policy(runtime),
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent"),
            )
    except IntegrityError:
        raise web.HTTPNotFound() from None
    setup_token_path(runtime).unlink(missing_ok=True)
    response = web.HTTPSeeOther(PREFIX)
    set_cookie(response, request, SESSION_COOKIE, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    raise response


def add_routes(app: web.Application) -> None:
    """Register the sign-in, sign-out and first-run pages and the middleware."""
    app.middlewares.append(middleware)
    app.router.add_get(PREFIX + "/login", login_page)
    app.router.add_post(PREFIX + "/login", login)
    app.router.add_post(PREFIX + "/logout", logout)
    app.router.add_get(PREFIX + "/setup", setup_page)
    app.router.add_post(PREFIX + "/setup", setup)
