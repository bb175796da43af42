"""Sign-in throttling: every attempt is reserved in the database before the password is checked.

Two keys are counted for each attempt: the account (``user:<username>``) and
the client address (``ip:<address>``, through trusted proxies:
:mod:`gateway.remote`). :func:`reserve` runs before argon2, in one
transaction that locks the keys' rows (PostgreSQL ``FOR UPDATE``; SQLite's
single writer): when a key is locked the attempt is refused and nothing is
counted, otherwise the attempt is counted on every key at once. Concurrent
attempts therefore cannot exceed the budget — 40 wrong passwords sent at
once for one account reach argon2 at most :attr:`ThrottlePolicy.user_free`
times — and a locked key never costs an argon2 verification.

The rule (docs/staff-access.md, "Sign-in throttle"):

* account: the first ``user_free`` (5) attempts are free; the attempt that
  reaches that number, and each one after it, locks the account for a
  growing delay — ``user_base_delay`` (30 s), doubled each time, at most
  ``user_max_delay`` (15 min). A password spray from many addresses thus gets
  about one guess per 15 minutes per account, while the account's owner
  signs in as soon as the delay has passed (from an address that is not
  itself locked): the lock is a back-off, never permanent;
* address: ``ip_limit`` (20) attempts; the attempt that reaches it locks the
  address for ``ip_lockout`` (15 min), and so does each later one;
* a key's count is forgotten ``forget_after`` (15 min) after its latest
  attempt or the end of its lock, whichever is later;
* a successful sign-in deletes the account's key and gives the address its
  attempt back (a shared office address is not worn down by sign-ins that
  succeed).

Counting lives in the database (:class:`storage.models.LoginThrottle`), so it
holds across processes and restarts; ``window_start`` holds the time of the
key's latest counted attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import LoginThrottle
from storage.types import utcnow

USER = "user"
ADDRESS = "ip"


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many attempts each key gets and how long it waits after them (module docstring)."""

    user_free: int = 5
    user_base_delay: timedelta = timedelta(seconds=30)
    user_max_delay: timedelta = timedelta(minutes=15)
    ip_limit: int = 20
    ip_lockout: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(minutes=15)

    def user_delay(self, attempts: int) -> timedelta | None:
        """The account's lock after its ``attempts``-th counted attempt (``None``: no lock).

        ``user_base_delay`` at ``user_free`` attempts, doubled for each one after
        it, at most ``user_max_delay``.
        """
        if attempts < self.user_free:
            return None
        doublings = min(attempts - self.user_free, 32)
        return min(self.user_base_delay * (1 << doublings), self.user_max_delay)

    def lock_after(self, kind: str, attempts: int) -> timedelta | None:
        """The lock a key of ``kind`` (``user``/``ip``) gets after its ``attempts``-th attempt."""
        if kind == USER:
            return self.user_delay(attempts)
        return self.ip_lockout if attempts >= self.ip_limit else None


def keys(username: str, ip: str | None) -> list[tuple[str, str]]:
    """``(key, kind)`` pairs counted for one attempt, in locking order; kind ``user`` or ``ip``."""
    found = [(f"user:{username.strip().lower()[:100]}", USER)]
    if ip:
        found.append((f"ip:{ip[:64]}", ADDRESS))
    return sorted(found)


def _forgotten(row: LoginThrottle, policy: ThrottlePolicy, now: datetime) -> bool:
    quiet_since = max(row.window_start, row.locked_until or row.window_start)
    return now - quiet_since > policy.forget_after


async def _locked_rows(
    session: AsyncSession, found: list[tuple[str, str]], now: datetime
) -> list[LoginThrottle]:
    """The keys' rows, created when missing, locked for this transaction in key order."""
    insert = dialect_insert(session)
    rows = []
    for key, _kind in found:
        # The insert takes SQLite's write lock at once, so two processes never
        # both read the old count; on PostgreSQL the row lock below does that.
        await session.execute(
            insert(LoginThrottle)
            .values(key=key, failures=0, window_start=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = await session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        assert row is not None  # inserted above or already there
        rows.append(row)
    return rows


async def reserve(
    session: AsyncSession,
    username: str,
    ip: str | None,
    *,
    policy: ThrottlePolicy,
    now: datetime | None = None,
) -> datetime | None:
    """Count one sign-in attempt on the account and the address, before the password check.

    Returns ``None`` when the attempt may go on (it is counted, and a key that
    reached its limit is locked from now on), or — changing nothing — the time
    the latest lock on a key ends when one is locked. Call inside the
    transaction that commits before the password is verified.
    """
    now = now or utcnow()
    found = keys(username, ip)
    rows = await _locked_rows(session, found, now)
    ends = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
    if ends:
        return max(ends)
    for (_key, kind), row in zip(found, rows, strict=True):
        if _forgotten(row, policy, now):
            row.failures, row.locked_until = 0, None
        row.failures += 1
        row.window_start = now
        lock = policy.lock_after(kind, row.failures)
        if lock is not None:
            row.locked_until = now + lock
    await session.flush()
    return None


async def record_success(
    session: AsyncSession, username: str, ip: str | None, *, policy: ThrottlePolicy
) -> None:
    """After a successful sign-in: clear the account's key, give the address its attempt back."""
    for key, kind in keys(username, ip):
        if kind == USER:
            await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
            continue
        row = await session.scalar(
            select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
        )
        if row is not None and row.failures > 0:
            row.failures -= 1
            if row.failures < policy.ip_limit:
                # Below the limit again: a lock can only have come from this attempt.
                row.locked_until = None
    await session.flush()
