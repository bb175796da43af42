"""The inbox list a clerk lives in, in headless Chromium: at 375 px a card per
complaint and a folded filter bar, no sideways scrolling; at 1366 px a table
whose headers never break inside a word, with a sticky header; keys to move
through the list; a canned reply picked on the complaint page at 375 px.

Every page is photographed (tests/browser/conftest.py, ``ADUAN_SCREENSHOTS``).
"""

from __future__ import annotations

import re

from playwright.async_api import Page, ViewportSize, expect
from sqlalchemy import select

from channels.base import ChannelName
from storage.models import Complaint
from tests.browser.conftest import (
    PHONE,
    LiveServer,
    OpenPage,
    assert_no_horizontal_scroll,
)
from tests.browser.signing_in import PASSWORD, sign_in
from tests.fakes import inbound

WIDE: ViewportSize = {"width": 1366, "height": 768}

COMPLAINTS = (
    ("siti@example.com", "Siti Aminah", "CV Maju Jaya", "sertifikat produk belum terbit"),
    (
        "bambang@example.com",
        "Bambang Sutrisno Wicaksono Adiningrat",
        "PT Sinar Jaya Abadi Sentosa Makmur Sejahtera",
        "laporan hasil uji terlambat dua minggu dan nomor sertifikat salah ketik pada "
        "halaman kedua sehingga tidak dapat dipakai untuk tender",
    ),
    ("wati@example.com", "Wati Lestari", "UD Berkah", "tagihan pengujian ganda"),
)


async def file_complaints(server: LiveServer) -> list[str]:
    """Three email complaints, one with a very long name, customer and problem."""
    for n, (address, name, customer, problem) in enumerate(COMPLAINTS):
        await server.runtime.accept(
            inbound(
                ChannelName.EMAIL,
                f"<layout-{n}@example.com>",
                address,
                f"Nama: {name}\nPelanggan: {customer}\nMasalah: {problem}",
            )
        )
    await server.settle()
    async with server.runtime.sessions() as s:
        numbers = list(await s.scalars(select(Complaint.tracking_number).order_by(Complaint.id)))
    assert len(numbers) == len(COMPLAINTS)
    return numbers


async def sri_and_complaints(server: LiveServer) -> list[str]:
    """Sri of the secretariat (password ``PASSWORD``) and :func:`file_complaints`' three."""
    await server.add_staff("sri", "secretariat", password=PASSWORD)
    return await file_complaints(server)


async def signed_in_list(
    server: LiveServer, open_page: OpenPage, viewport: ViewportSize
) -> tuple[Page, list[str]]:
    """Sri signed in on ``viewport``, looking at the list of the three complaints;
    returns the page and their tracking numbers."""
    numbers = await sri_and_complaints(server)
    page = await open_page("/inbox/login", viewport=viewport)
    await sign_in(page)
    return page, numbers


async def filters_open(page: Page) -> bool:
    return bool(await page.locator("details.filters").evaluate("d => d.open"))


async def assert_headers_on_one_line(page: Page) -> None:
    """Every column header is one line, not cut inside a word, not clipped."""
    headers: list[dict[str, object]] = await page.locator("table.inbox thead th").evaluate_all(
        """ths => ths.map(th => {
            const range = document.createRange();
            range.selectNodeContents(th);
            const style = getComputedStyle(th);
            return {
                text: th.textContent.trim(),
                lines: new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size,
                scroll: th.scrollWidth, client: th.clientWidth,
                whiteSpace: style.whiteSpace, wordBreak: style.wordBreak,
            };
        })"""
    )
    assert len(headers) == 7
    for header in headers:
        assert header["lines"] == 1, header
        assert header["whiteSpace"] == "nowrap" and header["wordBreak"] == "normal", header
        assert int(str(header["scroll"])) <= int(str(header["client"])), header


