"""The process runtime as the aiohttp application holds it.

:mod:`gateway.app` puts the one :class:`gateway.runtime.Runtime` of the process
under :data:`RUNTIME`; every route reads it with :func:`get_runtime`. Kept
apart from the application module so that routes need not import the module
that registers them.
"""

from __future__ import annotations

from aiohttp import web

from gateway.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)


def get_runtime(request: web.Request) -> Runtime:
    """The process runtime from a request's application."""
    return request.app[RUNTIME]
