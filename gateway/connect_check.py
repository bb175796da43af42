"""``aduan check-config --connect``: connect to every configured service once
(docs/startup.md, "Checking the connections").

Checks: the database (and its schema revision), Redis, IMAP login, SMTP
(EHLO, STARTTLS and login when configured), Twilio (the Account resource),
WhatsApp Cloud API (the phone number id), Telegram (``getMe``), and the public
URL over https when a channel takes webhooks. Each check has a deadline, so a
server that accepts and never answers fails in time; each uses the configured
API base (``ADUAN_*_API_BASE``). No secret is printed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO

import aiohttp
import aiosmtplib
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.asyncio import from_url
from redis.exceptions import AuthenticationError, RedisError

from channels.email.config import Security as EmailSecurity
from channels.email.imap_client import ImapConnection, ImapError
from channels.telegram import api_bases
from channels.twilio import account_url
from gateway.channel_configs import telegram_config
from gateway.config import Security, Settings, TelegramMode, channel_states
from gateway.startup_errors import chain_of, database_problem
from storage.db import Deadlines, create_engine
from storage.migrate import alembic_config

#: Exit code when any check fails.
EXIT_FAILED = 2


class CheckFailed(Exception):
    """A check's failure reason (one line, no secret)."""


@dataclass(frozen=True)
class CheckResult:
    """One line of the report: ``name`` (a service), ``ok`` and ``detail``."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """``OK   name: detail`` or ``FAIL name: detail``."""
        return f"{'OK  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


Check = Callable[[Settings, float], Awaitable[str]]


async def check_database(settings: Settings, deadline: float) -> str:
    """Connect and compare the schema revision with the code's."""

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    deadlines = Deadlines(connect=deadline, pool=deadline, statement=deadline)
    engine = create_engine(settings.effective_database_url, deadlines=deadlines)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    except Exception as exc:
        problem = database_problem(list(chain_of(exc)), settings)
        if problem is None:
            raise CheckFailed(_reason(exc)) from None
        raise CheckFailed(f"{problem.setting}: {problem.problem}; {problem.remedy}") from None
    finally:
        await engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if current != head:
        raise CheckFailed(
            f"{where} is at revision {current}, the code needs {head}; run 'aduan db upgrade'"
        )
    return f"{where} (revision {current})"


async def check_redis(settings: Settings, deadline: float) -> str:
    """``PING`` the Redis server of ``ADUAN_REDIS_URL``."""

    assert settings.redis_url
    client = from_url(  # type: ignore[no-untyped-call]
        settings.redis_url, socket_connect_timeout=deadline, socket_timeout=deadline
    )
    try:
        await client.ping()
    except AuthenticationError:
        raise CheckFailed("ADUAN_REDIS_URL: Redis refused the password") from None
    except (RedisError, OSError) as exc:
        raise CheckFailed(f"ADUAN_REDIS_URL: {_reason(exc)}") from None
    finally:
        await client.aclose()
    return "PING answered"


async def check_imap(settings: Settings, deadline: float) -> str:
    """Log in to the office mailbox (``ADUAN_IMAP_*``) and log out."""

    if not (settings.imap_user and settings.imap_password):
        raise CheckFailed("ADUAN_IMAP_USER and ADUAN_IMAP_PASSWORD are needed to log in")
    assert settings.imap_host
    try:
        conn = await ImapConnection.open(
            host=settings.imap_host,
            port=settings.imap_effective_port,
            security=EmailSecurity(settings.imap_security.value),
            user=settings.imap_user,
            password=settings.imap_password.get_secret_value(),
            command_timeout=deadline,
        )
    except ImapError as exc:
        raise CheckFailed(f"ADUAN_IMAP_*: {exc}") from None
    await conn.close()
    return (
        f"logged in as {settings.imap_user} at {settings.imap_host}:"
        f"{settings.imap_effective_port} ({settings.imap_security})"
    )


