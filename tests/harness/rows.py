"""Reading what a channel test left in the database, and waiting for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def count_rows(sessions: async_sessionmaker[AsyncSession], model: type, *where: Any) -> int:
    """How many rows of ``model`` match every condition of ``where``."""
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    timeout: float = 15.0,
    step: float = 0.05,
    what: str = "condition",
) -> None:
    """Poll ``condition`` every ``step`` seconds until true; ``AssertionError``
    naming ``what`` after ``timeout`` seconds (for work a poller or another
    process does on its own schedule)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await condition():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"{what} not reached within {timeout} s")
