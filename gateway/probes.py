"""Deadline-bounded, single-flight checks for ``/readyz`` and ``/metrics``.

A check runs as its own task and the caller waits for it at most ``limit``
seconds (``ADUAN_HEALTHZ_TIMEOUT``), so a hung database or Redis gives an
answer in time even when cleaning up the stuck connection takes longer
(docs/architecture.md, "Deadlines"). While a check of the same name is still
running, later callers wait on that same task instead of starting another: a
monitor polling an unhealthy gateway does not pile up connections. The same
rule as ``/healthz`` (:mod:`gateway.health`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a check gave: ``value`` when ``ok``; otherwise ``reason`` is
    ``"did not answer within N s"`` or the exception's class name (never its
    message, which could carry connection details)."""

    ok: bool
    value: T | None = None
    reason: str = ""


class Probes:
    """The checks in flight of one application, by name."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    async def run(self, name: str, factory: Callable[[], Awaitable[T]], limit: float) -> Outcome[T]:
        """Run (or join) check ``name`` made by ``factory``; wait at most ``limit`` s."""
        task = self._tasks.get(name)
        if task is None or task.done():
            task = asyncio.ensure_future(factory())
            task.add_done_callback(_retrieve)
            self._tasks[name] = task
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            return Outcome(False, reason=f"did not answer within {limit:g} s")
        if task.cancelled():
            return Outcome(False, reason="CancelledError")
        exc = task.exception()
        if exc is not None:
            return Outcome(False, reason=type(exc).__name__)
        return Outcome(True, value=task.result())

    def cancel(self) -> None:
        """Cancel every check still running (application cleanup)."""
        for task in self._tasks.values():
            task.cancel()


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a failed check is reported by its caller


PROBES = web.AppKey("aduan_probes", Probes)


def install(app: web.Application) -> None:
    """Give ``app`` its :class:`Probes` (once), cancelled at cleanup."""
    if PROBES in app:
        return
    probes = Probes()
    app[PROBES] = probes

    async def cancel(_app: web.Application) -> None:
        probes.cancel()

    app.on_cleanup.append(cancel)
