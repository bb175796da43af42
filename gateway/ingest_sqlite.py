"""Ingest's write path on the embedded default: a batch's lookups and its insert go
to the SQLite driver as single statements (docs/webhooks.md, "Throughput").

Through the ORM session every statement costs four trips to aiosqlite's
thread (cursor, execute, fetch, close) plus SQLAlchemy's statement handling;
for a batch of webhook messages that was most of the work. Here a batch of
known senders takes two statements, each one trip: the sender lookup and one
multi-row ``INSERT … ON CONFLICT (channel, external_id) DO NOTHING
RETURNING``. Values are converted by the columns' own SQLAlchemy bind
processors, so the rows are exactly those the ORM would write; the statements
run on the session's connection, inside its transaction, and commit with it.

Lookups name the index they use (``kind = ? AND address IN (…)``; SQLite scans
the whole table for a row-value ``IN (VALUES …)``).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, cast

import aiosqlite
from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ContactAddress, Message

#: Most ``?`` parameters in one statement (SQLite's default limit since 3.32).
MAX_VARIABLES: Final = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999

_MESSAGES = cast(Table, Message.__table__)
_ADDRESSES = cast(Table, ContactAddress.__table__)


async def driver_connection(session: AsyncSession) -> aiosqlite.Connection | None:
    """The aiosqlite connection under ``session``'s transaction, ``None`` for
    any other driver (the caller then uses the ORM path)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    return driver if isinstance(driver, aiosqlite.Connection) else None


@functools.lru_cache(maxsize=8)
def _binders(dialect: Dialect, columns: tuple[str, ...]) -> tuple[Callable[[Any], Any] | None, ...]:
    """The bind processor of each ``messages`` column in ``columns`` (None: as is)."""
    return tuple(
        _MESSAGES.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )


@functools.lru_cache(maxsize=64)
def _insert_sql(columns: tuple[str, ...], rows: int) -> str:
    row = "(" + ", ".join("?" * len(columns)) + ")"
    return (
        f"INSERT INTO {_MESSAGES.name} ({', '.join(columns)}) VALUES "
        + ", ".join([row] * rows)
        + " ON CONFLICT (channel, external_id) DO NOTHING"
        " RETURNING id, contact_id, channel, external_id"
    )


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _find(
    driver: aiosqlite.Connection,
    table: Table,
    key: tuple[str, str],
    values: tuple[str, ...],
    pairs: Sequence[tuple[str, str]],
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The ``values`` columns per stored (``key[0]``, ``key[1]``) pair among ``pairs``.

    One statement (per :data:`MAX_VARIABLES` / 2 pairs): per first value,
    ``key[0] = ? AND key[1] IN (…)`` on the table's unique index, joined with
    ``UNION ALL``.
    """
    found: dict[tuple[str, str], tuple[Any, ...]] = {}
    first, second = key
    selected = ", ".join((first, second, *values))
    for chunk in _chunks(pairs, MAX_VARIABLES // 2):
        grouped: dict[str, list[str]] = {}
        for a, b in chunk:
            grouped.setdefault(a, []).append(b)
        parts: list[str] = []
        params: list[str] = []
        for a, bs in grouped.items():
            parts.append(
                f"SELECT {selected} FROM {table.name}"
                f" WHERE {first} = ? AND {second} IN ({', '.join('?' * len(bs))})"
            )
            params.append(a)
            params.extend(bs)
        for row in await driver.execute_fetchall(" UNION ALL ".join(parts), params):
            found[(row[0], row[1])] = tuple(row[2:])
    return found


async def find_contacts(
    driver: aiosqlite.Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Contact id per stored (address kind, address) among ``keys``."""
    found = await _find(driver, _ADDRESSES, ("kind", "address"), ("contact_id",), keys)
    return {k: v[0] for k, v in found.items()}


async def find_messages(
    driver: aiosqlite.Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(Message id, contact id) per stored (channel, external id) among ``keys``."""
    found = await _find(driver, _MESSAGES, ("channel", "external_id"), ("id", "contact_id"), keys)
    return {k: (v[0], v[1]) for k, v in found.items()}


async def insert_messages(
    session: AsyncSession, driver: aiosqlite.Connection, rows: Sequence[Mapping[str, Any]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """Insert ``rows`` (``messages`` column values, all with the same keys),
    skipping (channel, external_id) pairs already stored.

    Returns (message id, contact id) per (channel, external id) inserted.
    """
    if not rows:
        return {}
    columns = tuple(rows[0])
    dialect = session.bind.dialect if session.bind is not None else None
    if dialect is None:  # pragma: no cover - sessions are always bound
        raise RuntimeError("session has no bind")
    binders = _binders(dialect, columns)
    inserted: dict[tuple[str, str], tuple[int, int]] = {}
    for chunk in _chunks(rows, max(1, MAX_VARIABLES // len(columns))):
        params: list[Any] = []
        for row in chunk:
            for name, bind in zip(columns, binders, strict=True):
                value = row[name]
                params.append(value if bind is None else bind(value))
        for message_id, contact_id, channel, external_id in await driver.execute_fetchall(
            _insert_sql(columns, len(chunk)), params
        ):
            inserted[(channel, external_id)] = (message_id, contact_id)
    return inserted