async def check_smtp(settings: Settings, deadline: float) -> str:
    """EHLO (STARTTLS and login when configured) at ``ADUAN_SMTP_HOST``, then QUIT."""

    assert settings.smtp_host
    user = settings.smtp_user or None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_effective_port,
        username=user,
        password=password if user else None,
        use_tls=settings.smtp_security is Security.SSL,
        start_tls=settings.smtp_security is Security.STARTTLS,
        timeout=deadline,
    )
    try:
        await client.connect()
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise CheckFailed(
            f"ADUAN_SMTP_USER/ADUAN_SMTP_PASSWORD: login refused ({exc.code})"
        ) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise CheckFailed(
            f"ADUAN_SMTP_HOST/ADUAN_SMTP_PORT/ADUAN_SMTP_SECURITY: {_reason(exc)}"
        ) from None
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
    how = f"{settings.smtp_security}" + (f", logged in as {user}" if user else "")
    return f"{settings.smtp_host}:{settings.smtp_effective_port} answered EHLO ({how})"


async def _get_json(url: str, deadline: float, **kwargs: object) -> tuple[int, object]:
    client_timeout = aiohttp.ClientTimeout(total=deadline)
    async with (
        aiohttp.ClientSession(timeout=client_timeout) as session,
        session.get(url, **kwargs) as response,  # type: ignore[arg-type]
    ):
        try:
            body: object = await response.json(content_type=None)
        except ValueError:
            body = None
        return response.status, body


async def check_twilio(settings: Settings, deadline: float) -> str:
    """``GET /2010-04-01/Accounts/{sid}.json`` at ``ADUAN_TWILIO_API_BASE`` (Twilio REST API)."""
    assert settings.twilio_account_sid and settings.twilio_auth_token
    url = account_url(settings.twilio_api_base, settings.twilio_account_sid) + ".json"
    auth = aiohttp.BasicAuth(
        settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value()
    )
    status, body = await _get_json(url, deadline, auth=auth)
    if status in (401, 403):
        raise CheckFailed(
            f"ADUAN_TWILIO_ACCOUNT_SID/ADUAN_TWILIO_AUTH_TOKEN: refused by Twilio (HTTP {status})"
        )
    if status == 404:
        raise CheckFailed("ADUAN_TWILIO_ACCOUNT_SID: no such account (HTTP 404)")
    if status != 200:
        raise CheckFailed(f"Twilio answered HTTP {status}")
    state = body.get("status") if isinstance(body, dict) else None
    if state not in (None, "active"):
        raise CheckFailed(f"ADUAN_TWILIO_ACCOUNT_SID: the account is {state}")
    return f"account {settings.twilio_account_sid} ({state or 'active'})"


async def check_whatsapp(settings: Settings, deadline: float) -> str:
    """``GET /{version}/{phone_number_id}`` at ``ADUAN_WHATSAPP_API_BASE`` (Graph API)."""
    assert settings.whatsapp_token and settings.whatsapp_phone_number_id
    base = settings.whatsapp_api_base.rstrip("/")
    url = f"{base}/{settings.whatsapp_api_version}/{settings.whatsapp_phone_number_id}"
    headers = {"Authorization": f"Bearer {settings.whatsapp_token.get_secret_value()}"}
    status, body = await _get_json(url, deadline, headers=headers)
    if status in (401, 403):
        raise CheckFailed(f"ADUAN_WHATSAPP_TOKEN: refused by the Graph API (HTTP {status})")
    if status in (400, 404):
        raise CheckFailed(
            f"ADUAN_WHATSAPP_PHONE_NUMBER_ID: not found for this token (HTTP {status})"
        )
    if status != 200:
        raise CheckFailed(f"the Graph API answered HTTP {status}")
    number = body.get("display_phone_number") if isinstance(body, dict) else None
    return f"phone number id {settings.whatsapp_phone_number_id}" + (
        f" ({number})" if number else ""
    )


async def check_telegram(settings: Settings, deadline: float) -> str:
    """``getMe`` at ``ADUAN_TELEGRAM_API_BASE`` (Telegram Bot API)."""

    assert settings.telegram_token
    base, _files = api_bases(telegram_config(settings))
    url = f"{base}{settings.telegram_token.get_secret_value()}/getMe"
    status, body = await _get_json(url, deadline)
    if status in (401, 404):
        raise CheckFailed(f"ADUAN_TELEGRAM_TOKEN: refused by the Bot API (HTTP {status})")
    if status != 200 or not isinstance(body, dict) or not body.get("ok"):
        raise CheckFailed(f"the Bot API answered HTTP {status}")
    result = body.get("result")
    name = result.get("username") if isinstance(result, dict) else None
    return f"bot @{name}" if name else "bot token accepted"


