"""An office's own profile without a ``workflow`` works the default steps on
every page (README.md "SOP profiles"): the inbox offers and takes them, the
public tracking page names the step and its due time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from channels.base import ChannelName
from gateway.app import create_app
from handlers.profile import load_profile
from tests.custom_profiles import write_without_workflow
from tests.inbox.conftest import Site, add_staff
from tests.inbox.test_complaint_page import file_complaint, load, page, post, query_of
from tests.known_kinds import assert_only_known_kinds
from tests.runtime_fixtures import make_harness


@pytest.fixture
async def own(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Site]:
    """A served app on a profile YAML without ``workflow``, with a secretariat member."""
    h = await make_harness(tmp_path, sop_profile=str(write_without_workflow(tmp_path)))
    await add_staff(h, ("sri", "secretariat"), ("tono", "officer"))
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    yield Site(client, h)
    await assert_only_known_kinds(h.runtime.sessions)


async def test_the_complaint_runs_the_default_steps(own: Site) -> None:
    profile = own.h.runtime.profile
    assert profile.id == "kantor_sendiri"
    assert profile.workflow == load_profile("default").workflow
    tracking = await file_complaint(own, ChannelName.EMAIL, "budi@example.com")
    complaint = await load(own, tracking)
    # Registered in the default initial step, on that step's time standard.
    assert complaint.status == "received" and complaint.step_due_at is not None

    await own.sign_in("sri")
    body = await page(own, tracking)
    steps = body[body.index('id="actions"') :]
    assert 'name="name" value="verify"' in steps and 'name="name" value="reject"' in steps
    response = await post(own, tracking, "transition", {"name": "verify"})
    assert response.status == 303 and query_of(response) == "done=transition#result"
    assert (await load(own, tracking)).status == "verified"
    assert "verifikasi" in own.h.email.sent[-1].text  # the default step's notice

    # The public tracking page names the step and when the next one is due.
    response = await own.client.post(
        "/track", data={"number": tracking, "contact": "budi@example.com", "lang": "id"}
    )
    text = await response.text()
    assert response.status == 200 and "Diverifikasi" in text
    assert "Langkah berikutnya diperkirakan selesai" in text
