"""The privacy notice: ``/privasi``, the web form's link, the first chat answer
(docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from channels.base import ChannelName
from gateway.app import create_app
from handlers.profile import resolve_profile_path
from tests.fakes import inbound
from tests.runtime_fixtures import Harness, make_harness


async def test_privacy_page_shows_purpose_retention_and_contact(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    profile = tmp_path / "office.yaml"
    profile.write_text(
        resolve_profile_path("default").read_text("utf-8")
        + "\nretention: {raw_payload_days: 60, quarantine_days: 14,"
        " closed_complaint_personal_data_years: 7}\n"
        "privacy:\n  contact: {id: Surel ke ppid@kantor.example.go.id, en: Mail ppid@kantor.example.go.id}\n",
        "utf-8",
    )
    h = await make_harness(tmp_path, sop_profile=str(profile))
    try:
        client = await aiohttp_client(
            create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
        )
        page = await client.get("/privasi")
        assert page.status == 200
        html = await page.text()
        assert "Pemberitahuan privasi" in html and "UU PDP" in html
        assert "60 hari" in html and "14 hari" in html and "7 tahun" in html
        assert "Surel ke ppid@kantor.example.go.id" in html
        assert "hanya untuk mencatat, menindaklanjuti" in html  # the default purpose

        english = await (await client.get("/privasi?lang=en")).text()
        assert "Privacy notice" in english and "60 days" in english and "7 years" in english
        assert "Mail ppid@kantor.example.go.id" in english

        form = await (await client.get("/")).text()
        assert 'href="/privasi?lang=id"' in form
        assert "Data Anda hanya kami gunakan untuk menangani pengaduan ini." in form
        # Right after the submit button, inside the form (the button stays next in tab order).
        submit = form.index('type="submit"')
        assert submit < form.index("/privasi") < form.index("</form>")
    finally:
        await h.runtime.close()


async def test_first_chat_answer_links_the_notice_once(harness: Harness) -> None:
    phone = "+6281299990000"
    await harness.runtime.accept(inbound(ChannelName.SMS, "s1", phone, "halo"))
    await harness.settle()
    await harness.runtime.accept(
        inbound(ChannelName.SMS, "s2", phone, "laporan hasil uji terlambat dua minggu")
    )
    await harness.settle()
    first, second = harness.sms.texts()[:2]
    url = harness.runtime.settings.effective_public_url.rstrip("/") + "/privasi"
    assert f"Cara kami melindungi data pribadi Anda: {url}" in first
    assert "Terima kasih telah menghubungi" in first and "ceritakan masalah" in first
    assert "/privasi" not in second


async def test_everything_in_the_first_message_still_gets_the_notice(harness: Harness) -> None:
    text = "Nama: Budi Santoso\nPelanggan: PT Sinar Jaya\nMasalah: laporan hasil uji terlambat"
    await harness.runtime.accept(inbound(ChannelName.SMS, "a1", "+6281299990001", text))
    await harness.settle()
    [summary] = harness.sms.texts()
    assert "/privasi" in summary and "Balas YA" in summary


async def test_a_mail_gets_the_notice_in_its_first_answer_only(harness: Harness) -> None:
    """Email: the mail listing what is missing carries the line; the acknowledgement
    that follows in the same conversation does not repeat it."""
    address = "budi.santoso@example.com"
    await harness.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "<m1@example.com>",
            address,
            "Laporan hasil uji kami terlambat dua minggu.",
            subject="Pengaduan",
        )
    )
    await harness.settle()
    [request] = harness.email.texts()
    assert "Cara kami melindungi data pribadi Anda:" in request and "/privasi" in request
    await harness.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "<m2@example.com>",
            address,
            "Nama pengadu: Budi Santoso\nNama pelanggan/peserta: PT Sinar Jaya",
            subject="Re: Pengaduan",
            thread_refs=("<m1@example.com>",),
        )
    )
    await harness.settle()
    texts = harness.email.texts()
    assert len(texts) == 2
    assert "ADU-" in texts[1] and "/privasi" not in texts[1]


async def test_a_complete_letter_is_acknowledged_with_the_notice(harness: Harness) -> None:
    letter = (
        "Dengan hormat,\n\nNama: Budi Santoso\nPelanggan: PT Sinar Jaya\n"
        "Masalah: laporan hasil uji terlambat dua minggu.\n\nHormat kami,\nBudi Santoso"
    )
    await harness.runtime.accept(
        inbound(ChannelName.EMAIL, "<l1@example.com>", "budi@example.com", letter, subject="Aduan")
    )
    await harness.settle()
    [acknowledgement] = harness.email.texts()
    assert "ADU-" in acknowledgement and "/privasi" in acknowledgement
