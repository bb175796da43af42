"""Table-driven webhook cases, like courier's incoming test cases.

A row (:class:`WebhookCase`) is a body posted to a channel's webhook and what
must follow: the HTTP status and answer (each delivery, ``deliveries`` times:
a provider retries), then in the database one inbound message with ``stored``
fields (or no message at all when ``None``) and one quarantined row with
``quarantined`` fields (or none when ``None``). Values may be :class:`tests.harness.incoming.Check`
predicates; :func:`contains`, :func:`equals` and :func:`starts_with` build
the usual ones. :func:`hmac_sha256` signs a body as Meta and the API webhook
expect, computed independently of the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Message, QuarantinedInbound
from tests.harness.incoming import Check


def hmac_sha256(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``body`` under ``secret`` (the
    ``X-Hub-Signature-256`` and ``X-Aduan-Signature`` headers)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def contains(part: str) -> Check:
    """The value contains ``part``."""
    return Check(lambda value: part in value, f"containing {part!r}")


def equals(expected: Any) -> Check:
    """The value equals ``expected`` as a whole (a mapping answer with no other keys)."""
    return Check(lambda value: value == expected, f"equal to {expected!r}")


def starts_with(prefix: str) -> Check:
    """The value starts with ``prefix``."""
    return Check(lambda value: value.startswith(prefix), f"starting with {prefix!r}")


@dataclass(frozen=True)
class WebhookCase:
    """One webhook row; see the module docstring. ``answer`` is compared with the
    JSON answer (or the text, for a non-JSON answer); a mapping compares only
    its keys (:func:`equals` compares the whole answer)."""

    name: str
    payload: Any
    status: int = 200
    answer: Any = None
    stored: Mapping[str, Any] | None = None
    quarantined: Mapping[str, Any] | None = None
    deliveries: int = 1


def quarantined_json(name: str, body: Any, reason: str) -> WebhookCase:
    """A body (bytes, or JSON-encoded here) a JSON webhook acknowledges (200,
    ``{"status": "quarantined", "error": …reason…}``) and keeps as it came, in
    quarantine."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookCase(
        name,
        raw,
        answer={"status": "quarantined", "error": contains(reason)},
        quarantined={"raw": raw},
    )


def _matches(what: str, got: Any, expected: Any) -> None:
    if isinstance(expected, Check):
        assert expected.predicate(got), f"{what}={got!r} is not {expected.what}"
    else:
        assert got == expected, f"{what}={got!r}, expected {expected!r}"


def _fields(what: str, row: Any, expected: Mapping[str, Any]) -> None:
    for name, value in expected.items():
        _matches(f"{what}.{name}", getattr(row, name), value)


async def check_webhook(
    case: WebhookCase,
    post: Callable[[Any], Awaitable[Any]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Post the case's payload with ``post`` (→ an aiohttp client response) and assert
    the answer and what the database holds afterwards."""
    for delivery in range(case.deliveries):
        resp = await post(case.payload)
        what = f"{case.name} #{delivery + 1}"
        assert resp.status == case.status, (what, resp.status, await resp.text())
        if case.answer is None:
            continue
        if resp.content_type == "application/json":
            answer = await resp.json()
        else:
            answer = await resp.text()
        if isinstance(case.answer, Mapping) and isinstance(answer, dict):
            for key, value in case.answer.items():
                _matches(f"{what} answer[{key!r}]", answer.get(key), value)
        else:
            _matches(f"{what} answer", answer, case.answer)
    async with sessions() as s:
        messages = list(await s.scalars(select(Message)))
        quarantined = list(await s.scalars(select(QuarantinedInbound)))
    inbound = [m for m in messages if m.direction == "in"]
    if case.stored is None:
        assert messages == [], f"{case.name}: nothing may be stored"
    else:
        assert len(inbound) == 1, f"{case.name}: one message, got {len(inbound)}"
        _fields(f"{case.name} message", inbound[0], case.stored)
    if case.quarantined is None:
        assert quarantined == [], f"{case.name}: nothing may be quarantined"
    else:
        assert len(quarantined) == 1, f"{case.name}: one quarantined row, got {len(quarantined)}"
        _fields(f"{case.name} quarantined", quarantined[0], case.quarantined)


#: Every JSON webhook answers a body that is not JSON with 400 and stores nothing.
NOT_JSON = WebhookCase("not_json", b"not json", 400, answer={"error": contains("body is not JSON")})
