"""Engine and session factory: one engine per process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from storage.activity import TrackedSession

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Deadlines:
    """How long a process waits for its database, in seconds
    (docs/architecture.md, "Deadlines").

    ``connect``: opening a connection (asyncpg's connect timeout); ``pool``:
    waiting for a free pooled connection (SQLAlchemy ``pool_timeout``);
    ``statement``: one statement, lock waits included (PostgreSQL
    ``statement_timeout``, enforced by the server, and a client-side bound one
    second longer that also ends a wait on a server that stopped answering;
    SQLite's busy timeout). ``idle_in_transaction``: PostgreSQL ends a session
    that keeps a transaction open without a statement this long
    (``idle_in_transaction_session_timeout``), so a paused process cannot hold
    row locks for ever. ``None`` means no bound.

    The serving defaults keep connect + pool + statement well inside the 15 s
    a provider such as Twilio waits for a webhook answer.
    """

    connect: float = 3.0
    pool: float = 5.0
    statement: float | None = 5.0
    idle_in_transaction: float | None = 60.0


#: Bounds for maintenance commands (migrations, purges): they may run long
#: statements, so only connecting and the pool are bounded.
MAINTENANCE = Deadlines(connect=10.0, pool=60.0, statement=None, idle_in_transaction=None)

_SQLITE_MAINTENANCE_BUSY_SECONDS = 10.0


def _sqlite_pragmas(busy_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the single writer; synchronous=FULL makes
        # each commit durable before we acknowledge a provider (reliability rule 1).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    return on_connect


def _milliseconds(seconds: float) -> str:
    return str(max(1, round(seconds * 1000)))


def _postgres_connect_args(deadlines: Deadlines) -> dict[str, Any]:
    server: dict[str, str] = {}
    args: dict[str, Any] = {"timeout": deadlines.connect, "server_settings": server}
    if deadlines.statement is not None:
        server["statement_timeout"] = _milliseconds(deadlines.statement)
        # The server cancels a slow statement itself; this client-side bound
        # also ends a wait on a server that no longer answers at all.
        args["command_timeout"] = deadlines.statement + 1.0
    if deadlines.idle_in_transaction is not None:
        server["idle_in_transaction_session_timeout"] = _milliseconds(deadlines.idle_in_transaction)
    return args


def create_engine(
    url: str, *, echo: bool = False, deadlines: Deadlines | None = None
) -> AsyncEngine:
    """Create the async engine for ``url`` (``sqlite+aiosqlite`` or ``postgresql+asyncpg``).

    For SQLite the parent directory is created and WAL mode switched on.
    Statement parameters never appear in errors or logs
    (``hide_parameters``): they carry complainants' phone numbers, names and
    messages (docs/staff-access.md, "Logs").

    ``deadlines`` bound every wait on the database (:class:`Deadlines`); the
    serving processes pass theirs from settings, everything else gets
    :data:`MAINTENANCE`. A bound that passes raises: ``TimeoutError`` for
    connecting and the pool (``sqlalchemy.exc.TimeoutError``), a
    ``sqlalchemy.exc.DBAPIError`` for a statement.
    """
    parsed = make_url(url)
    bounds = deadlines or MAINTENANCE
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        if database in ("", ":memory:"):
            kwargs["poolclass"] = NullPool
        else:
            # One connection: SQLite has one writer at a time, and waiting for
            # the pool is an asyncio wait, where waiting for SQLite's file lock
            # is a sleeping busy-handler. Other processes still coordinate
            # through busy_timeout.
            kwargs["pool_size"] = 1
            kwargs["max_overflow"] = 0
            kwargs["pool_timeout"] = bounds.pool
        busy = (
            bounds.statement if bounds.statement is not None else _SQLITE_MAINTENANCE_BUSY_SECONDS
        )
        kwargs["connect_args"] = {"timeout": busy}
    else:
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 10
        kwargs["pool_pre_ping"] = True
        kwargs["pool_timeout"] = bounds.pool
        kwargs["connect_args"] = _postgres_connect_args(bounds)
    engine = create_async_engine(url, **kwargs)
    if sqlite:
        busy_ms = round(kwargs["connect_args"]["timeout"] * 1000)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_ms))
    return engine


def session_factory(engine: AsyncEngine) -> SessionFactory:
    """A session factory that keeps loaded objects usable after commit.

    Its sessions keep each complaint's activity times for the staff inbox
    (:mod:`storage.activity`).
    """
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=TrackedSession)


def is_sqlite(engine: AsyncEngine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def dialect_insert(session: AsyncSession) -> Any:
    """The ``insert`` construct of the session's dialect (PostgreSQL's or SQLite's).

    Both offer ``on_conflict_do_nothing``/``on_conflict_do_update`` and
    ``returning``, which the generic :func:`sqlalchemy.insert` lacks; a
    session not bound to an engine is taken as SQLite. Call the result with a
    model: ``dialect_insert(session)(Lease).values(...)``.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def insert_new(
    session: AsyncSession, model: Any, unique: Sequence[str], **values: Any
) -> int | None:
    """Insert one ``model`` row of ``values`` unless a row with the same
    ``unique`` columns (a unique index of the table) exists.

    Returns the new row's ``id``, or ``None`` when such a row was there
    already (nothing is written; a redelivery, a rescan, a repeat).
    """
    statement = (
        dialect_insert(session)(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(model.id)
    )
    new_id: int | None = (await session.execute(statement)).scalar_one_or_none()
    return new_id
