"""The public pages end to end: form, validation, submission, confirmation, tracking."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp.test_utils import TestClient
from markupsafe import escape
from sqlalchemy import func, select, update

from channels.base import ChannelName
from gateway.ingest import ingest
from gateway.runtime import Runtime
from gateway.web.form import WebForm
from handlers.i18n import t
from storage.models import Complaint, ComplaintStatus, Message
from tests.web.conftest import Page, fresh_token, nonce_of, valid_form

Client = TestClient[Any, Any]
TRACKING_RE = re.compile(r"ADU-\d{4}-\d{5}")


async def submit(client: Client, form: dict[str, str]) -> Any:
    return await client.post("/", data=form, allow_redirects=False)


async def file_complaint(client: Client, **overrides: str) -> tuple[str, str]:
    """Submit a valid form; return (confirmation page URL, tracking number)."""
    token = await fresh_token(client)
    response = await submit(client, valid_form(token, **overrides))
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    page = await client.get(location)
    assert page.status == 200
    match = TRACKING_RE.search(await page.text())
    assert match, await page.text()
    return location, match.group(0)


async def count(runtime: Runtime, model: Any) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------- the form


async def test_form_in_indonesian_shows_every_profile_field(
    client: Client, runtime: Runtime
) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    page = Page(html)
    assert page.find("html")[0]["lang"] == "id"
    positions = []
    for field in runtime.profile.intake.fields:
        assert str(escape(field.label.id)) in html
        assert str(escape(field.prompt.id)) in html
        control = page.by_id(field.key)
        assert control is not None and control.get("name") == field.key
        assert "required" in control
        assert page.find("label", **{"for": field.key}), f"no label for {field.key}"
        assert f"{field.key}-hint" in control["aria-describedby"]
        positions.append(html.index(f'id="{field.key}"'))
    assert positions == sorted(positions), "fields must be in profile order"
    assert page.find("textarea", name="problem")
    for name in ("contact_email", "contact_phone"):
        assert page.find("input", name=name) and page.find("label", **{"for": name})
    assert page.find("input", name="contact_phone")[0]["type"] == "tel"
    assert page.find("input", type="hidden", name="lang")[0]["value"] == "id"
    # Office, footer, language switch (a link that keeps the page).
    assert runtime.profile.office.name.id in page.text
    assert runtime.profile.office.unit.id in page.text
    assert "Perpres 76/2013" in page.text
    assert "tidak dipungut biaya" in page.text
    assert page.find("a", href="/?lang=en", hreflang="en")
    assert "Kirim pengaduan" in page.text
    assert page.find("meta", name="viewport")
    assert "private" in response.headers["Cache-Control"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


async def test_form_in_english(client: Client, runtime: Runtime) -> None:
    response = await client.get("/", params={"lang": "en"})
    html = await response.text()
    page = Page(html)
    assert page.find("html")[0]["lang"] == "en"
    for field in runtime.profile.intake.fields:
        assert field.label.en and str(escape(field.label.en)) in html
        assert field.prompt.en and str(escape(field.prompt.en)) in html
    assert runtime.profile.office.name.get("en") in page.text
    assert "Send complaint" in page.text
    assert "free of charge" in page.text
    assert page.find("a", href="/?lang=id", hreflang="id")
    assert page.find("input", type="hidden", name="lang")[0]["value"] == "en"


async def test_each_form_has_its_own_token(client: Client) -> None:
    assert await fresh_token(client) != await fresh_token(client)


async def test_stylesheet_is_served(client: Client) -> None:
    page = Page(await (await client.get("/")).text())
    href = page.find("link", rel="stylesheet")[0]["href"]
    assert href.startswith("/static/site.css?v=")
    response = await client.get(href)
    assert response.status == 200
    assert response.content_type == "text/css"


# ---------------------------------------------------------- validation


async def test_invalid_submission_keeps_typed_values(client: Client, runtime: Runtime) -> None:
    token = await fresh_token(client)
    form = valid_form(
        token,
        complainant_name="<b>",
        customer_name="",
        problem='Terlalu <i>pendek</i> & "aneh"'[:9],
        contact_email="",
        contact_phone="12345",
    )
    response = await submit(client, form)
    assert response.status == 422
    html = await response.text()
    page = Page(html)
    # A message next to each field, linked from the summary at the top.
    for name, message in (
        ("complainant_name", "Nama perlu diisi, minimal 2 huruf."),
        ("customer_name", "Nama pelanggan/peserta perlu diisi, minimal 2 huruf."),
        ("problem", "Mohon jelaskan masalahnya sedikit lebih lengkap (minimal 10 huruf)."),
        ("contact_phone", "Masukkan nomor telepon, misalnya 0812 3456 7890."),
    ):
        error = page.by_id(f"{name}-error")
        assert error is not None, name
        assert message in page.text
        control = page.by_id(name)
        assert control is not None
        assert control["aria-invalid"] == "true"
        assert f"{name}-error" in control["aria-describedby"].split()
        assert page.find("a", href=f"#{name}")
    assert page.find("div", role="alert")
    assert page.find("title") and "Kesalahan" in html.split("</title>")[0]
    # Typed values kept, HTML-special ones escaped.
    assert page.by_id("complainant_name")["value"] == "<b>"  # type: ignore[index]
    assert 'value="&lt;b&gt;"' in html
    assert "<b>" not in html
    assert page.by_id("contact_phone")["value"] == "12345"  # type: ignore[index]
    assert f'value="{token}"' in html, "the same token is kept for the corrected submission"
    assert await count(runtime, Message) == 0


async def test_missing_contact_is_explained_on_the_group(client: Client) -> None:
    token = await fresh_token(client)
    response = await submit(
        client, valid_form(token, contact_email="", contact_phone="", lang="en")
    )
    assert response.status == 422
    page = Page(await response.text())
    assert "Give an email address or a phone number so that we can reach you." in page.text
    assert page.by_id("contact-error") is not None
    assert "contact-error" in page.by_id("contact_email")["aria-describedby"]  # type: ignore[index]
    assert page.find("a", href="#contact_email")
    assert page.find("html")[0]["lang"] == "en"


async def test_bad_token_gets_a_fresh_one(client: Client, runtime: Runtime) -> None:
    response = await submit(client, valid_form("not-a-token"))
    assert response.status == 422
    html = await response.text()
    assert "Formulir ini tidak lengkap atau sudah terlalu lama dibuka." in html
    assert re.search(r'name="token" value="\d+\.[0-9a-f]{32}\.[A-Za-z0-9_-]+"', html)
    assert 'value="Budi Santoso"' in html
    assert await count(runtime, Message) == 0


async def test_non_form_bodies_are_rejected(client: Client, runtime: Runtime) -> None:
    token = await fresh_token(client)
    response = await client.post("/", json=valid_form(token))
    assert response.status == 400
    assert "Formulir tidak dapat dibaca" in await response.text()
    response = await client.post("/", data=b"token=x", headers={"Content-Type": "text/plain"})
    assert response.status == 400
    response = await client.post(
        "/track", data=b"\xff\xfe=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 400
    assert await count(runtime, Message) == 0


async def test_oversized_bodies_are_rejected(client: Client, runtime: Runtime) -> None:
    token = await fresh_token(client)
    response = await submit(client, valid_form(token, problem="x" * 200_000))
    assert response.status == 413
    assert "Formulir terlalu besar" in await response.text()

    async def chunks() -> Any:
        for _ in range(100):
            yield b"a" * 4096

    response = await client.post(
        "/track", data=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 413
    assert await count(runtime, Message) == 0


async def test_problem_longer_than_the_profile_allows(client: Client) -> None:
    token = await fresh_token(client)
    response = await submit(client, valid_form(token, problem="x" * 5001))
    assert response.status == 422
    assert "maksimal 5000 karakter" in await response.text()


# ---------------------------------------------------------- submission


async def test_valid_submission_registers_the_complaint(client: Client, runtime: Runtime) -> None:
    token = await fresh_token(client)
    response = await submit(client, valid_form(token))
    assert response.status == 303
    assert response.headers["Location"] == f"/submitted/{nonce_of(token)}?lang=id"

    page_response = await client.get(response.headers["Location"])
    assert page_response.status == 200
    assert page_response.headers["Cache-Control"] == "no-store"
    html = await page_response.text()
    page = Page(html)
    tracking = TRACKING_RE.search(page.text)
    assert tracking is not None
    assert page.find("p", **{"class": "tracking-number"})
    assert "3 hari kerja" in page.text  # profile.follow_up_standard.describe("id")
    assert "Budi Santoso" in page.text and "PT Sinar Jaya" in page.text
    assert "budi@example.com" in page.text and "+6281234567890" in page.text
    assert "WIB" in page.text
    assert page.find("a", href=f"/track?number={tracking.group(0)}&lang=id")
    assert not page.find("meta", **{"http-equiv": "refresh"})

    async with runtime.sessions() as session:
        complaint = await session.scalar(select(Complaint))
        message = await session.scalar(select(Message).where(Message.direction == "in"))
    assert complaint is not None and message is not None
    assert complaint.tracking_number == tracking.group(0)
    assert complaint.complainant_name == "Budi Santoso"
    assert complaint.customer_name == "PT Sinar Jaya"
    assert complaint.problem == "Laporan hasil uji belum kami terima setelah dua minggu."
    assert complaint.received_by == "channel:web"
    assert complaint.channel == "web"
    assert complaint.contact_address == "budi@example.com"
    assert message.channel == ChannelName.WEB.value
    assert message.external_id == nonce_of(token)
    assert message.complaint_id == complaint.id
    assert "token" not in message.raw
    assert message.raw["contact_phone"] == "0812-3456-7890"


async def test_english_submission_gets_an_english_page(client: Client) -> None:
    token = await fresh_token(client, "en")
    response = await submit(client, valid_form(token, lang="en"))
    assert response.headers["Location"].endswith("?lang=en")
    page = Page(await (await client.get(response.headers["Location"])).text())
    assert page.find("html")[0]["lang"] == "en"
    assert "3 working days" in page.text
    assert "Complaint received" in page.text


async def test_same_token_twice_is_stored_once(client: Client, runtime: Runtime) -> None:
    token = await fresh_token(client)
    form = valid_form(token)
    first = await submit(client, form)
    second = await submit(client, form)
    assert first.status == second.status == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert (
        await count(runtime, Message.__table__.select().where(Message.direction == "in").subquery())
        == 1
    )
    assert await count(runtime, Complaint) == 1
    html = await (await client.get(second.headers["Location"])).text()
    assert "sudah pernah dikirim" not in html


async def test_double_click_at_the_same_moment_is_stored_once(
    client: Client, runtime: Runtime
) -> None:
    token = await fresh_token(client)
    form = valid_form(token)
    responses = await asyncio.gather(*(submit(client, form) for _ in range(3)))
    assert {r.status for r in responses} == {303}
    async with runtime.sessions() as session:
        messages = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
    assert messages == 1
    assert await count(runtime, Complaint) == 1


async def test_changed_resubmission_is_explained(client: Client, runtime: Runtime) -> None:
    token = await fresh_token(client)
    await submit(client, valid_form(token))
    response = await submit(client, valid_form(token, customer_name="CV Lain Lagi"))
    assert response.status == 303
    assert "changed=1" in response.headers["Location"]
    html = await (await client.get(response.headers["Location"])).text()
    assert "sudah pernah dikirim" in html
    assert "PT Sinar Jaya" in html and "CV Lain Lagi" not in html
    assert await count(runtime, Complaint) == 1


async def test_script_in_problem_is_escaped(client: Client) -> None:
    script = "<script>alert('x')</script> laporan hasil uji tidak sesuai"
    location, _ = await file_complaint(client, problem=script)
    html = await (await client.get(location)).text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


async def test_unknown_or_malformed_token_is_404(client: Client) -> None:
    for path in ("/submitted/" + "0" * 32, "/submitted/nope", "/submitted/" + "A" * 32):
        response = await client.get(path)
        assert response.status == 404
        assert "Halaman tidak ditemukan" in await response.text()


async def test_page_while_the_complaint_is_being_processed(
    client: Client, runtime: Runtime
) -> None:
    token = "ab" * 16
    message = WebForm(runtime.profile).parse(valid_form(token), token)
    await ingest(runtime.sessions, message)  # stored, nobody asked to process it yet
    response = await client.get(f"/submitted/{token}")
    assert response.status == 200
    page = Page(await response.text())
    assert page.find("meta", **{"http-equiv": "refresh", "content": "2"})
    assert "Pengaduan Anda sedang diproses" in page.text
    assert not TRACKING_RE.search(page.text)


async def test_processed_without_a_complaint(client: Client, runtime: Runtime) -> None:
    token = "cd" * 16
    message = WebForm(runtime.profile).parse(valid_form(token), token)
    stored = await ingest(runtime.sessions, message)
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Message).where(Message.id == stored.message_id).values(processed_at=func.now())
        )
    page = Page(await (await client.get(f"/submitted/{token}")).text())
    assert not page.find("meta", **{"http-equiv": "refresh"})
    assert "Petugas kami akan memeriksanya" in page.text


# ------------------------------------------------------------ tracking


async def track(client: Client, number: str, contact: str, lang: str = "id") -> Any:
    return await client.post("/track", data={"number": number, "contact": contact, "lang": lang})


NOT_FOUND_ID = "Kami tidak menemukan pengaduan dengan nomor pengaduan"


async def test_track_with_the_right_contact(client: Client) -> None:
    _, tracking = await file_complaint(client)
    for contact in ("BUDI@example.com", "+62 812 3456 7890", "081234567890"):
        response = await track(client, tracking.lower(), contact)
        assert response.status == 200
        page = Page(await response.text())
        assert "Diterima" in page.text, contact  # status name (aduan.po)
        assert (
            t("id", "Your complaint has been recorded and will be checked by an officer.")
            in page.text
        )
        assert tracking in page.text
        assert "Tanggal diterima" in page.text and "Pembaruan terakhir" in page.text
        assert "WIB" in page.text
        assert NOT_FOUND_ID not in page.text
        # The first step runs on its time standard: the page says until when.
        assert "Langkah berikutnya diperkirakan selesai" in page.text


async def test_track_in_english(client: Client) -> None:
    _, tracking = await file_complaint(client)
    page = Page(await (await track(client, tracking, "budi@example.com", lang="en")).text())
    assert "Received" in page.text
    assert "Your complaint has been recorded" in page.text
    assert page.find("html")[0]["lang"] == "en"


async def test_track_does_not_tell_wrong_contact_from_unknown_number(client: Client) -> None:
    _, tracking = await file_complaint(client)
    year = tracking.split("-")[1]
    wrong = await track(client, tracking, "orang.lain@example.com")
    unknown = await track(client, f"ADU-{year}-99999", "orang.lain@example.com")
    assert wrong.status == unknown.status == 200
    wrong_html, unknown_html = await wrong.text(), await unknown.text()
    assert NOT_FOUND_ID in wrong_html and NOT_FOUND_ID in unknown_html
    assert "Diterima" not in Page(wrong_html).text.replace("Tanggal diterima", "")
    # The whole pages are the same apart from the number typed in.
    assert wrong_html.replace(tracking, "X") == unknown_html.replace(f"ADU-{year}-99999", "X")
    other_phone = await track(client, tracking, "0813 1111 2222")
    assert NOT_FOUND_ID in await other_phone.text()


async def test_track_shows_later_status(client: Client, runtime: Runtime) -> None:
    _, tracking = await file_complaint(client)
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Complaint)
            .where(Complaint.tracking_number == tracking)
            .values(status=ComplaintStatus.IN_FOLLOW_UP.value)
        )
    page = Page(await (await track(client, tracking, "budi@example.com")).text())
    assert "Dalam tindak lanjut" in page.text
    assert "Petugas sedang menindaklanjuti pengaduan Anda." in page.text


async def test_track_field_errors(client: Client) -> None:
    response = await track(client, "nomor saya", "bukan kontak")
    assert response.status == 422
    page = Page(await response.text())
    assert page.by_id("number-error") is not None
    assert page.by_id("contact-error") is not None
    assert page.by_id("number")["value"] == "nomor saya"  # type: ignore[index]
    assert NOT_FOUND_ID not in page.text


async def test_track_page_prefills_the_number(client: Client) -> None:
    response = await client.get("/track", params={"number": "ADU-2026-00001", "lang": "en"})
    assert response.status == 200
    page = Page(await response.text())
    assert page.by_id("number")["value"] == "ADU-2026-00001"  # type: ignore[index]
    assert page.find("label", **{"for": "contact"})
    assert page.find("a", href="/track?number=ADU-2026-00001&lang=id")


async def test_storage_failure_keeps_the_form(client: Client, runtime: Runtime) -> None:
    from sqlalchemy.exc import OperationalError

    async def broken(message: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    runtime.batcher.submit = broken  # type: ignore[method-assign]
    token = await fresh_token(client)
    response = await submit(client, valid_form(token, customer_name="PT <Sinar> Jaya"))
    assert response.status == 503
    html = await response.text()
    assert "Silakan kirim formulir ini lagi" in html
    assert f'value="{token}"' in html, "a retry must reuse the token so it is stored once"
    assert 'value="PT &lt;Sinar&gt; Jaya"' in html
