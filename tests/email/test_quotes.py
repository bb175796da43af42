"""Quoted-reply stripping, Indonesian and English, in the shapes real clients produce."""

from __future__ import annotations

import pytest

from channels.email.html import html_to_text
from channels.email.quotes import strip_quotes

NEW = "Nama pelanggan: PT Sumber Air Jaya.\nMasalah: laporan uji belum diterima."

CASES = {
    "gmail_id_one_line": (
        NEW + "\n\nPada Sen, 12 Jan 2026 pukul 10.15 Layanan Pengaduan "
        "<pengaduan@bspji.go.id> menulis:\n\n> Mohon lengkapi data.\n> Terima kasih\n"
    ),
    "gmail_id_wrapped": (
        NEW + "\n\nPada tanggal Sen, 12 Jan 2026 10.15, Layanan Pengaduan BSPJI <\n"
        "pengaduan@bspji.go.id> menulis:\n\n> Mohon lengkapi data.\n"
    ),
    "gmail_en_wrapped": (
        NEW + "\n\nOn Mon, Jan 12, 2026 at 10:15 AM Layanan Pengaduan <pengaduan@bspji.go.id>\n"
        "wrote:\n\n> Please complete your data.\n"
    ),
    "apple_mail_en": (
        NEW + "\n\n> On 12 Jan 2026, at 10:15, Layanan Pengaduan <pengaduan@bspji.go.id> wrote:\n"
        ">\n> Please complete your data.\n"
    ),
    "yahoo_id": (
        NEW + "\n\n\n    Pada Senin, 12 Januari 2026 10.15.00 WIB, Layanan Pengaduan "
        "<pengaduan@bspji.go.id> menulis:\n\n Mohon lengkapi data.\n"
    ),
    "thunderbird_id": (
        NEW + "\n\nPada 12/01/26 10.15, Layanan Pengaduan menulis:\n> Mohon lengkapi data.\n"
    ),
    "outlook_original_message_en": (
        NEW + "\n\n-----Original Message-----\nFrom: Layanan Pengaduan <pengaduan@bspji.go.id>\n"
        "Sent: Monday, January 12, 2026 10:15 AM\nTo: budi@example.id\n"
        "Subject: [ADU-2026-00042]\n\nPlease complete your data.\n"
    ),
    "outlook_pesan_asli_id": (
        NEW + "\n\n-----Pesan Asli-----\nDari: Layanan Pengaduan <pengaduan@bspji.go.id>\n"
        "Dikirim: Senin, 12 Januari 2026 10:15\nKepada: budi@example.id\n"
        "Perihal: [ADU-2026-00042]\n\nMohon lengkapi data.\n"
    ),
    "outlook_underscores_en": (
        NEW + "\n\n________________________________\n"
        "From: Layanan Pengaduan <pengaduan@bspji.go.id>\n"
        "Sent: Monday, January 12, 2026 10:15 AM\nTo: Budi <budi@example.id>\n"
        "Subject: [ADU-2026-00042] Please complete\n\nPlease complete your data.\n"
    ),
    "outlook_block_id_no_separator": (
        NEW + "\n\nDari: Layanan Pengaduan <pengaduan@bspji.go.id>\n"
        "Terkirim: Senin, 12 Januari 2026 10.15\nKepada: Budi <budi@example.id>\n"
        "Subjek: [ADU-2026-00042] Mohon lengkapi\n\nMohon lengkapi data.\n"
    ),
    "outlook_html_bold_headers": (
        NEW + "\n\n* * *\n\n**From:** Layanan Pengaduan <pengaduan@bspji.go.id>\n"
        "**Sent:** Monday, January 12, 2026 10:15 AM\n**To:** budi@example.id\n"
        "**Subject:** [ADU-2026-00042]\n\nPlease complete your data.\n"
    ),
    "signature": (NEW + "\n\n-- \nBudi Santoso\nPT Sumber Air Jaya\nTelp. 024-555-1234\n"),
    "mobile_footer_en": NEW + "\n\nSent from my iPhone\n",
    "mobile_footer_id": NEW + "\n\nDikirim dari iPhone saya\n",
    "crlf_line_endings": (
        NEW.replace("\n", "\r\n")
        + "\r\n\r\nOn Mon, 12 Jan 2026 at 10:15, X <x@y.id> wrote:\r\n> q\r\n"
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reply_chain_is_removed(name: str) -> None:
    assert strip_quotes(CASES[name]) == NEW


def test_interleaved_answers_keep_only_new_lines() -> None:
    text = (
        "> Nama pengadu?\nBudi Santoso\n\n> Nama pelanggan?\nPT Sumber Air Jaya\n\n"
        "> Masalah?\nLaporan uji terlambat.\n"
    )
    assert strip_quotes(text) == ("Budi Santoso\n\nPT Sumber Air Jaya\n\nLaporan uji terlambat.")


@pytest.mark.parametrize(
    "text",
    [
        # Complainant prose that merely looks like markers stays intact.
        "Kepada Yth. Kepala Balai\nPerihal: Pengaduan\nDari: Budi\nTanggal: 12 Januari 2026",
        "On Monday the water was off again.\nMy neighbour wrote: nothing changed.",
        "Pada hari Senin air mati lagi.\nTetangga saya menulis: belum ada perubahan.",
        "Masalah:\n- air mati\n- listrik padam\n\n-- catatan: mendesak",
        "Nama: Budi\nPelanggan: PT Maju\nMasalah: sertifikat salah",
        "Selamat pagi.\n\nDari: Budi Santoso\nKepada: Kepala Balai\nTanggal: 12 Januari 2026\n"
        "Perihal: Pengaduan hasil uji\n\nHasil uji sampel kami salah.",
    ],
)
def test_ordinary_text_is_not_mistaken_for_a_quote(text: str) -> None:
    assert strip_quotes(text) == text


def test_forwarded_message_is_kept() -> None:
    text = (
        "Mohon ditindaklanjuti, ini email dari petugas.\n\n"
        "---------- Pesan terusan ---------\n"
        "Dari: Petugas Lab <lab@bspji.go.id>\nDate: Sen, 5 Jan 2026 pukul 09.00\n"
        "Subject: Jadwal uji\nTo: <budi@example.id>\n\nUji dijadwalkan ulang."
    )
    assert strip_quotes(text) == text


def test_only_quoted_text_gives_empty_text() -> None:
    assert strip_quotes("> Mohon lengkapi data.\n> Terima kasih\n") == ""
    assert strip_quotes("") == ""


def test_blank_lines_are_collapsed_and_trailing_spaces_removed() -> None:
    assert strip_quotes("\n\nBaris satu   \n\n\n\nBaris dua\n\n") == "Baris satu\n\nBaris dua"


def test_gmail_html_reply_converted_then_stripped() -> None:
    html = (
        '<div dir="ltr">Nama saya Budi.<br>1. Air mati<br>- listrik padam</div><br>'
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">Pada Sen, 12 Jan 2026 '
        "pukul 10.15 Layanan Pengaduan &lt;pengaduan@bspji.go.id&gt; menulis:<br></div>"
        '<blockquote class="gmail_quote">Mohon lengkapi data.<br>'
        '<a href="https://bspji.go.id/lacak">Lacak</a></blockquote></div>'
    )
    assert strip_quotes(html_to_text(html)) == "Nama saya Budi.\n1. Air mati\n- listrik padam"
