"""The ``aduan`` command line: serve, worker, db upgrade, user add, token
create/list/revoke, check-config, complaints export (docs/records.md, "Register export"),
contact export/erase/correct (docs/privacy.md), backup and restore
(docs/backup.md, :mod:`gateway.backup`)."""

from __future__ import annotations

# Each command imports the modules it runs inside its function, so that a
# short command (`aduan user add`, `aduan token list`) loads no more than it
# uses: not the web application, the job runners, arq or openpyxl. None of
# these imports is there to break a cycle (pyproject.toml's import contracts
# forbid cycles, counting imports inside functions).
import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gateway.config import Settings, channel_states, load_settings
from gateway.web.form import check_profile as check_form_fields
from handlers.profile import Profile, ProfileError, load_profile

EXIT_CONFIG = 2
#: Roles for a profile that declares none.
DEFAULT_ROLES = ("secretariat", "officer", "manager")


def _settings() -> Settings:
    """The settings; a ``ConfigError`` becomes one line in :func:`main`."""
    return load_settings()


def _setup_logging(settings: Settings) -> None:
    from gateway.logs import configure_logging

    configure_logging(
        settings.log_level, secrets=settings.secret_values(), fmt=settings.log_format.value
    )


def _share_metrics(settings: Settings) -> bool:
    """Share this process's metrics in ``ADUAN_METRICS_DIR`` (gateway/metrics_dir.py);
    False, with one line on stderr, when the directory is not usable."""
    from gateway.metrics_dir import enable_multiprocess

    directory = settings.effective_metrics_dir
    try:
        enable_multiprocess(directory)
    except OSError as exc:
        print(
            f"aduan: ADUAN_METRICS_DIR: cannot use {directory} for metric files "
            f"({exc.strerror or exc}); make it writable or point ADUAN_METRICS_DIR elsewhere",
            file=sys.stderr,
        )
        return False
    return True


async def _schema_current(settings: Settings) -> tuple[str | None, str | None]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from gateway.config import db_deadlines
    from storage.db import create_engine
    from storage.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = create_engine(settings.effective_database_url, deadlines=db_deadlines(settings))
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()
    return current, head


def _require_schema(settings: Settings) -> None:
    """Raise ``StartupError`` unless the database is at the code's revision."""
    from gateway.startup_errors import StartupError

    current, head = asyncio.run(_schema_current(settings))
    if current != head:
        raise StartupError(
            "ADUAN_DATABASE_URL" if settings.database_url else "ADUAN_DATA_DIR",
            f"the database is at revision {current}, the code needs {head}",
            "run 'aduan db upgrade' first",
        )


