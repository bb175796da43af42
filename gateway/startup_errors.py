"""Start-up problems as one line naming the setting (docs/startup.md, "When it
does not start").

Every ``aduan`` command runs through :func:`run_command`: a configuration or
connection problem met while starting ends with one line on standard error,
``aduan: ADUAN_X: what is wrong; what to do``, and exit code 2. The traceback
follows only with ``ADUAN_LOG_LEVEL=DEBUG``. Errors that are not start-up
problems (bugs) keep their traceback.
"""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from redis.exceptions import AuthenticationError, RedisError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from gateway.config import ConfigError, Settings, load_settings
from gateway.embedded import EmbeddedLockError
from handlers.profile import ProfileError

#: Exit code of every configuration or connection problem.
EXIT_CONFIG = 2


class StartupError(Exception):
    """A problem that stops a command from starting.

    ``setting``: the ``ADUAN_*`` variable to change (or a command-line option);
    ``problem``: what is wrong, without secrets; ``remedy``: what to do.
    """

    def __init__(self, setting: str, problem: str, remedy: str) -> None:
        super().__init__(f"{setting}: {problem}; {remedy}")
        self.setting = setting
        self.problem = problem
        self.remedy = remedy

    def line(self) -> str:
        """The single line printed on standard error (no newline inside)."""
        text = f"aduan: {self.setting}: {self.problem}; {self.remedy}"
        return " ".join(text.split())


def _debug() -> bool:
    """Whether ``ADUAN_LOG_LEVEL`` asks for DEBUG (read raw: the settings may be invalid)."""
    return os.environ.get("ADUAN_LOG_LEVEL", "").strip().upper() == "DEBUG"


def run_command(command: Callable[[], int]) -> int:
    """Run ``command``; a start-up problem becomes one line on stderr and exit 2.

    Returns the command's exit code, or :data:`EXIT_CONFIG`. Exceptions that are
    not start-up problems propagate unchanged.
    """
    try:
        return command()
    except Exception as exc:
        found = exc if isinstance(exc, StartupError) else translate(exc)
        if found is None:
            raise
        if _debug():
            traceback.print_exception(exc, file=sys.stderr)
        print(found.line(), file=sys.stderr)
        sys.stderr.flush()
        return EXIT_CONFIG


