"""``aduan backup`` and ``aduan restore`` (docs/backup.md).

On the embedded SQLite database, ``backup`` takes a consistent copy while the
gateway runs (:mod:`storage.backup`), checks it and prints what it holds;
``restore`` puts a backup in place of the configured database, refusing while
a gateway runs on it or when it holds data (unless ``--force``), and brings an
older backup's schema forward. On PostgreSQL both print the ``pg_dump`` /
``pg_restore`` command for the configured database instead: the server's own
tools are the consistent way to copy it.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from gateway.config import ConfigError, Settings, load_settings
from gateway.embedded import EmbeddedLock, EmbeddedLockError
from storage.backup import BackupError, Snapshot, backup, holds_data, inspect, restore
from storage.db import create_engine
from storage.migrate import alembic_config, upgrade

EXIT_CONFIG = 2
#: File names ``aduan backup DIRECTORY`` writes, and ``--keep`` prunes.
BACKUP_PATTERN = "aduan-*.sqlite3"


def _error(message: str) -> int:
    print(f"aduan: {message}", file=sys.stderr)
    return EXIT_CONFIG


def _settings() -> Settings | None:
    try:
        return load_settings()
    except ConfigError as exc:
        _error(str(exc))
        return None


def sqlite_path(settings: Settings) -> Path | None:
    """The embedded database file, or ``None`` when the database is PostgreSQL."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite":
        return None
    return Path(url.database or "")


def _pg_options(url: URL) -> list[str]:
    options = []
    if url.host:
        options.append(f"--host={url.host}")
    if url.port:
        options.append(f"--port={url.port}")
    if url.username:
        options.append(f"--username={url.username}")
    options.append(f"--dbname={url.database or ''}")
    return options


def pg_dump_command(settings: Settings, path: str) -> str:
    """The ``pg_dump`` command line for the configured PostgreSQL database.

    Custom format (``--format=custom``, for ``pg_restore``); the password is
    never part of it (give it in ``PGPASSWORD`` or ``~/.pgpass``).
    """
    url = make_url(settings.effective_database_url)
    words = ["pg_dump", "--format=custom", "--no-owner", *_pg_options(url), f"--file={path}"]
    return shlex.join(words)


def pg_restore_command(settings: Settings, path: str) -> str:
    """The ``pg_restore`` command line putting ``path`` into the configured database
    (existing objects are dropped first: ``--clean --if-exists``)."""
    url = make_url(settings.effective_database_url)
    words = ["pg_restore", "--clean", "--if-exists", "--no-owner", *_pg_options(url), path]
    return shlex.join(words)


def _postgres_note(settings: Settings, command: str) -> int:
    url = make_url(settings.effective_database_url)
    lines = [
        f"aduan: the database is PostgreSQL ({url.render_as_string(hide_password=True)}); "
        "use the server's own tools (docs/backup.md):",
        f"  {command}",
    ]
    if url.password:
        lines.append("  (the password is not shown: give it in PGPASSWORD or ~/.pgpass)")
    print("\n".join(lines), file=sys.stderr)
    return EXIT_CONFIG


