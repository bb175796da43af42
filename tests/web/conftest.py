"""Fixtures for the public web pages: an app on a fresh SQLite database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.config import load_settings
from gateway.runtime import Runtime, build_runtime
from storage.migrate import upgrade

TOKEN_RE = re.compile(r'name="token" value="(\d+\.[0-9a-f]{32}\.[A-Za-z0-9_-]+)"')


@pytest.fixture
async def runtime(tmp_path: Path) -> Runtime:
    """A migrated runtime without Redis; the app built on it closes it.

    Forms may be sent at once after loading (``form_min_seconds=0``); the
    minimum age has its own tests (tests/web/test_abuse.py).
    """
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/t.sqlite3",
        data_dir=tmp_path,
        form_min_seconds=0,
    )
    rt = await build_runtime(settings, use_redis=False)
    await upgrade(rt.engine)
    return rt


@pytest.fixture
async def client(aiohttp_client: Any, runtime: Runtime) -> TestClient[Any, Any]:
    """A test client for the whole application (public pages included)."""
    app = create_app(runtime.settings, runtime=runtime, run_channels=False)
    test_client: TestClient[Any, Any] = await aiohttp_client(app)
    return test_client


async def fresh_token(client: TestClient[Any, Any], lang: str = "id", path: str = "/") -> str:
    """Load the form at ``path`` and return the signed form token it carries."""
    response = await client.get(path, params={"lang": lang})
    assert response.status == 200
    match = TOKEN_RE.search(await response.text())
    assert match, "form has no submission token"
    return match.group(1)


def valid_form(token: str, **overrides: str) -> dict[str, str]:
    """A complete, valid submission for the default profile."""
    form = {
        "token": token,
        "lang": "id",
        "complainant_name": "Budi Santoso",
        "customer_name": "PT Sinar Jaya",
        "problem": "Laporan hasil uji belum kami terima setelah dua minggu.",
        "contact_email": "Budi@Example.COM",
        "contact_phone": "0812-3456-7890",
    }
    form.update(overrides)
    return form


class Page(HTMLParser):
    """A parsed page: start tags with attributes, ids, and label targets."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text_parts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]

    def by_id(self, element_id: str) -> Mapping[str, str] | None:
        for _, attrs in self.tags:
            if attrs.get("id") == element_id:
                return attrs
        return None


def nonce_of(token: str) -> str:
    """The submission id (``external_id``) inside a signed form token."""
    return token.split(".")[1]