def chain_of(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and SQLAlchemy's wrapped ``orig`` errors."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        orig = getattr(item, "orig", None)
        todo.extend(
            [orig if isinstance(orig, BaseException) else None, item.__cause__, item.__context__]
        )


def _settings() -> Settings | None:
    try:
        return load_settings()
    except ConfigError:
        return None


def translate(exc: BaseException) -> StartupError | None:
    """The :class:`StartupError` that ``exc`` (raised while starting) stands for,
    or ``None`` when it is not a configuration or connection problem."""
    if isinstance(exc, ConfigError):
        return config_problem(exc)
    if isinstance(exc, ProfileError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
        return StartupError(
            "ADUAN_SOP_PROFILE",
            f"the SOP profile is invalid: {first}",
            "run 'aduan check-config' to see every problem, then correct the profile",
        )
    settings = _settings()
    chain = list(chain_of(exc))
    for item in chain:
        if isinstance(item, EmbeddedLockError):
            return embedded_lock_problem(settings)
    redis = _redis_problem(chain)
    if redis is not None:
        return redis
    if _is_database_error(chain):
        return database_problem(chain, settings)
    return _file_problem(chain, settings)


def config_problem(exc: ConfigError) -> StartupError:
    """One line for every invalid setting in ``exc`` (the first names the remedy)."""
    problems = list(exc.problems) or [(None, str(exc))]
    name, first = problems[0]
    others = "; ".join(f"{n}: {p}" if n else p for n, p in problems[1:])
    problem = first + (f" (also {others})" if others else "")
    return StartupError(
        name or "configuration",
        problem,
        "correct it in the environment or the .env file (README.md, Configuration)",
    )


def embedded_lock_problem(settings: Settings | None) -> StartupError:
    """Another process already runs on the embedded SQLite database."""
    where = settings.effective_database_url if settings else "the SQLite database"
    path = make_url(where).database if settings else where
    setting = "ADUAN_DATABASE_URL" if settings and settings.database_url else "ADUAN_DATA_DIR"
    return StartupError(
        setting,
        f"another aduan process is already running on {path}",
        "stop it first; to run several processes use PostgreSQL and Redis "
        "(ADUAN_DATABASE_URL, ADUAN_REDIS_URL; docs/startup.md)",
    )


def _redis_problem(chain: list[BaseException]) -> StartupError | None:
    for item in chain:
        if isinstance(item, AuthenticationError):
            return StartupError(
                "ADUAN_REDIS_URL",
                "Redis refused the password",
                "correct the password in the URL (redis://:PASSWORD@HOST:6379/0)",
            )
        if isinstance(item, RedisError):
            return StartupError(
                "ADUAN_REDIS_URL",
                f"cannot reach Redis: {_first_line(item)}",
                "start Redis or correct the host and port in the URL",
            )
    return None


#: Modules whose frames mark an error as raised while talking to the database
#: (asyncpg raises a refused connection as a bare ``ConnectionRefusedError``).
DATABASE_MODULES = ("asyncpg", "sqlalchemy", "aiosqlite", "storage.db")


def _is_database_error(chain: list[BaseException]) -> bool:
    for item in chain:
        if isinstance(item, SQLAlchemyError | sqlite3.Error):
            return True
        if type(item).__module__.startswith("asyncpg"):
            return True
        tb = item.__traceback__
        while tb is not None:
            module = str(tb.tb_frame.f_globals.get("__name__", ""))
            if module.startswith(DATABASE_MODULES):
                return True
            tb = tb.tb_next
    return False


def database_problem(chain: list[BaseException], settings: Settings | None) -> StartupError | None:
    """A failed database connection, or a database without tables, named by its
    cause; ``None`` for any other database error."""
    url = make_url(settings.effective_database_url) if settings else None
    sqlite = url is not None and url.get_backend_name() == "sqlite"
    setting = "ADUAN_DATABASE_URL" if not settings or settings.database_url else "ADUAN_DATA_DIR"
    where = f"{url.host}:{url.port or 5432}" if url is not None and not sqlite else "the database"
    names = {type(item).__name__ for item in chain}
    text = " ".join(str(item) for item in chain).lower()
    if (
        "no such table" in text
        or "UndefinedTableError" in names
        or ("does not exist" in text and "relation" in text)
    ):
        return StartupError(
            setting,
            "the database has no aduan tables (not migrated)",
            "run 'aduan db upgrade' first",
        )
    if "InvalidPasswordError" in names or "password authentication failed" in text:
        user = url.username if url is not None else "the user"
        return StartupError(
            setting,
            f"PostgreSQL at {where} refused user {user}: wrong password",
            "correct the user and password in the URL",
        )
    if "InvalidCatalogNameError" in names:
        database = url.database if url is not None else "the database"
        return StartupError(
            setting,
            f"database {database!r} does not exist on {where}",
            f"create it (createdb {database}) or correct the name in the URL",
        )
    if "InvalidAuthorizationSpecificationError" in names:
        return StartupError(
            setting,
            f"PostgreSQL at {where} refused the connection: {_first_line(chain[-1])}",
            "correct the user in the URL or the server's pg_hba.conf",
        )
    for item in chain:
        if isinstance(item, socket.gaierror):
            return StartupError(
                setting,
                f"the host {url.host if url is not None else ''} is unknown",
                "correct the host name in the URL",
            )
        if isinstance(item, ConnectionRefusedError):
            return StartupError(
                setting,
                f"nothing accepts connections at {where}",
                "start PostgreSQL or correct the host and port in the URL",
            )
        if isinstance(item, TimeoutError):
            return StartupError(
                setting,
                f"no answer from {where} in time",
                "check the host, port and firewall (ADUAN_DB_CONNECT_TIMEOUT bounds the wait)",
            )
    if sqlite and ("unable to open" in text or "readonly" in text or "read-only" in text):
        path = url.database if url is not None else "the SQLite file"
        return StartupError(
            setting,
            f"cannot open or write the SQLite database {path}",
            f"create its directory and make it writable by this user, or point {setting} elsewhere",
        )
    if any(isinstance(item, OperationalError | InterfaceError) for item in chain):
        return StartupError(
            setting,
            f"cannot use the database: {_first_line(chain[-1])}",
            "check the database URL and that the server runs",
        )
    return None  # not a start-up problem (a constraint, a bug): keep the traceback


def _file_problem(chain: list[BaseException], settings: Settings | None) -> StartupError | None:
    for item in chain:
        if not isinstance(item, OSError):
            continue
        if item.errno == errno.EADDRINUSE:
            return StartupError(
                "ADUAN_HTTP_PORT",
                f"the address is already in use ({_first_line(item)})",
                "stop the program listening there or choose another ADUAN_HTTP_PORT",
            )
        if item.errno == errno.EADDRNOTAVAIL or isinstance(item, socket.gaierror):
            return StartupError(
                "ADUAN_HTTP_HOST",
                f"cannot listen on this address ({_first_line(item)})",
                "use an address of this machine, such as 127.0.0.1 or 0.0.0.0",
            )
        if isinstance(item, PermissionError) and item.filename and settings is not None:
            path = Path(str(item.filename))
            data_dir = settings.data_dir.resolve()
            if path.resolve() == data_dir or data_dir in path.resolve().parents:
                return StartupError(
                    "ADUAN_DATA_DIR",
                    f"cannot write {path}: permission denied",
                    "make the directory writable by this user or point ADUAN_DATA_DIR elsewhere",
                )
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
