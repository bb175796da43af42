"""Running one unit of database work to its end when the task awaiting it is cancelled.

A transaction is never cut off midway (docs/architecture.md, "Cancelling
database work"). SQLite's driver, aiosqlite, runs each statement in its own
thread, and that thread goes on when the task awaiting the statement is
cancelled; SQLAlchemy then gives the connection up while an uncommitted write
may still hold SQLite's write lock. Until the abandoned connection is
collected, every other writer waits out the busy timeout and fails with
"database is locked". Cancelling mid-transaction gains nothing either: a
transaction is short, its statements bounded by the statement deadline
(:class:`storage.db.Deadlines`).

So code that cancels tasks (a poller's lease keeper, a stopping poller, a
processor's lease renewer) runs the database work those tasks do through
:func:`run_to_end` (or declares it with :func:`runs_to_end`): the work
finishes (commits or rolls back), and only then does the cancellation take
effect.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")


async def run_to_end(work: Awaitable[T]) -> T:
    """Await ``work`` (one transaction: its statements and its commit) to its
    end, even when the calling task is cancelled meanwhile.

    Returns ``work``'s result. Raises what ``work`` raised; or, when the
    caller was cancelled while ``work`` ran, :class:`asyncio.CancelledError`
    once ``work`` has ended (its result dropped, its error retrieved), so a
    surrounding ``asyncio.timeout`` still turns it into ``TimeoutError``. The
    caller waits as long as ``work`` takes: bound it with the database's
    deadlines, not with a cancellation.
    """
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            # wait() never cancels the task it waits for, nor raises its error.
            await asyncio.wait((task,))
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller gets
        raise asyncio.CancelledError
    return task.result()


def runs_to_end(
    function: Callable[P, Awaitable[T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """``function`` (an async function doing one unit of database work, or a
    callback that commits one), with every call run through :func:`run_to_end`."""

    @functools.wraps(function)
    async def whole(*args: P.args, **kwargs: P.kwargs) -> T:
        return await run_to_end(function(*args, **kwargs))

    return whole
