"""User management for the administrator: ``/inbox/users`` (admin role only, others 403).

* ``GET /inbox/users``: every account (username, full name, role with the
  profile's label, email, active, last sign-in when a session of it is still
  kept), the form to add one, and the latest changes (the audit,
  :class:`storage.models.StaffUserAudit`).
* ``POST /inbox/users``: add an account, with the password typed by the
  administrator or, left empty, one generated and shown once.
* ``GET /inbox/users/{id}``: one account: change its role, deactivate or
  reactivate it, reset its password (typed, or generated and shown once),
  and its own audit lines.
* ``POST /inbox/users/{id}/role``, ``…/active``, ``…/password``.

The rules (roles of the profile plus ``admin``, the last active admin kept,
sessions ended) are in :mod:`gateway.staff_accounts`; refused input is shown
as an error on the page (400) and changes nothing. CSRF and Origin are
checked by :mod:`gateway.inbox.auth` like every inbox form.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.app_runtime import get_runtime
from gateway.inbox.auth import LANG_KEY, PREFIX, current, forbidden
from gateway.inbox.pages import local_time
from gateway.inbox.render import role_label, staff_page
from gateway.passwords import MIN_PASSWORD_LENGTH
from gateway.queries.staff_users import AuditLine, account, accounts, audit_lines
from gateway.staff_accounts import (
    ADMIN,
    AccountRefused,
    AccountResult,
    Action,
    Refusal,
    assignable_roles,
)
from handlers.i18n import t, tn
from handlers.workflow import Actor

PATH = PREFIX + "/users"
#: Audit lines shown on the list page, newest first.
AUDIT_ROWS = 50
FIELDS = ("username", "full_name", "email", "role")


def refusal_text(lang: str, code: Refusal) -> str:
    """Why a change was refused, in ``lang``."""
    texts = {
        Refusal.FORBIDDEN: t(lang, "Only an administrator may manage accounts."),
        Refusal.UNKNOWN_USER: t(lang, "There is no such account."),
        Refusal.USERNAME: t(
            lang, "Choose a username of letters, digits and signs without spaces (at most 100)."
        ),
        Refusal.DUPLICATE: t(lang, "That username is already taken."),
        Refusal.FULL_NAME: t(lang, "Give the full name (at most 200 characters)."),
        Refusal.EMAIL: t(lang, "The email address is not valid."),
        Refusal.UNKNOWN_ROLE: t(lang, "Choose one of the roles offered."),
        Refusal.WEAK_PASSWORD: tn(
            lang,
            "The password needs at least {n} character.",
            "The password needs at least {n} characters.",
            MIN_PASSWORD_LENGTH,
        ),
        Refusal.LAST_ADMIN: t(
            lang,
            "This is the last active administrator: make another account administrator first.",
        ),
    }
    return texts[code]


def done_text(lang: str, done: str) -> str | None:
    """The confirmation after a change (``?done=…``), or ``None``."""
    texts = {
        "created": t(lang, "The account was added."),
        Action.ROLE_CHANGED.value: t(lang, "The role was changed."),
        Action.DEACTIVATED.value: t(lang, "The account was deactivated; its sessions ended."),
        Action.REACTIVATED.value: t(lang, "The account was reactivated."),
        Action.PASSWORD_RESET.value: t(
            lang, "The password was reset; the account's sessions ended."
        ),
    }
    return texts.get(done)


def _yes_no(lang: str, value: object) -> str:
    return t(lang, "active") if value else t(lang, "inactive")


def change_text(request: web.Request, row: AuditLine) -> tuple[str, str]:
    """(what, before → after) of an audit line, in the page language; never a password."""
    lang = request[LANG_KEY]
    before, after = row.before, row.after
    if row.action == Action.CREATED:
        return t(lang, "Account added"), role_label(request, str(after.get("role", "")))
    if row.action == Action.ROLE_CHANGED:
        return t(lang, "Role changed"), (
            f"{role_label(request, str(before.get('role', '')))} → "
            f"{role_label(request, str(after.get('role', '')))}"
        )
    if row.action in (Action.DEACTIVATED, Action.REACTIVATED):
        what = (
            t(lang, "Deactivated") if row.action == Action.DEACTIVATED else t(lang, "Reactivated")
        )
        return what, f"{_yes_no(lang, before.get('active'))} → {_yes_no(lang, after.get('active'))}"
    if row.action == Action.PASSWORD_RESET:
        how = (
            t(lang, "generated")
            if after.get("generated")
            else t(lang, "typed by the administrator")
        )
        return t(lang, "Password reset"), how
    return row.action, ""


def _audit_rows(request: web.Request, rows: list[AuditLine]) -> list[dict[str, str]]:
    zone = get_runtime(request).profile.office.timezone
    lang = request[LANG_KEY]
    shown = []
    for row in rows:
        what, detail = change_text(request, row)
        shown.append(
            {
                "when": local_time(row.at, zone, lang),
                "actor": row.actor.removeprefix("staff:"),
                "username": row.username,
                "what": what,
                "detail": detail,
            }
        )
    return shown


def _admin(request: web.Request) -> Actor | None:
    user = current(request).user
    return Actor(user.username, user.role) if user.role == ADMIN else None


def _roles(request: web.Request) -> list[tuple[str, str]]:
    """(role, label) for the role choices: the profile's roles first, ``admin`` last, so
    that a new account is not an administrator unless chosen."""
    roles = assignable_roles(get_runtime(request).profile)
    ordered = [r for r in roles if r != ADMIN] + [ADMIN]
    return [(role, role_label(request, role)) for role in ordered]


async def _list_page(
    request: web.Request,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    runtime = get_runtime(request)
    lang = request[LANG_KEY]
    zone = runtime.profile.office.timezone
    async with runtime.sessions() as session:
        users = await accounts(session)
        audit = await audit_lines(session, limit=AUDIT_ROWS)
    rows = [
        {
            "id": u.id,
            "username": u.username,
            "full_name": u.full_name,
            "role": role_label(request, u.role),
            "email": u.email or "",
            "active": u.active,
            "last_sign_in": local_time(u.last_sign_in, zone, lang),
        }
        for u in users
    ]
    return staff_page(
        request,
        "users.html",
        title=t(lang, "Users"),
        nav="users",
        status=status,
        rows=rows,
        audit=_audit_rows(request, audit),
        roles=_roles(request),
        error=error,
        values=values or {},
        done=done_text(lang, request.query.get("done", "")),
        min_length=MIN_PASSWORD_LENGTH,
    )


async def users_page(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/users``: the accounts, the form to add one, the latest changes."""
    if _admin(request) is None:
        return forbidden(request, "role")
    return await _list_page(request)


