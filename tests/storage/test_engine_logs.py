"""Statement parameters (phone numbers, names, message text) never reach logs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import ContactAddress

PHONE = "+6281299887766"


async def test_a_failing_statement_logs_no_parameter_values(
    any_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    # contact 987654 does not exist: the foreign key refuses the row.
    statement = insert(ContactAddress).values(contact_id=987654, kind="phone", address=PHONE)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    any_engine.echo = True  # statement logging on: parameters must stay out of it too
    try:
        with pytest.raises(IntegrityError) as failure:
            async with any_engine.begin() as conn:
                await conn.execute(statement)
    finally:
        any_engine.echo = False
    logging.getLogger("aduan.test").error("database error", exc_info=failure.value)
    assert "hidden due to hide_parameters" in str(failure.value)
    assert "INSERT INTO contact_addresses" in caplog.text  # the statement itself was logged
    assert PHONE not in str(failure.value)
    assert PHONE not in caplog.text
