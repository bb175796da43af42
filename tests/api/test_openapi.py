"""The OpenAPI document: valid OpenAPI 3.1, served without a token, and
listing exactly the routes the server answers."""

from __future__ import annotations

from aiohttp import web
from openapi_spec_validator import validate

from gateway.api import OPERATIONS, PREFIX
from tests.api.conftest import Api


async def test_the_document_is_valid_and_matches_the_routes(api: Api) -> None:
    response = await api.client.get("/api/v1/openapi.json")
    assert response.status == 200
    doc = await response.json()
    validate(doc)
    assert doc["openapi"].startswith("3.1") and doc["servers"][0]["url"].startswith("http")

    documented = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if path != PREFIX + "/openapi.json"
    }
    app: web.Application = api.client.server.app
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(PREFIX)
        and route.method != "HEAD"
        and route.resource.canonical != PREFIX + "/openapi.json"
    }
    assert documented == served == {(op.method, op.path) for op in OPERATIONS}

    transition = doc["paths"][PREFIX + "/complaints/{tracking}/transitions"]["post"]
    assert set(transition["responses"]) == {"200", "400", "401", "403", "404", "409", "422"}
    body_ref = transition["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert schema["additionalProperties"] is False and "name" in schema["required"]
    listing = doc["paths"][PREFIX + "/complaints"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "limit", "cursor", "overdue"}
