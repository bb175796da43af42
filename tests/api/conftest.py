"""A served runtime with staff accounts and one token per account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.api.tokens import create_token
from gateway.app import create_app
from storage.models import StaffUser
from tests.known_kinds import assert_only_known_kinds
from tests.runtime_fixtures import CAPA, Harness, make_harness

#: username → role of the staff created for API tests (default profile roles).
STAFF = {
    "sri": "secretariat",
    "bayu": "business_lead",
    "tono": "officer",
    "maya": "manager",
    "ani": "appeal_panel",
    "budi": "appeal_panel",
    "cici": "appeal_panel",
    "dedi": "appeal_panel",
}


@dataclass
class Api:
    """A test client for ``/api/v1`` with a token per staff member."""

    client: Any
    h: Harness
    tokens: dict[str, str]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def call(
        self, method: str, path: str, username: str | None = "sri", **kwargs: Any
    ) -> tuple[int, Any]:
        headers = self.auth(username) if username else {}
        response = await self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)
        body = await response.json(content_type=None)
        await self.h.settle()
        return response.status, body

    async def close(self, tracking: str) -> None:
        """Work complaint ``tracking`` through the default profile to closed."""
        for username, payload in (
            ("sri", {"name": "verify"}),
            ("bayu", {"name": "route", "category": "administrative", "assignee": "tono"}),
            ("tono", {"name": "record_capa", "capa": CAPA}),
            ("sri", {"name": "verify_result", "result": "Biaya dikembalikan."}),
            ("sri", {"name": "close"}),
        ):
            status, body = await self.call(
                "POST", f"/complaints/{tracking}/transitions", username, json=payload
            )
            assert status == 200, body

    async def file(self, external_id: str = "m1", sender: str = "budi@example.com") -> str:
        """File a complete complaint by email; returns its tracking number."""
        complaint = await self.h.file(external_id, sender)
        return complaint.tracking_number


@pytest.fixture
async def api(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Api]:
    h = await make_harness(tmp_path)
    tokens: dict[str, str] = {}
    async with h.runtime.sessions() as s, s.begin():
        for username, role in STAFF.items():
            s.add(
                StaffUser(
                    username=username, full_name=username.title(), role=role, password_hash="x"
                )
            )
        await s.flush()
        for username in STAFF:
            tokens[username] = (await create_token(s, username, name="tests")).secret
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    yield Api(client, h, tokens)
    await assert_only_known_kinds(h.runtime.sessions)
