"""The OpenAPI 3.1 description of the staff API (``GET /api/v1/openapi.json``).

Written from :data:`gateway.api.routes.OPERATIONS` and the pydantic models'
own JSON Schemas, so it always matches what the server does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from gateway.api import schemas as s
from gateway.api.routes import OPERATIONS, PREFIX, Operation
from gateway.runtime import Runtime

_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted: staged in the outbox, sent shortly",
    400: "Malformed request (not JSON)",
    401: "Missing, unknown, revoked or expired token",
    403: "The caller's role may not do this",
    404: "No such complaint or appeal",
    409: "Not possible in the complaint's or appeal's current state",
    413: "Body too large",
    422: "Missing or invalid data",
}


def _version() -> str:
    try:
        return version("aduan")
    except PackageNotFoundError:  # pragma: no cover - running from a bare tree
        return "0"


def _schemas() -> tuple[dict[tuple[type[BaseModel], str], dict[str, Any]], dict[str, Any]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
        (s.Problem, "serialization"): None
    }
    for op in OPERATIONS:
        wanted[(op.response, "serialization")] = None
        if op.body is not None:
            wanted[(op.body, "validation")] = None
    refs, definitions = models_json_schema(list(wanted), ref_template=_REF)
    by_model = {(m, mode): ref for (m, mode), ref in refs.items() if isinstance(m, type)}
    return by_model, definitions.get("$defs", {})  # type: ignore[return-value]


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "The complaint's tracking number, e.g. ADU-2026-00042.",
        }
        for name in _PATH_PARAM.findall(op.path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=_REF)
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": {k: v for k, v in prop.items() if k != "description"},
            }
            if "description" in prop:
                param["description"] = prop["description"]
            params.append(param)
    return params


def _operation(
    op: Operation, refs: dict[tuple[type[BaseModel], str], dict[str, Any]]
) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": refs[(s.Problem, "serialization")]}}
    responses: dict[str, Any] = {
        str(op.status): {
            "description": _STATUS_TEXT.get(op.status, "OK"),
            "content": {"application/json": {"schema": refs[(op.response, "serialization")]}},
        }
    }
    for status in sorted({401, *op.errors}):
        responses[str(status)] = {"description": _STATUS_TEXT[status], "content": problem}
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": responses,
    }
    if op.description:
        out["description"] = op.description
    params = _parameters(op)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    return out


@cache
def _document() -> dict[str, Any]:
    refs, definitions = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    paths[PREFIX + "/openapi.json"] = {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "tags": ["meta"],
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1 document"}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "aduan staff API",
            "version": _version(),
            "description": (
                "Staff actions on complaints: the SOP workflow's transitions, assignment, "
                "corrective and preventive action, notes, messages to the complainant, "
                "appeals and the appeal panel. Create a token with "
                "`aduan token create <username> --name <purpose>`; it acts with that "
                "staff member's role."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": definitions,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def document(server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI document; ``server_url`` (the public base URL) becomes its server."""
    doc = dict(_document())
    if server_url:
        doc["servers"] = [{"url": server_url.rstrip("/")}]
    return doc


def add_routes(app: web.Application, runtime_of: Callable[[web.Request], Runtime]) -> None:
    """Register ``GET /api/v1/openapi.json``: :func:`document` with the public base URL."""

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document(runtime_of(request).settings.effective_public_url))

    app.router.add_get(PREFIX + "/openapi.json", openapi)
