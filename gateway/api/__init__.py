"""The staff JSON API (``/api/v1``): tokens, operations, OpenAPI document."""

from collections.abc import Callable

from aiohttp import web

from gateway.api import openapi, routes
from gateway.api.routes import OPERATIONS, PREFIX
from gateway.runtime import Runtime

__all__ = ["OPERATIONS", "PREFIX", "add_routes"]


def add_routes(app: web.Application, runtime_of: Callable[[web.Request], Runtime]) -> None:
    """Register every API operation (:data:`OPERATIONS`) and ``GET /api/v1/openapi.json``;
    ``runtime_of`` gives the process runtime of a request."""
    routes.add_routes(app, runtime_of)
    openapi.add_routes(app, runtime_of)