async def test_the_list_on_a_phone_is_cards_under_a_folded_filter_bar(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    page, numbers = await signed_in_list(live_server, open_page, PHONE)
    await expect(page.locator("table.inbox tbody tr")).to_have_count(3)
    assert not await filters_open(page)
    await expect(page.locator("#q")).to_be_hidden()
    await expect(page.locator("details.filters > summary")).to_contain_text(
        "menampilkan semua pengaduan"
    )
    await assert_no_horizontal_scroll(page)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375

    # A card per complaint: the tracking number and status badge side by side,
    # every card a tap target of at least 44 px, the header row hidden.
    cards = page.locator("table.inbox tbody tr")
    for n in range(3):
        card = cards.nth(n)
        assert await card.evaluate("tr => getComputedStyle(tr).display") == "grid"
        link_box = await card.locator("a.row-link").bounding_box()
        card_box = await card.bounding_box()
        assert link_box is not None and card_box is not None
        assert link_box["height"] >= 44 and card_box["height"] >= 44
        assert card_box["x"] >= 0 and card_box["x"] + card_box["width"] <= 375
        status = await card.locator(".c-status .badge").bounding_box()
        due = await card.locator(".c-due .badge").bounding_box()
        assert status is not None and due is not None
        assert abs(status["y"] - due["y"]) < 4 and status["x"] + status["width"] < due["x"]
    await expect(page.locator("table.inbox thead")).not_to_be_in_viewport()
    long_card = page.locator("table.inbox tbody tr", has_text=numbers[1])
    await expect(long_card).to_contain_text("Bambang Sutrisno")

    # Filtering: the folded bar shows the filters in force as chips.
    await page.locator("details.filters > summary").click()
    assert await filters_open(page)
    await assert_no_horizontal_scroll(page)
    if open_page.screenshots is not None:
        await open_page.screenshots.shoot(page)  # the filter bar unfolded on a phone
    await page.get_by_label("Kanal").select_option("email")
    await page.get_by_label("Cari").fill("sertifikat")
    await page.get_by_role("button", name="Terapkan").click()
    await expect(page.locator("table.inbox tbody tr")).to_have_count(2)
    assert not await filters_open(page)
    await expect(page.locator("details.filters .chip")).to_have_text(
        ["Cari: “sertifikat”", "Kanal: Email"]
    )
    await assert_no_horizontal_scroll(page)

    # The whole card opens the complaint.
    card = page.locator("table.inbox tbody tr", has_text=numbers[0])
    await card.scroll_into_view_if_needed()
    box = await card.bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 8)
    await expect(page).to_have_url(re.compile(f"/inbox/complaints/{numbers[0]}$"))


async def test_the_list_on_a_desktop_has_whole_headers_and_keys(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    page, numbers = await signed_in_list(live_server, open_page, WIDE)
    rows = page.locator("table.inbox tbody tr")
    await expect(rows).to_have_count(3)
    await expect(page.locator("#q")).to_be_visible()  # unfolded on a wide screen
    await assert_headers_on_one_line(page)
    await assert_no_horizontal_scroll(page)
    assert (
        await page.locator("table.inbox thead th").first.evaluate(
            "th => getComputedStyle(th).position"
        )
        == "sticky"
    )
    badge = page.locator("table.inbox tbody tr").first.locator(".c-due .badge")
    assert await badge.evaluate("b => getComputedStyle(b).display") == "inline-block"

    # Folded by hand: still one-line headers, the chips line instead.
    await page.locator("details.filters > summary").click()
    assert not await filters_open(page)
    await assert_headers_on_one_line(page)
    # A small laptop or tablet: still a table, still whole headers, nothing to scroll.
    await page.set_viewport_size({"width": 800, "height": 1000})
    await assert_headers_on_one_line(page)
    await assert_no_horizontal_scroll(page)
    if open_page.screenshots is not None:
        await open_page.screenshots.shoot(page)
    await page.set_viewport_size(WIDE)

    # Keys: j/k (or the arrows) move a visible focus, Enter opens, / searches, ? helps.
    newest_first = [await rows.nth(n).locator("a.row-link").inner_text() for n in range(3)]
    assert sorted(newest_first) == sorted(numbers)
    await page.locator("body").click(position={"x": 5, "y": 5})
    await page.keyboard.press("j")
    await expect(rows.nth(0)).to_have_attribute("aria-current", "true")
    await expect(rows.nth(0).locator("a.row-link")).to_be_focused()
    await expect(rows.nth(0)).to_have_class(re.compile(r"\bkb-current\b"))
    await page.keyboard.press("j")
    await page.keyboard.press("ArrowDown")
    await expect(rows.nth(2)).to_have_attribute("aria-current", "true")
    await expect(rows.nth(0)).not_to_have_attribute("aria-current", "true")
    await page.keyboard.press("k")
    await expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    await page.keyboard.press("ArrowUp")
    await expect(rows.nth(0).locator("a.row-link")).to_be_focused()

    await page.keyboard.press("/")
    await expect(page.locator("#q")).to_be_focused()
    assert await filters_open(page)
    await page.keyboard.type("jk?")  # typing in a field: the keys are text
    await expect(page.locator("#q")).to_have_value("jk?")
    await expect(rows.nth(0)).to_have_attribute("aria-current", "true")
    await expect(page.locator("#keys-help")).to_be_hidden()

    await page.locator("body").click(position={"x": 5, "y": 5})
    await page.keyboard.press("?")
    await expect(page.locator("#keys-help")).to_be_visible()
    await expect(page.locator("#keys-help")).to_contain_text("Pengaduan berikutnya")
    if open_page.screenshots is not None:
        await open_page.screenshots.shoot(page)
    await page.keyboard.press("Escape")
    await expect(page.locator("#keys-help")).to_be_hidden()

    await page.keyboard.press("j")  # from the first row
    second = await rows.nth(1).locator("a.row-link").inner_text()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(f"/inbox/complaints/{second}$"))


