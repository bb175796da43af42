"""Shared fixtures: databases (SQLite and PostgreSQL), profile, settings."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.profile import Profile, load_profile
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade
from tests.services import POSTGRES_URL, ensure_worker_database, unavailable

# Chat turns are handled at once in tests, message by message, unless a test
# sets a quiet gap itself (tests/intake/test_turns.py): each test's messages
# are sent one after the other with the previous reply already settled.
os.environ.setdefault("ADUAN_TURN_GAP_SECONDS", "0")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under pytest-xdist, give this worker its own PostgreSQL database
    (tests/services.py)."""
    asyncio.run(ensure_worker_database())


async def _postgres_engine() -> AsyncEngine:
    engine = create_engine(POSTGRES_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:
        await engine.dispose()
        unavailable("PostgreSQL", f"{POSTGRES_URL}: {exc!r}")
    return engine


async def make_engine(kind: str, tmp_path: Path) -> AsyncEngine:
    """A migrated, empty database of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "postgresql":
        engine = await _postgres_engine()
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}")
    await upgrade(engine)
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    engine = await make_engine(request.param, tmp_path)
    yield engine
    await engine.dispose()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database (the embedded default)."""
    eng = await make_engine("sqlite", tmp_path)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    """Session factory on the SQLite test database."""
    return session_factory(engine)


@pytest.fixture
def any_sessions(any_engine: AsyncEngine) -> SessionFactory:
    """Session factory on the SQLite or PostgreSQL test database."""
    return session_factory(any_engine)


@pytest.fixture(autouse=True)
def _metrics_stay_in_this_process() -> Iterator[None]:
    """Metric sharing is per process (gateway/metrics_dir.py): a test that runs a
    command in-process which turns it on does not leave it on for the next test."""
    from prometheus_client import values

    from gateway.metrics_dir import ENV

    value_class, directory = values.ValueClass, os.environ.get(ENV)
    yield
    values.ValueClass = value_class
    if directory is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = directory


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ``aduan`` command line run in ``tmp_path``: no database, Redis or mail
    server from the environment, the data directory ``tmp_path/var``; returns
    ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    for name in ("ADUAN_DATABASE_URL", "ADUAN_REDIS_URL", "ADUAN_IMAP_HOST", "ADUAN_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADUAN_DATA_DIR", str(tmp_path / "var"))
    return tmp_path


@pytest.fixture(scope="session")
def profile() -> Profile:
    """The default SOP profile."""
    return load_profile("default")


from tests.runtime_fixtures import harness  # noqa: E402, F401 - re-exported fixture
