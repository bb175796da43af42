"""Staff API tokens: stored hashed, refused once revoked, expired or deactivated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.api.tokens import (
    TOUCH_INTERVAL,
    TokenError,
    authenticate,
    create_token,
    digest,
    list_tokens,
    revoke_token,
)
from storage.db import SessionFactory
from storage.models import ApiToken, StaffUser
from storage.types import utcnow


async def staff(sessions: SessionFactory, username: str = "sri", active: bool = True) -> None:
    async with sessions() as s, s.begin():
        s.add(
            StaffUser(
                username=username,
                full_name="Sri",
                role="secretariat",
                password_hash="x",
                active=active,
            )
        )


async def test_only_the_hash_is_stored_and_the_token_authenticates(
    any_sessions: SessionFactory,
) -> None:
    await staff(any_sessions)
    async with any_sessions() as s, s.begin():
        token = await create_token(s, "sri", name="import script")
    assert token.secret.startswith("adu_") and len(token.secret) >= 40
    async with any_sessions() as s:
        row = await s.scalar(select(ApiToken))
        assert row is not None
        assert row.token_hash == digest(token.secret) and token.secret not in row.token_hash
        assert row.prefix == token.secret[:12] and row.last_used_at is None
    async with any_sessions() as s, s.begin():
        user = await authenticate(s, token.secret)
    assert user is not None and user.username == "sri"
    async with any_sessions() as s:
        row = await s.scalar(select(ApiToken))
        assert row is not None and row.last_used_at is not None


async def test_unknown_revoked_expired_and_deactivated_tokens_are_refused(
    any_sessions: SessionFactory,
) -> None:
    await staff(any_sessions)
    await staff(any_sessions, "old", active=True)
    async with any_sessions() as s, s.begin():
        good = await create_token(s, "sri", name="a")
        revoked = await create_token(s, "sri", name="b")
        short = await create_token(s, "sri", name="c", expires_in=timedelta(hours=1))
        leaver = await create_token(s, "old", name="d")
        await revoke_token(s, str(revoked.id))
        user = await s.scalar(select(StaffUser).where(StaffUser.username == "old"))
        assert user is not None
        user.active = False
    async with any_sessions() as s, s.begin():
        assert await authenticate(s, good.secret) is not None
        assert await authenticate(s, good.secret + "x") is None
        assert await authenticate(s, "adu_" + "A" * 43) is None
        assert await authenticate(s, "not-a-token") is None
        assert await authenticate(s, revoked.secret) is None
        assert await authenticate(s, leaver.secret) is None
        assert await authenticate(s, short.secret) is not None
        assert await authenticate(s, short.secret, now=utcnow() + timedelta(hours=2)) is None


async def test_last_used_is_written_at_most_once_a_minute(sessions: SessionFactory) -> None:
    await staff(sessions)
    async with sessions() as s, s.begin():
        token = await create_token(s, "sri", name="a")
    start = utcnow()
    for offset in (timedelta(0), timedelta(seconds=30), TOUCH_INTERVAL + timedelta(seconds=1)):
        async with sessions() as s, s.begin():
            await authenticate(s, token.secret, now=start + offset)
        async with sessions() as s:
            row = await s.scalar(select(ApiToken))
            assert row is not None
            expected = start + (offset if offset != timedelta(seconds=30) else timedelta(0))
            assert row.last_used_at == expected


async def test_create_and_revoke_refuse_bad_input(sessions: SessionFactory) -> None:
    await staff(sessions)
    await staff(sessions, "gone", active=False)
    async with sessions() as s, s.begin():
        with pytest.raises(TokenError, match="no active staff user 'nobody'"):
            await create_token(s, "nobody", name="a")
        with pytest.raises(TokenError, match="no active staff user 'gone'"):
            await create_token(s, "gone", name="a")
        with pytest.raises(TokenError, match="name"):
            await create_token(s, "sri", name="  ")
        with pytest.raises(TokenError, match="positive"):
            await create_token(s, "sri", name="a", expires_in=timedelta(0))
        token = await create_token(s, "sri", name="a")
        with pytest.raises(TokenError, match="no token"):
            await revoke_token(s, "999")
        await revoke_token(s, token.prefix)
        with pytest.raises(TokenError, match="already revoked"):
            await revoke_token(s, str(token.id))
    async with sessions() as s:
        [(row, username)] = await list_tokens(s, "sri")
        assert username == "sri" and row.revoked_at is not None
        assert await list_tokens(s, "gone") == []