async def test_a_canned_reply_picked_on_a_phone(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    tracking = (await sri_and_complaints(live_server))[0]
    page = await open_page(f"/inbox/complaints/{tracking}", viewport=PHONE)  # sign in first
    await page.get_by_label("Nama pengguna").fill("sri")
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(tracking)
    box = page.get_by_label("Pesan", exact=True)
    await expect(box).to_have_value("")

    # With the script: picking inserts the filled text at once.
    await page.get_by_label("Balasan siap pakai").select_option("more_data")
    await expect(box).to_have_value(
        re.compile(f"^Yth. Siti Aminah, untuk menindaklanjuti keluhan {tracking} ")
    )
    await expect(box).to_be_focused()
    await page.get_by_label("Balasan siap pakai").select_option("received")
    await expect(box).to_have_value(re.compile(f"^Yth. Siti Aminah, keluhan Anda .*{tracking}"))
    await page.locator("#reply").scroll_into_view_if_needed()
    await assert_no_horizontal_scroll(page)
    if open_page.screenshots is not None:  # the reply box as the clerk sees it now
        folder = open_page.screenshots.folder
        folder.mkdir(parents=True, exist_ok=True)
        await page.locator("#reply").screenshot(path=str(folder / "reply-box-picked.png"))
    picker = await page.locator(".canned-row select").bounding_box()
    assert picker is not None and picker["height"] >= 44

    # A reply naming a due date the complaint lacks: the clerk is told to write it in.
    async with live_server.runtime.sessions() as s, s.begin():
        stored = await s.scalar(select(Complaint).where(Complaint.tracking_number == tracking))
        assert stored is not None
        stored.step_due_at = None
    await page.reload()
    warning = page.locator("[data-canned-missing]")
    await expect(warning).to_be_hidden()
    await page.get_by_label("Balasan siap pakai").select_option("progress")
    await expect(box).to_have_value(re.compile(r"paling lambat \[tanggal tenggat\]"))
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text("isi sendiri sebelum mengirim: tanggal tenggat")
    await page.get_by_label("Balasan siap pakai").select_option("received")
    await expect(warning).to_be_hidden()

    # Without it (the server fills the box): the same text.
    await page.goto(f"/inbox/complaints/{tracking}?reply=received#reply")
    await expect(box).to_have_value(re.compile(f"^Yth. Siti Aminah, keluhan Anda .*{tracking}"))
    await assert_no_horizontal_scroll(page)

    await page.get_by_role("button", name="Kirim ke pengadu").click()
    await live_server.settle()
    [*_, sent] = live_server.sent_to("siti@example.com")
    assert sent.text.startswith("Yth. Siti Aminah, keluhan Anda telah kami terima")
    assert tracking in sent.text