def _form_text(form: Any, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


async def add_user(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/users``: add an account; errors are shown and change nothing."""
    actor = _admin(request)
    if actor is None:
        return forbidden(request, "role")
    lang = request[LANG_KEY]
    form = await request.post()
    values = {key: _form_text(form, key).strip() for key in FIELDS}
    service = get_runtime(request).staff
    try:
        result = await service.create_account(
            actor, password=_form_text(form, "password"), **values
        )
    except AccountRefused as exc:
        return await _list_page(
            request, error=refusal_text(lang, exc.code), values=values, status=400
        )
    if result.generated_password:
        return await _user_page(request, result.user.id, done="created", result=result)
    raise web.HTTPSeeOther(f"{PATH}/{result.user.id}?done=created")


async def _user_page(
    request: web.Request,
    user_id: int,
    *,
    error: str | None = None,
    done: str = "",
    result: AccountResult | None = None,
    status: int = 200,
) -> web.Response:
    runtime = get_runtime(request)
    lang = request[LANG_KEY]
    async with runtime.sessions() as session:
        user = await account(session, user_id)
        if user is None:
            raise web.HTTPNotFound()
        audit = await audit_lines(session, limit=AUDIT_ROWS, staff_user_id=user_id)
    return staff_page(
        request,
        "users_edit.html",
        title=t(lang, "Account {username}", username=user.username),
        nav="users",
        status=status,
        user=user,
        user_role=role_label(request, user.role),
        roles=_roles(request),
        audit=_audit_rows(request, audit),
        error=error,
        done=done_text(lang, done or request.query.get("done", "")),
        generated=result.generated_password if result else None,
        min_length=MIN_PASSWORD_LENGTH,
        myself=user.id == current(request).user.id,
    )


async def user_page(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/users/{id}``: one account and its changes."""
    if _admin(request) is None:
        return forbidden(request, "role")
    return await _user_page(request, int(request.match_info["id"]))


async def change_user(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/users/{id}/{role|active|password}``: one change, audited."""
    actor = _admin(request)
    if actor is None:
        return forbidden(request, "role")
    lang = request[LANG_KEY]
    user_id = int(request.match_info["id"])
    what = request.match_info["what"]
    form = await request.post()
    service = get_runtime(request).staff
    try:
        if what == "role":
            result = await service.change_role(actor, user_id, _form_text(form, "role"))
            done = Action.ROLE_CHANGED.value
        elif what == "active":
            active = _form_text(form, "active") == "1"
            result = await service.set_active(actor, user_id, active)
            done = (Action.REACTIVATED if active else Action.DEACTIVATED).value
        else:
            result = await service.reset_password(actor, user_id, _form_text(form, "password"))
            done = Action.PASSWORD_RESET.value
    except AccountRefused as exc:
        if exc.code is Refusal.UNKNOWN_USER:
            raise web.HTTPNotFound() from None
        return await _user_page(request, user_id, error=refusal_text(lang, exc.code), status=400)
    if result.generated_password:  # shown once, even when one's own session just ended
        return await _user_page(request, user_id, done=done, result=result)
    if result.user.id == current(request).user.id and result.sessions_ended:
        raise web.HTTPSeeOther(PREFIX + "/login")  # one's own sessions ended too
    raise web.HTTPSeeOther(f"{PATH}/{user_id}?done={done}")


def add_routes(app: web.Application) -> None:
    """Register the user management pages."""
    app.router.add_get(PATH, users_page)
    app.router.add_post(PATH, add_user)
    app.router.add_get(PATH + "/{id:\\d+}", user_page)
    app.router.add_post(PATH + "/{id:\\d+}/{what:role|active|password}", change_user)
