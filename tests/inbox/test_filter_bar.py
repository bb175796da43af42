"""The inbox list's filter bar: folded in the HTML (phones get it closed, the
page script unfolds it on wide screens), the active filters as chips in its
summary, unfolded when a filter was not valid."""

from __future__ import annotations

import re

from gateway.inbox.filter_chips import filter_chips
from gateway.queries.complaint_list import InboxFilters
from tests.inbox.conftest import Site

DETAILS_RE = re.compile(r"<details class=\"filters\" data-filters( open)?>")
CHIP_RE = re.compile(r'<span class="chip">([^<]*)</span>')


async def test_the_bar_is_folded_and_shows_the_active_filters_as_chips(site: Site) -> None:
    await site.sign_in("sri")
    page = await (await site.client.get("/inbox")).text()
    details = DETAILS_RE.search(page)
    assert details is not None and details.group(1) is None
    assert CHIP_RE.findall(page) == [] and "menampilkan semua pengaduan" in page

    query = "/inbox?q=sertifikat&channel=whatsapp&overdue=1&mine=1&received_from=2026-11-02"
    page = await (await site.client.get(query)).text()
    details = DETAILS_RE.search(page)
    assert details is not None and details.group(1) is None
    assert CHIP_RE.findall(page) == [
        "Cari: “sertifikat”",
        "Kanal: WhatsApp",
        "Sejak 2 Nov 2026",
        "Hanya yang terlambat",
        "Ditugaskan kepada saya",
    ]


async def test_an_invalid_filter_unfolds_the_bar(site: Site) -> None:
    await site.sign_in("sri")
    page = await (await site.client.get("/inbox?received_from=kemarin")).text()
    details = DETAILS_RE.search(page)
    assert details is not None and details.group(1) == " open"
    assert "received_from" in page


def test_chips_use_labels_and_shorten_long_searches() -> None:
    filters = InboxFilters(
        q="x" * 40, status="in_follow_up", assignee="sri", category="technical", received_to=None
    )
    chips = filter_chips(
        filters,
        "en",
        channels={},
        statuses={"in_follow_up": "In follow-up"},
        categories={"technical": "Technical"},
        assignees={"sri": "Sri Wahyuni (sri)"},
    )
    assert chips == [
        f"Search: “{'x' * 30}…”",
        "Status: In follow-up",
        "Category: Technical",
        "Assignee: Sri Wahyuni (sri)",
    ]