def _profile(settings: Settings, *, check_form: bool = False) -> Profile | None:
    """The SOP profile ``settings`` name, with ``check_form`` also fit for the web form.

    ``None`` once the reason it is not (a :class:`handlers.profile.ProfileError`)
    is printed to stderr as ``aduan: …``; the command then exits with
    :data:`EXIT_CONFIG`.
    """
    try:
        profile = load_profile(settings.sop_profile)
        if check_form:
            check_form_fields(profile)
    except ProfileError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return None
    return profile


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    """Apply every migration to the configured database."""
    settings = _settings()
    _setup_logging(settings)
    from storage.db import create_engine
    from storage.migrate import upgrade

    async def run() -> None:
        engine = create_engine(settings.effective_database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    current, _head = asyncio.run(_schema_current(settings))
    print(f"database at revision {current}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP gateway (public form, webhooks) with in-process jobs or arq."""
    overrides = {}
    if args.host:
        overrides["http_host"] = args.host
    if args.port:
        overrides["http_port"] = args.port
    settings = load_settings(**overrides)
    check_form_fields(load_profile(settings.sop_profile))
    from gateway.preflight import check_data_dir, check_listen_address, take_embedded_lock

    check_data_dir(settings)
    take_embedded_lock(settings)  # before anything is printed; the runtime takes it over
    check_listen_address(settings.http_host, settings.http_port)
    _setup_logging(settings)
    _require_schema(settings)
    if not _share_metrics(settings):
        return EXIT_CONFIG

    from aiohttp import web

    from gateway.app import create_app

    base = f"http://{settings.http_host}:{settings.http_port}"
    print("aduan is starting")
    print(f"  public complaint form : {base}/")
    print(f"  complaint tracking    : {base}/track")
    print(f"  health                : {base}/healthz, {base}/readyz, {base}/metrics")
    print(f"  database              : {_redact(settings.effective_database_url)}")
    jobs = f"arq via {_redact(settings.redis_url)}" if settings.redis_url else "in-process"
    print(f"  jobs                  : {jobs}")
    for state in channel_states(settings):
        print(f"  channel {state.name:<13} : {'on' if state.enabled else 'off'} ({state.reason})")
    setup_url = asyncio.run(_first_run_url(settings, base))
    print(f"  staff inbox           : {base}/inbox")
    if setup_url:
        print("  first run             : no staff account yet; create the administrator at")
        print(f"                          {setup_url}")
    print("  staff accounts        : create more with")
    print(
        "                          .venv/bin/aduan user add <username> --name 'Full Name' --role secretariat"
    )
    print("                          give it a token for the staff API with")
    print(
        "                          .venv/bin/aduan token create <username> --name 'what it is for'"
    )
    print("                          and read the complaint register with")
    print(
        "                          .venv/bin/aduan complaints export --format xlsx --output register.xlsx"
    )
    print(f"  staff API             : {base}/api/v1 (described at {base}/api/v1/openapi.json)")
    sys.stdout.flush()
    from gateway.gc_freeze import freeze_after_startup

    app = create_app(settings)
    freeze_after_startup(app)
    web.run_app(
        app,
        host=settings.http_host,
        port=settings.http_port,
        print=None,
        access_log=None,
    )
    return 0


async def _first_run_url(settings: Settings, base: str) -> str | None:
    """The one-time ``/inbox/setup`` link while no staff account exists, else ``None``."""
    from sqlalchemy import func, select

    from gateway.inbox.auth import ensure_setup_token
    from storage.db import create_engine, session_factory
    from storage.models import StaffUser

    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            if await session.scalar(select(func.count()).select_from(StaffUser)):
                return None
    finally:
        await engine.dispose()
    return f"{base}/inbox/setup?token={ensure_setup_token(settings.data_dir)}"


def cmd_worker(_args: argparse.Namespace) -> int:
    """Run a worker (needs ADUAN_REDIS_URL, but keeps running while Redis is away;
    SIGTERM stops it cleanly: :func:`gateway.worker.run_worker`)."""
    settings = _settings()
    if not settings.redis_url:
        print(
            "aduan: ADUAN_REDIS_URL is not set; without Redis, 'aduan serve' runs all jobs itself",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    _setup_logging(settings)
    from gateway.worker import run_worker

    if _profile(settings, check_form=True) is None:
        return EXIT_CONFIG
    if not _share_metrics(settings):
        return EXIT_CONFIG
    return asyncio.run(run_worker(settings))


def cmd_check_config(args: argparse.Namespace) -> int:
    """Print which channels are on and why the others are off (no secrets); with
    ``--connect``, connect to each configured service (:mod:`gateway.connect_check`)."""
    settings = _settings()
    if args.connect:
        from gateway.connect_check import run_checks

        return run_checks(settings, timeout=args.timeout)
    status = 0
    try:
        profile = load_profile(settings.sop_profile)
        check_form_fields(profile)
        print(
            f"SOP profile: {profile.id} ({profile.name.id}) — {len(profile.intake.fields)} intake fields"
        )
    except ProfileError as exc:
        print(f"SOP profile: INVALID\n{exc}")
        status = EXIT_CONFIG
    print(f"database: {_redact(settings.effective_database_url)}")
    print(
        f"jobs: {'arq via ' + _redact(settings.redis_url) if settings.redis_url else 'in-process'}"
    )
    print(f"public URL: {settings.effective_public_url}")
    if settings.metrics_token is not None:
        print("metrics: /metrics asks for the bearer token (ADUAN_METRICS_TOKEN)")
    else:
        print(
            "metrics: /metrics is open to anyone who can reach it; set ADUAN_METRICS_TOKEN"
            " unless only your monitoring network can (docs/observability.md)"
        )
    for state in channel_states(settings):
        print(f"channel {state.name}: {'on' if state.enabled else 'off'} — {state.reason}")
    return status


def _redact(url: str) -> str:
    """Hide a password inside a URL (``postgresql://u:***@h/db``)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        if "@" in url and ":" in url.split("@", 1)[0].split("//", 1)[-1]:
            scheme, rest = url.split("//", 1)
            user = rest.split("@", 1)[0].split(":", 1)[0]
            return f"{scheme}//{user}:***@{rest.split('@', 1)[1]}"
        return url


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create a staff account; the password is read from the terminal or stdin."""
    settings = _settings()
    profile = _profile(settings)
    if profile is None:
        return EXIT_CONFIG
    roles = ["admin", *profile.roles] if profile.roles else ["admin", *DEFAULT_ROLES]
    if args.role not in roles:
        print(
            f"aduan: --role must be one of {', '.join(roles)} (the SOP profile's roles)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    password_hash = _new_password_hash(args.password_stdin)
    if password_hash is None:
        return EXIT_CONFIG

    from sqlalchemy.exc import IntegrityError

    from storage.db import create_engine, session_factory
    from storage.models import StaffUser

    async def run() -> int:
        engine = create_engine(settings.effective_database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                session.add(
                    StaffUser(
                        username=args.username,
                        full_name=args.name or args.username,
                        email=args.email,
                        role=args.role,
                        password_hash=password_hash,
                        active=True,
                    )
                )
        except IntegrityError:
            print(f"aduan: user {args.username!r} already exists", file=sys.stderr)
            return 1
        finally:
            await engine.dispose()
        print(f"user {args.username} ({args.role}) created")
        return 0

    return asyncio.run(run())


def _with_session(settings: Settings, work: Any) -> Any:
    """Run ``work(session)`` in one committed transaction on the configured database."""
    from storage.db import create_engine, session_factory

    async def run() -> Any:
        engine = create_engine(settings.effective_database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_token_create(args: argparse.Namespace) -> int:
    """Create a staff API token and print it once (only its hash is stored)."""
    settings = _settings()
    from datetime import timedelta

    from gateway.api.tokens import TokenError, create_token

    if args.expires_days is not None and args.expires_days <= 0:
        print("aduan: --expires-days must be positive", file=sys.stderr)
        return EXIT_CONFIG
    lifetime = timedelta(days=args.expires_days) if args.expires_days else None
    try:
        token = _with_session(
            settings,
            lambda session: create_token(
                session, args.username, name=args.name, expires_in=lifetime
            ),
        )
    except TokenError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return 1
    expiry = token.expires_at.isoformat() if token.expires_at else "never"
    print(
        f"token {token.id} for {token.username} (expires: {expiry}); it is shown only now:",
        file=sys.stderr,
    )
    print(token.secret)
    print(
        f"use it as: curl -H 'Authorization: Bearer <token>' "
        f"{settings.effective_public_url.rstrip('/')}/api/v1/me",
        file=sys.stderr,
    )
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    """List API tokens (never their secrets)."""
    settings = _settings()
    from gateway.api.tokens import list_tokens

    rows = _with_session(settings, lambda session: list_tokens(session, args.user))
    print(f"{'id':>4}  {'prefix':<12}  {'user':<16}  {'state':<8}  {'last used':<25}  name")
    from storage.types import utcnow

    now = utcnow()
    for token, username in rows:
        state = (
            "revoked"
            if token.revoked_at
            else "expired"
            if token.expires_at and token.expires_at <= now
            else "active"
        )
        used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "-"
        print(
            f"{token.id:>4}  {token.prefix:<12}  {username:<16}  {state:<8}  {used:<25}  {token.name}"
        )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    """Revoke an API token by id or prefix; it stops working at once."""
    settings = _settings()
    from gateway.api.tokens import TokenError, revoke_token

    try:
        token = _with_session(settings, lambda session: revoke_token(session, args.token))
    except TokenError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return 1
    print(f"token {token.id} ({token.prefix}…) revoked")
    return 0


def cmd_user_password(args: argparse.Namespace) -> int:
    """Set a staff account's password (from the terminal or stdin); ends its sessions."""
    settings = _settings()
    password_hash = _new_password_hash(args.password_stdin)
    if password_hash is None:
        return EXIT_CONFIG
    return _change_user(settings, args.username, password_hash=password_hash)


def cmd_user_active(args: argparse.Namespace) -> int:
    """Deactivate (ending every session and token use) or reactivate a staff account."""
    return _change_user(_settings(), args.username, active=args.user_command == "activate")


def _new_password_hash(from_stdin: bool) -> str | None:
    """The argon2 hash of a password read from stdin or asked twice; ``None`` (and why, on
    stderr) when the two differ or it is too short."""
    from gateway.passwords import hash_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("aduan: passwords differ", file=sys.stderr)
            return None
    try:
        return hash_password(password)
    except ValueError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return None


def _change_user(
    settings: Settings,
    username: str,
    *,
    password_hash: str | None = None,
    active: bool | None = None,
) -> int:
    from sqlalchemy import select

    from gateway.staff_sessions import end_user_sessions
    from storage.models import StaffUser

    async def work(session: Any) -> int | None:
        user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None:
            return None
        if password_hash is not None:
            user.password_hash = password_hash
        if active is not None:
            user.active = active
        if password_hash is not None or active is False:
            return int(await end_user_sessions(session, user.id))
        return 0

    ended = _with_session(settings, work)
    if ended is None:
        print(f"aduan: no staff user {username!r}", file=sys.stderr)
        return 1
    what = "password set" if password_hash else ("activated" if active else "deactivated")
    print(f"user {username}: {what}; {ended} signed-in session{'' if ended == 1 else 's'} ended")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the complaint register as JSON, CSV or XLSX: the inbox download's
    columns and values (:mod:`gateway.register`), whole or ``--from``/``--to``."""
    settings = _settings()
    from gateway.queries.staff_users import staff_names
    from gateway.register import cli_period, export, register_rows
    from gateway.reports.period import PeriodError
    from storage.db import create_engine, session_factory

    profile = _profile(settings)
    if profile is None:
        return EXIT_CONFIG
    try:
        period = cli_period(args.date_from, args.date_to, profile.office.timezone)
    except PeriodError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    async def run() -> bytes:
        engine = create_engine(settings.effective_database_url)
        try:
            sessions = session_factory(engine)
            rows = await register_rows(sessions, profile, period)
            async with sessions() as session:
                names = await staff_names(session)
        finally:
            await engine.dispose()
        return export(rows, profile, args.format, lang=args.lang, names=names)

    data = asyncio.run(run())
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"wrote {args.output}", file=sys.stderr)
    elif args.format == "xlsx" and sys.stdout.isatty():
        print("aduan: XLSX is binary; give --output FILE", file=sys.stderr)
        return EXIT_CONFIG
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _cli_actor() -> str:
    """``cli:<operating-system user>``, the actor of a command-line action in audits."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def parse_address(text: str) -> tuple[str, str]:
    """``(kind, address)`` for an address typed by an operator: ``telegram:<chat id>``,
    an email address (lower-cased) or a phone number in any form (E.164).

    Raises:
        channels.addresses.AddressError: when it is none of these.
    """
    from channels.addresses import AddressError, normalise_email, normalise_phone

    value = text.strip()
    if value.lower().startswith("telegram:"):
        chat = value.split(":", 1)[1].strip()
        if not chat.lstrip("-").isdigit():
            raise AddressError(f"not a Telegram chat id: {value!r}")
        return "telegram", chat
    if "@" in value:
        return "email", normalise_email(value)
    return "phone", normalise_phone(value)


async def resolve_contact(session: Any, ref: str) -> int:
    """The contact id ``ref`` names: ``12`` or ``#12`` (the id), or one of its
    addresses (:func:`parse_address`).

    Raises:
        LookupError: with what was looked for, when no contact matches.
    """
    from sqlalchemy import select

    from channels.addresses import AddressError
    from storage.models import Contact, ContactAddress

    number = ref.strip().removeprefix("#")
    if number.isdigit() and len(number) <= 9:
        if await session.get(Contact, int(number)) is None:
            raise LookupError(f"no contact #{number}")
        return int(number)
    try:
        kind, address = parse_address(ref)
    except AddressError as exc:
        raise LookupError(f"{exc}; give a contact number, phone number or email address") from None
    found = await session.scalar(
        select(ContactAddress.contact_id).where(
            ContactAddress.kind == kind, ContactAddress.address == address
        )
    )
    if found is None:
        raise LookupError(f"no contact has that {kind} address")
    return int(found)


def _contact_work(settings: Settings, ref: str, work: Any, *, pause: bool = False) -> Any:
    """Resolve ``ref`` and run ``work(session, contact_id)`` in one committed
    transaction; with ``pause`` the contact's message processing waits
    (:func:`handlers.contacts.processing_paused`). ``LookupError`` and the
    work's own errors propagate, with nothing committed."""
    from handlers.contacts import processing_paused
    from storage.db import create_engine, session_factory

    async def run() -> Any:
        engine = create_engine(settings.effective_database_url)
        sessions = session_factory(engine)
        try:
            async with sessions() as session:
                contact_id = await resolve_contact(session, ref)
            if not pause:
                async with sessions() as session, session.begin():
                    return await work(session, contact_id)
            async with processing_paused(sessions, (contact_id,), holder=_cli_actor()):
                async with sessions() as session, session.begin():
                    return await work(session, contact_id)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_contact_export(args: argparse.Namespace) -> int:
    """Write everything held about a contact as a ZIP or JSON (docs/privacy.md)."""
    settings = _settings()
    from handlers.privacy import export_contact, export_json, export_zip

    if args.format == "zip" and not args.output and sys.stdout.isatty():
        print("aduan: a ZIP is binary; give --output FILE (or --format json)", file=sys.stderr)
        return EXIT_CONFIG

    async def work(session: Any, contact_id: int) -> tuple[int, bytes, dict[str, int]]:
        export = await export_contact(session, contact_id, actor=_cli_actor())
        data = export_zip(export) if args.format == "zip" else export_json(export)
        return contact_id, data, export.counts()

    try:
        contact_id, data, counts = _contact_work(settings, args.contact, work)
    except LookupError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    summary = ", ".join(f"{key} {value}" for key, value in counts.items() if value)
    where = f" to {args.output}" if args.output else ""
    print(f"contact #{contact_id} exported{where} ({summary})", file=sys.stderr)
    return 0


def cmd_contact_erase(args: argparse.Namespace) -> int:
    """Erase a contact's personal data, after confirmation unless ``--yes`` (docs/privacy.md)."""
    settings = _settings()
    from handlers.privacy import erase_contact, erasure_preview

    async def preview(session: Any, contact_id: int) -> tuple[int, dict[str, int]]:
        return contact_id, await erasure_preview(session, contact_id)

    try:
        contact_id, counts = _contact_work(settings, args.contact, preview)
    except LookupError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return 1
    if not args.yes:
        summary = ", ".join(f"{key} {value}" for key, value in counts.items())
        print(
            f"Erase the personal data of contact #{contact_id} ({summary})? "
            "Names, addresses, messages and attachments are replaced for good; "
            "the complaint register keeps its rows.",
            file=sys.stderr,
        )
        answer = input(f"Type {contact_id} to erase: ").strip()
        if answer != str(contact_id):
            print("aduan: not confirmed; nothing was changed", file=sys.stderr)
            return 1

    async def erase(session: Any, found: int) -> dict[str, int]:
        return await erase_contact(session, found, actor=_cli_actor())

    try:
        erased = _contact_work(settings, f"#{contact_id}", erase, pause=True)
    except LookupError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return 1
    summary = ", ".join(f"{key} {value}" for key, value in erased.items() if value)
    print(f"contact #{contact_id}: personal data erased ({summary or 'nothing left to erase'})")
    return 0


def cmd_contact_correct(args: argparse.Namespace) -> int:
    """Correct a contact's name and addresses (docs/privacy.md)."""
    settings = _settings()
    from channels.addresses import AddressError
    from handlers.privacy import Correction, CorrectionError, correct_contact

    if args.name is None and not args.add and not args.remove:
        print("aduan: give --name, --add or --remove", file=sys.stderr)
        return EXIT_CONFIG
    try:
        correction = Correction(
            name=args.name,
            add=tuple(parse_address(a) for a in args.add),
            remove=tuple(parse_address(a) for a in args.remove),
        )
    except AddressError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    async def work(session: Any, contact_id: int) -> tuple[int, dict[str, int]]:
        return contact_id, await correct_contact(
            session, contact_id, correction, actor=_cli_actor()
        )

    try:
        contact_id, counts = _contact_work(settings, args.contact, work)
    except (LookupError, CorrectionError) as exc:
        print(f"aduan: {exc}; nothing was changed", file=sys.stderr)
        return 1
    print(
        f"contact #{contact_id} corrected: name {'changed' if counts['name'] else 'unchanged'}, "
        f"{counts['added']} address(es) added, {counts['removed']} removed"
    )
    return 0


def cmd_telegram_set_webhook(_args: argparse.Namespace) -> int:
    """Register ADUAN_PUBLIC_URL/webhooks/telegram with the bot, with the secret token."""
    settings = _settings()
    from channels.errors import ChannelError
    from channels.telegram import set_webhook
    from gateway.channel_configs import telegram_config

    try:
        url = asyncio.run(set_webhook(telegram_config(settings)))
    except (ValueError, ChannelError) as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"Telegram webhook set to {url}")
    return 0


#: An ``aduan`` subcommand: parsed arguments in, exit status out.
Command = Callable[[argparse.Namespace], int]


def _group(sub: Any, name: str, help: str) -> Any:
    """Add the subcommand group ``name``; its chosen verb lands in ``args.<name>_command``."""
    return sub.add_parser(name, help=help).add_subparsers(dest=f"{name}_command", required=True)


def _command(sub: Any, name: str, help: str, func: Command) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` to ``sub``, run by ``func``; returns its parser."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help)
    parser.set_defaults(func=func)
    return parser


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``aduan`` subcommand."""
    parser = argparse.ArgumentParser(prog="aduan", description="Complaint intake gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = _command(sub, "serve", "run the HTTP gateway", cmd_serve)
    serve.add_argument("--host", help="listen address (default ADUAN_HTTP_HOST)")
    serve.add_argument("--port", type=int, help="listen port (default ADUAN_HTTP_PORT)")
    worker_help = "run a background worker (needs ADUAN_REDIS_URL; runs on while Redis is away)"
    _command(sub, "worker", worker_help, cmd_worker)

    _command(
        _group(sub, "db", "database maintenance"), "upgrade", "apply migrations", cmd_db_upgrade
    )

    user_sub = _group(sub, "user", "staff accounts")
    add = _command(user_sub, "add", "create a staff account", cmd_user_add)
    add.add_argument("username")
    add.add_argument("--name", help="full name")
    add.add_argument("--email")
    add.add_argument("--role", default="secretariat")
    _password_stdin(add)
    set_help = "set a password; ends the user's sessions"
    passwd = _command(user_sub, "set-password", set_help, cmd_user_password)
    passwd.add_argument("username")
    _password_stdin(passwd)
    for verb, text in (
        ("deactivate", "stop an account: sessions end, tokens stop working"),
        ("activate", "allow a deactivated account again"),
    ):
        _command(user_sub, verb, text, cmd_user_active).add_argument("username")

    check = _command(sub, "check-config", "show configuration and channels", cmd_check_config)
    check.add_argument(
        "--connect", action="store_true", help="connect to every configured service and report"
    )
    check.add_argument(
        "--timeout", type=float, default=10.0, help="seconds each --connect check may take"
    )

    tg_sub = _group(sub, "telegram", "Telegram bot set-up")
    hook_help = "register the webhook with its secret"
    _command(tg_sub, "set-webhook", hook_help, cmd_telegram_set_webhook)

    t_sub = _group(sub, "token", "staff API tokens (/api/v1)")
    t_create = _command(t_sub, "create", "create a token for a staff account", cmd_token_create)
    t_create.add_argument("username")
    t_create.add_argument("--name", required=True, help="what the token is for")
    t_create.add_argument("--expires-days", type=int, help="lifetime in days (default: none)")
    t_list = _command(t_sub, "list", "list tokens", cmd_token_list)
    t_list.add_argument("--user", help="only this staff account's tokens")
    t_revoke = _command(t_sub, "revoke", "revoke a token by id or prefix", cmd_token_revoke)
    t_revoke.add_argument("token", help="token id or its shown prefix")

    c_sub = _group(sub, "complaints", "complaint records")
    export = _command(c_sub, "export", "export the complaint register", cmd_export)
    export.add_argument("--format", choices=("json", "csv", "xlsx"), default="json")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.add_argument(
        "--from", dest="date_from", help="first day received, YYYY-MM-DD (office time)"
    )
    export.add_argument("--to", dest="date_to", help="last day received, YYYY-MM-DD (office time)")
    export.add_argument(
        "--lang", choices=("id", "en"), default="id", help="language of headers and labels"
    )

    ct_sub = _group(
        sub, "contact", "a complainant's personal data: export, erase, correct (UU PDP)"
    )
    ref_help = "contact number (12 or #12), phone number or email address"
    ct_export = _command(ct_sub, "export", "everything held about a contact", cmd_contact_export)
    ct_export.add_argument("contact", help=ref_help)
    ct_export.add_argument("--format", choices=("zip", "json"), default="zip")
    ct_export.add_argument("--output", help="file to write (default: standard output)")
    ct_erase = _command(ct_sub, "erase", "erase a contact's personal data", cmd_contact_erase)
    ct_erase.add_argument("contact", help=ref_help)
    ct_erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    correct_help = "correct a contact's name or addresses"
    ct_correct = _command(ct_sub, "correct", correct_help, cmd_contact_correct)
    ct_correct.add_argument("contact", help=ref_help)
    ct_correct.add_argument("--name", help="the corrected name")
    ct_correct.add_argument(
        "--add", action="append", default=[], help="an address to add (repeatable)"
    )
    ct_correct.add_argument(
        "--remove", action="append", default=[], help="an address to remove (repeatable)"
    )
    from gateway.backup import add_commands as add_backup_commands

    add_backup_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aduan`` console script."""
    from gateway.startup_errors import run_command

    args = build_parser().parse_args(argv)
    return run_command(lambda: int(args.func(args)))


if __name__ == "__main__":
    logging.captureWarnings(True)
    raise SystemExit(main())
