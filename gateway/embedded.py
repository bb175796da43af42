"""The embedded default's single-runner lock.

On SQLite without Redis, background jobs run inside ``aduan serve`` and contacts
are guarded in memory, so exactly one process may run them per database file.
An exclusive ``flock`` on ``<database>.lock`` enforces that; the operating
system drops it when the process dies (even by SIGKILL), so a restart never
waits for a stale lock.

``aduan serve`` takes the lock before it prints anything (docs/startup.md,
"What is checked, in order"); the runtime's own lock on the same file, taken
later in the same process, is handed the held one instead of being refused.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class EmbeddedLockError(RuntimeError):
    """Another process already runs jobs on this SQLite database."""


#: Locks taken to be handed over, by resolved lock-file path: the next
#: :meth:`EmbeddedLock.acquire` on that path in this process receives it, once.
_HAND_OVER: dict[Path, EmbeddedLock] = {}


class EmbeddedLock:
    """An exclusive, non-blocking file lock held for the life of the process.

    ``hand_over``: the next lock on the same file in this process takes this
    one's hold instead of being refused (``aduan serve`` checks before its
    banner and hands the lock to its runtime); any other second lock is refused.
    """

    def __init__(self, database_path: Path, *, hand_over: bool = False) -> None:
        self.path = Path(f"{database_path}.lock")
        self._fd: int | None = None
        self._hand_over = hand_over

    def acquire(self) -> None:
        """Take the lock; raises :class:`EmbeddedLockError` if another process has it."""
        if self._fd is not None:
            return
        giver = _HAND_OVER.pop(self.path.resolve(), None)
        if giver is not None and giver._fd is not None:
            self._fd, giver._fd = giver._fd, None
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise EmbeddedLockError(
                f"another aduan process is running on {self.path.with_suffix('')}; "
                "stop it first, or set ADUAN_REDIS_URL (with PostgreSQL) to run several"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        if self._hand_over:
            _HAND_OVER[self.path.resolve()] = self

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            if _HAND_OVER.get(self.path.resolve()) is self:
                del _HAND_OVER[self.path.resolve()]
