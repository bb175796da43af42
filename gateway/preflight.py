"""Checks ``aduan serve`` makes before it prints its banner (docs/startup.md,
"What is checked, in order"): the data directory is writable, no other process
runs on the embedded SQLite database, and the listening address is free.

Each failure is a :class:`gateway.startup_errors.StartupError` naming the setting.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.config import Settings
from gateway.embedded import EmbeddedLock, EmbeddedLockError
from gateway.startup_errors import StartupError, embedded_lock_problem


def check_data_dir(settings: Settings) -> None:
    """Create ``ADUAN_DATA_DIR`` if needed and prove a file can be written in it.

    Raises:
        StartupError: naming ``ADUAN_DATA_DIR`` when it cannot be created or written.
    """
    data_dir = settings.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StartupError(
            "ADUAN_DATA_DIR",
            f"cannot write in {data_dir}: {reason}",
            "create the directory, make it writable by this user, or point ADUAN_DATA_DIR "
            "elsewhere",
        ) from None


def embedded_database(settings: Settings) -> Path | None:
    """The SQLite file of the embedded default (SQLite without Redis), else ``None``."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or settings.redis_url:
        return None
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def take_embedded_lock(settings: Settings) -> EmbeddedLock | None:
    """Take the embedded single-runner lock now (the runtime is handed it later).

    Raises:
        StartupError: when another process holds it.
    """
    database = embedded_database(settings)
    if database is None:
        return None
    lock = EmbeddedLock(database, hand_over=True)
    try:
        lock.acquire()
    except EmbeddedLockError:
        raise embedded_lock_problem(settings) from None
    except PermissionError:
        raise StartupError(
            "ADUAN_DATA_DIR" if not settings.database_url else "ADUAN_DATABASE_URL",
            f"cannot create the lock file {lock.path}: permission denied",
            "make its directory writable by this user",
        ) from None
    return lock


def check_listen_address(host: str, port: int) -> None:
    """Bind ``host:port`` once and let it go, as the server will bind it.

    Raises:
        StartupError: naming ``ADUAN_HTTP_PORT`` (in use, privileged) or
            ``ADUAN_HTTP_HOST`` (not an address of this machine).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(
            "ADUAN_HTTP_HOST",
            f"{host!r} is not a known host name or address ({exc.strerror})",
            "use an address of this machine, such as 127.0.0.1 or 0.0.0.0",
        ) from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        if os.name == "posix":  # as asyncio's create_server does
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    "ADUAN_HTTP_PORT",
                    f"port {port} on {host} is already in use by another program",
                    "stop that program or choose another ADUAN_HTTP_PORT (or --port)",
                ) from None
            if exc.errno == errno.EACCES:
                raise StartupError(
                    "ADUAN_HTTP_PORT",
                    f"port {port} needs administrator rights",
                    "use a port from 1024 up and put a reverse proxy in front for 80/443",
                ) from None
            raise StartupError(
                "ADUAN_HTTP_HOST",
                f"cannot listen on {host}: {exc.strerror}",
                "use an address of this machine, such as 127.0.0.1 or 0.0.0.0",
            ) from None
