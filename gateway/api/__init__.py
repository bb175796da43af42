"""The staff JSON API (``/api/v1``): tokens, operations, OpenAPI document."""

from gateway.api.routes import OPERATIONS, PREFIX, add_routes

__all__ = ["OPERATIONS", "PREFIX", "add_routes"]