async def check_public_url(settings: Settings, deadline: float) -> str:
    """``GET {ADUAN_PUBLIC_URL}/healthz`` over https (providers deliver webhooks there)."""
    url = settings.public_url
    if not url:
        raise CheckFailed("ADUAN_PUBLIC_URL is not set; providers need it to deliver webhooks")
    if not url.startswith("https://"):
        raise CheckFailed(f"ADUAN_PUBLIC_URL must be https:// for webhooks, not {url}")
    status, _body = await _get_json(f"{url}/healthz", deadline)
    if status != 200:
        raise CheckFailed(f"ADUAN_PUBLIC_URL: {url}/healthz answered HTTP {status}")
    return f"{url}/healthz answered over https"


def planned_checks(settings: Settings) -> list[tuple[str, str, Check]]:
    """The checks that apply to ``settings``, in report order: ``(name, the
    settings it tries, check)``."""
    checks: list[tuple[str, str, Check]] = [
        (
            "database",
            "ADUAN_DATABASE_URL" if settings.database_url else "ADUAN_DATA_DIR",
            check_database,
        )
    ]
    if settings.redis_url:
        checks.append(("redis", "ADUAN_REDIS_URL", check_redis))
    if settings.imap_host:
        checks.append(("imap", "ADUAN_IMAP_HOST/ADUAN_IMAP_PORT", check_imap))
    if settings.smtp_host:
        checks.append(("smtp", "ADUAN_SMTP_HOST/ADUAN_SMTP_PORT", check_smtp))
    if settings.twilio_account_sid and settings.twilio_auth_token:
        checks.append(("twilio", "ADUAN_TWILIO_API_BASE", check_twilio))
    if settings.whatsapp_token and settings.whatsapp_phone_number_id:
        checks.append(("whatsapp", "ADUAN_WHATSAPP_API_BASE", check_whatsapp))
    if settings.telegram_token:
        checks.append(("telegram", "ADUAN_TELEGRAM_API_BASE", check_telegram))
    if webhook_channels(settings):
        checks.append(("public url", "ADUAN_PUBLIC_URL", check_public_url))
    return checks


def webhook_channels(settings: Settings) -> list[str]:
    """Enabled channels that receive webhooks (so need a public https URL)."""
    enabled = {s.name for s in channel_states(settings) if s.enabled}
    hooks: list[str] = [name for name in ("sms", "whatsapp", "api") if name in enabled]
    if "telegram" in enabled and settings.telegram_mode is TelegramMode.WEBHOOK:
        hooks.append("telegram")
    return hooks


async def _run_one(
    name: str, setting: str, check: Check, settings: Settings, deadline: float
) -> CheckResult:
    try:
        async with asyncio.timeout(deadline):
            detail = await check(settings, deadline)
    except CheckFailed as exc:
        return CheckResult(name, False, str(exc))
    except TimeoutError:
        return CheckResult(name, False, f"{setting}: no answer within {deadline:g} s")
    except (aiohttp.ClientError, OSError) as exc:
        return CheckResult(name, False, f"{setting}: {_reason(exc)}")
    return CheckResult(name, True, detail)


async def gather_checks(settings: Settings, deadline: float) -> list[CheckResult]:
    """Run every planned check at once, each bounded by ``deadline`` seconds."""
    planned = planned_checks(settings)
    results = await asyncio.gather(
        *(_run_one(name, setting, check, settings, deadline) for name, setting, check in planned)
    )
    secrets = settings.secret_values()
    return [CheckResult(r.name, r.ok, _mask(r.detail, secrets)) for r in results]


def run_checks(settings: Settings, *, timeout: float = 10.0, out: TextIO | None = None) -> int:
    """Print one line per check; return 0 when all pass, :data:`EXIT_FAILED` otherwise."""
    stream = out or sys.stdout
    if timeout <= 0:
        print("aduan: --timeout must be positive", file=sys.stderr)
        return EXIT_FAILED
    results = asyncio.run(gather_checks(settings, timeout))
    for result in results:
        print(result.line(), file=stream)
    return 0 if all(r.ok for r in results) else EXIT_FAILED


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