def backup_target(path: str, now: datetime) -> Path:
    """Where ``aduan backup PATH`` writes: ``PATH`` itself, or
    ``PATH/aduan-YYYYMMDD-HHMMSS.sqlite3`` (UTC ``now``) when ``PATH`` is a
    directory or ends with ``/`` (then it is created)."""
    if path.endswith("/") or Path(path).is_dir():
        return Path(path) / f"aduan-{now.astimezone(UTC):%Y%m%d-%H%M%S}.sqlite3"
    return Path(path)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` ``aduan-*.sqlite3`` files in ``directory``
    (newest by name, which carries the UTC time); returns the deleted paths."""
    found = sorted(directory.glob(BACKUP_PATTERN), reverse=True)
    old = found[keep:]
    for path in old:
        path.unlink(missing_ok=True)
    return old


async def backup_database(database: Path, target: Path) -> Snapshot:
    """Back up the SQLite file ``database`` to ``target`` off the event loop
    (:func:`storage.backup.backup`); raises :class:`storage.backup.BackupError`."""
    return await asyncio.to_thread(backup, database, target)


def cmd_backup(args: argparse.Namespace) -> int:
    """``aduan backup PATH [--force] [--keep N]``."""
    settings = _settings()
    if settings is None:
        return EXIT_CONFIG
    database = sqlite_path(settings)
    if database is None:
        return _postgres_note(settings, pg_dump_command(settings, args.path))
    target = backup_target(args.path, datetime.now(UTC))
    if args.keep is not None and target == Path(args.path):
        return _error("--keep needs a directory as PATH (ending with /)")
    if target.exists() and not args.force:
        return _error(f"{target} exists; give another path, a directory, or --force")
    if target.resolve() == database.resolve():
        return _error(f"{target} is the database itself; give another path")
    try:
        snapshot = asyncio.run(backup_database(database, target))
    except BackupError as exc:
        return _error(str(exc))
    print(f"backup written to {target}: integrity ok; {snapshot.summary()}")
    if args.keep is not None:
        for old in prune(target.parent, args.keep):
            print(f"removed old backup {old}")
    return 0


def _known_revision(revision: str | None) -> tuple[bool, str | None]:
    """Whether this code knows ``revision``, and the code's head revision."""
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    if revision is None:
        return False, head
    try:
        return scripts.get_revision(revision) is not None, head
    except Exception:  # alembic raises several kinds for an unknown id
        return False, head


async def _upgrade(settings: Settings) -> None:
    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def _restore_checked(settings: Settings, source: Path, target: Path, force: bool) -> int:
    try:
        found = inspect(source)
    except BackupError as exc:
        return _error(str(exc))
    known, head = _known_revision(found.revision)
    if found.revision is None:
        return _error(f"{source} is not an aduan backup (it has no schema revision)")
    if not known:
        return _error(
            f"{source} has schema revision {found.revision}, which this aduan does not know "
            "(a backup from a newer version); install that version or newer first"
        )
    if holds_data(target) and not force:
        return _error(
            f"{target} already holds complaints or accounts; restoring replaces them all. "
            "Give --force to do so (take a backup of it first)"
        )
    try:
        restored = restore(source, target)
    except BackupError as exc:
        return _error(str(exc))
    print(f"restored {source} into {target}: {restored.summary()}")
    if restored.revision != head:
        asyncio.run(_upgrade(settings))
        print(f"schema brought forward from {restored.revision} to {head}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """``aduan restore PATH [--force]``."""
    settings = _settings()
    if settings is None:
        return EXIT_CONFIG
    target = sqlite_path(settings)
    if target is None:
        command = pg_restore_command(settings, args.path)
        return _postgres_note(settings, f"{command}\n  aduan db upgrade")
    source = Path(args.path)
    if source.exists() and target.exists() and source.resolve() == target.resolve():
        return _error(f"{source} is the configured database itself")
    lock = EmbeddedLock(target)
    try:
        lock.acquire()
    except EmbeddedLockError:
        return _error(
            f"an aduan process is running on {target}; stop it first "
            "(systemctl stop aduan-serve), then restore"
        )
    try:
        return _restore_checked(settings, source, target, args.force)
    finally:
        lock.release()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def add_commands(sub: Any) -> None:
    """Register ``backup`` and ``restore`` on the ``aduan`` subcommand parser ``sub``."""
    bk = sub.add_parser(
        "backup", help="copy the embedded database while it runs (PostgreSQL: how to pg_dump)"
    )
    bk.add_argument(
        "path", help="backup file, or a directory to write aduan-YYYYMMDD-HHMMSS.sqlite3 in"
    )
    bk.add_argument("--force", action="store_true", help="replace an existing file")
    bk.add_argument(
        "--keep",
        type=_positive,
        metavar="N",
        help="with a directory: keep only the newest N backups in it",
    )
    bk.set_defaults(func=cmd_backup)
    rs = sub.add_parser(
        "restore", help="put a backup in place of the embedded database (PostgreSQL: pg_restore)"
    )
    rs.add_argument("path", help="a file written by 'aduan backup'")
    rs.add_argument(
        "--force", action="store_true", help="replace a database that already holds data"
    )
    rs.set_defaults(func=cmd_restore)
