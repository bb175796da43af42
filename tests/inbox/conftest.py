"""A served app with staff accounts for the staff pages (HTTP level)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.passwords import hash_password
from storage.models import StaffUser
from tests.known_kinds import assert_only_known_kinds
from tests.runtime_fixtures import Harness, make_harness

PASSWORD = "kata-sandi-rahasia"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Site:
    client: Any
    h: Harness

    async def sign_in(self, username: str, password: str = PASSWORD, next_: str = "/inbox") -> Any:
        page = await self.client.get("/inbox/login")
        csrf = CSRF_RE.search(await page.text())
        assert csrf is not None
        return await self.client.post(
            "/inbox/login",
            data={"username": username, "password": password, "csrf": csrf.group(1), "next": next_},
            allow_redirects=False,
        )

    async def csrf(self, path: str = "/inbox") -> str:
        page = await self.client.get(path)
        assert page.status == 200, page.status
        found = CSRF_RE.search(await page.text())
        assert found is not None
        return found.group(1)


async def add_staff(h: Harness, *users: tuple[str, str]) -> None:
    hashed = hash_password(PASSWORD)
    async with h.runtime.sessions() as s, s.begin():
        for username, role in users:
            s.add(
                StaffUser(
                    username=username, full_name=username.title(), role=role, password_hash=hashed
                )
            )


@pytest.fixture
async def site(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Site]:
    h = await make_harness(tmp_path)
    await add_staff(
        h, ("sri", "secretariat"), ("tono", "officer"), ("rudi", "officer"), ("maya", "manager")
    )
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    yield Site(client, h)
    await assert_only_known_kinds(h.runtime.sessions)
