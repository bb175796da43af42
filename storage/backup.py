"""Copies of the embedded SQLite database that stay consistent while it is in use.

SQLite's online backup API (:meth:`sqlite3.Connection.backup`) copies every
page under one read transaction, so a gateway may keep writing in WAL mode
while the copy is taken and the copy is the database as of one commit. The
copy is written beside its destination and renamed into place only once it
passed ``PRAGMA integrity_check``, so a failed backup never leaves a half
file under the name asked for (docs/backup.md).

These functions are blocking (``sqlite3``); async callers run them with
:func:`asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Tables whose rows make a database "hold data": restoring over one needs --force.
DATA_TABLES = ("contacts", "messages", "complaints", "staff_users")


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Snapshot:
    """What a database file holds.

    ``revision``: its Alembic schema revision (``None`` when it has no
    ``alembic_version`` table); ``complaints``, ``messages``, ``attachments``:
    row counts; ``attachment_bytes``: the stored attachment contents in bytes;
    ``file_bytes``: the size of the file itself.
    """

    path: Path
    revision: str | None
    complaints: int
    messages: int
    attachments: int
    attachment_bytes: int
    file_bytes: int

    def summary(self) -> str:
        """One line for an administrator: revision, counts and sizes."""
        return (
            f"revision {self.revision or 'none'}; {self.complaints} complaints, "
            f"{self.messages} messages, {self.attachments} attachments "
            f"({self.attachment_bytes} bytes); file {self.file_bytes} bytes"
        )


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    if read_only:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    else:
        connection = sqlite3.connect(path)
    try:
        yield connection
    finally:
        connection.close()


def _tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(name) for (name,) in rows}


def _count(connection: sqlite3.Connection, tables: set[str], table: str) -> int:
    if table not in tables:
        return 0
    return int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def _revision(connection: sqlite3.Connection, tables: set[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def _check(connection: sqlite3.Connection, path: Path) -> None:
    try:
        result = [str(r[0]) for r in connection.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc})") from None
    if result != ["ok"]:
        raise BackupError(f"{path} failed SQLite's integrity check: {'; '.join(result[:5])}")
    orphans = connection.execute("PRAGMA foreign_key_check").fetchall()
    if orphans:
        tables = sorted({str(row[0]) for row in orphans})
        raise BackupError(
            f"{path} has {len(orphans)} rows whose referenced row is missing "
            f"(PRAGMA foreign_key_check: {', '.join(tables)})"
        )


def _snapshot(connection: sqlite3.Connection, path: Path) -> Snapshot:
    tables = _tables(connection)
    attachment_bytes = 0
    if "attachments" in tables:
        attachment_bytes = int(
            connection.execute(
                "SELECT coalesce(sum(length(content)), 0) FROM attachments"
            ).fetchone()[0]
        )
    return Snapshot(
        path=path,
        revision=_revision(connection, tables),
        complaints=_count(connection, tables, "complaints"),
        messages=_count(connection, tables, "messages"),
        attachments=_count(connection, tables, "attachments"),
        attachment_bytes=attachment_bytes,
        file_bytes=path.stat().st_size,
    )


def inspect(path: Path) -> Snapshot:
    """Check ``path`` (``PRAGMA integrity_check`` and ``foreign_key_check``) and
    count what it holds; read-only.

    Raises:
        BackupError: the file is missing, not SQLite, or damaged.
    """
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file")
    try:
        with _connect(path, read_only=True) as connection:
            _check(connection, path)
            return _snapshot(connection, path)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc})") from None


def holds_data(path: Path) -> bool:
    """True when ``path`` exists and has a row in any of :data:`DATA_TABLES`.

    A missing file, or one with the schema but no rows (right after
    ``aduan db upgrade``), holds no data.
    """
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        with _connect(path, read_only=True) as connection:
            tables = _tables(connection)
            return any(_count(connection, tables, t) for t in DATA_TABLES)
    except sqlite3.DatabaseError:
        return True  # unreadable: do not treat as empty, let --force decide


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    # pages=-1: every page in one step, under one read transaction of the
    # source, so the copy is one consistent state even while others write.
    source.backup(target, pages=-1)


def backup(source: Path, target: Path) -> Snapshot:
    """Copy the live database ``source`` to the new file ``target``.

    The copy is a single self-contained file (rollback journal, not WAL),
    checked with ``PRAGMA integrity_check`` before it is renamed to
    ``target``; ``target`` is replaced if it exists.

    Raises:
        BackupError: ``source`` is missing or not SQLite, the copy failed its
            check, or ``target``'s directory is not writable.
    """
    if not source.is_file():
        raise BackupError(f"the database {source} does not exist; nothing to back up")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")
    except OSError as exc:
        raise BackupError(f"cannot write in {target.parent}: {exc.strerror}") from None
    os.close(fd)
    partial = Path(temporary)
    try:
        # Read-write like the gateway's own connections: a read-only one
        # cannot always join a live WAL database.
        with _connect(source) as src, _connect(partial) as dst:
            _copy(src, dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            _check(dst, target)
        os.chmod(partial, 0o600)  # it holds complainants' personal data
        partial.replace(target)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return inspect(target)


def restore(source: Path, target: Path) -> Snapshot:
    """Replace the contents of database ``target`` with the backup ``source``.

    Written through SQLite (the backup API into ``target``'s connection), so
    ``target``'s WAL and journal stay coherent. The caller makes sure no
    process uses ``target`` (the embedded lock) and decided about existing
    data (:func:`holds_data`). Returns what ``target`` then holds.

    Raises:
        BackupError: ``source`` is missing, not SQLite, or damaged.
    """
    inspect(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _connect(source, read_only=True) as src, _connect(target) as dst:
            _copy(src, dst)
            dst.execute("PRAGMA journal_mode=WAL")
            _check(dst, target)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"restore into {target} failed: {exc}") from None
    return inspect(target)
