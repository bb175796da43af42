"""A complete complaint mail is registered at once, whatever its form.

Each mail below states who complains, for whom and what happened — as a
formal letter (addressee block, "Perihal", the undersigned's labelled details,
"Demikian …", "Hormat kami," and the signer), as an ordinary mail with a
signature block sent from a shared mailbox, as a short note signed "- Name
(Organisation)", in English with a signature, or from a citizen writing for
themself. Each goes through the email parser (RFC 5322 bytes) and the whole
runtime: one reply, the acknowledgement with the tracking number, and no
question; the fields exactly as a clerk would record them (docs/intake.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from channels.email.parse import parse_email
from storage.models import Complaint
from tests.runtime_fixtures import Harness

OFFICE = "pengaduan@bspji.example.go.id"

FORMAL = """Kepada Yth.
Kepala Balai Standardisasi dan Pelayanan Jasa Industri
di Tempat

Perihal : Keberatan atas hasil kalibrasi

Dengan hormat,

Yang bertanda tangan di bawah ini:

Nama       : Ir. SUHARTO WIBOWO, M.M.
Jabatan    : Direktur Operasional
Perusahaan : PT Agro Sawit Kencana
No. HP     : 0811-5566-7788

dengan ini menyampaikan keluhan sebagai berikut:

Dua unit timbangan jembatan kami yang dikalibrasi pada 14 Agustus dinyatakan lulus, tetapi
seminggu kemudian hasil penimbangan di pabrik selisih 40 kg dibandingkan timbangan pembeli.

Kami meminta kalibrasi ulang tanpa biaya dan penjelasan tertulis atas selisih tersebut.

Demikian surat ini kami sampaikan. Atas perhatian Bapak kami ucapkan terima kasih.

Hormat kami,
PT Agro Sawit Kencana


Ir. Suharto Wibowo, M.M.
Direktur Operasional
"""

SIGNED = """Selamat siang Bapak/Ibu,

Sertifikat kalibrasi enam buah termometer klinis yang kami terima minggu lalu mencantumkan
tanggal kalibrasi yang salah, yaitu 2024, padahal alat diserahkan Maret tahun ini.

Mohon sertifikat diterbitkan ulang dengan tanggal yang benar.

Terima kasih.

Salam,
drg. Maya Kusumawati, M.Kes.
Kepala Klinik
Klinik Pratama Sehat Sentosa
Jl. Gatot Subroto No. 12, Ungaran
Telp. (024) 692 1133
"""

SHORT = """pak, hasil uji kadar air gabah kami dari tgl 3 belum ada kabar. petani sudah tanya terus.

- Sumarno (KUD Tani Makmur)
"""

ENGLISH = """Dear Sir/Madam,

Our proficiency testing report for round PT-W-02 lists our laboratory as "not submitted",
although we uploaded our results on 14 March and received the system's confirmation email.

Please correct the report before our accreditation visit next month.

Kind regards,

Dr. Ananya Sharma
Quality Manager
Laboratorium Kimia Lingkungan Universitas Tanjungpura
"""

CITIZEN = """Selamat pagi,

Saya mengajukan surat keterangan pindah untuk saya sendiri pada 2 Juni dengan berkas lengkap.
Petugas bilang selesai tiga hari, tetapi sudah dua minggu belum juga jadi.

Terima kasih,
Lestari Handayani
"""

CASES = [
    pytest.param(
        FORMAL,
        "Sekretariat PT ASK",
        {
            "complainant_name": "Suharto Wibowo",
            "complainant_title": "Ir., M.M.",
            "customer_name": "PT Agro Sawit Kencana",
            "problem": "Dua unit timbangan jembatan kami yang dikalibrasi pada 14 Agustus "
            "dinyatakan lulus, tetapi\nseminggu kemudian hasil penimbangan di pabrik selisih "
            "40 kg dibandingkan timbangan pembeli.\n\nKami meminta kalibrasi ulang tanpa biaya "
            "dan penjelasan tertulis atas selisih tersebut.",
        },
        id="formal letter from a shared mailbox",
    ),
    pytest.param(
        SIGNED,
        "Admin Klinik",
        {
            "complainant_name": "Maya Kusumawati",
            "complainant_title": "drg., M.Kes.",
            "customer_name": "Klinik Pratama Sehat Sentosa",
            "problem": "Sertifikat kalibrasi enam buah termometer klinis yang kami terima minggu "
            "lalu mencantumkan\ntanggal kalibrasi yang salah, yaitu 2024, padahal alat "
            "diserahkan Maret tahun ini.\n\nMohon sertifikat diterbitkan ulang dengan tanggal "
            "yang benar.",
        },
        id="signature block, organisation without a legal form",
    ),
    pytest.param(
        SHORT,
        "kud.tanimakmur",
        {
            "complainant_name": "Sumarno",
            "complainant_title": None,
            "customer_name": "KUD Tani Makmur",
            "problem": "hasil uji kadar air gabah kami dari tgl 3 belum ada kabar. petani sudah "
            "tanya terus.",
        },
        id="short note signed with a dash",
    ),
    pytest.param(
        ENGLISH,
        "PT Lab Account",
        {
            "complainant_name": "Ananya Sharma",
            "complainant_title": "Dr.",
            "customer_name": "Laboratorium Kimia Lingkungan Universitas Tanjungpura",
            "problem": "Our proficiency testing report for round PT-W-02 lists our laboratory as "
            '"not submitted",\nalthough we uploaded our results on 14 March and received the '
            "system's confirmation email.\n\nPlease correct the report before our accreditation "
            "visit next month.",
        },
        id="English with a signature",
    ),
    pytest.param(
        CITIZEN,
        "Lestari H",
        {
            "complainant_name": "Lestari Handayani",
            "complainant_title": None,
            "customer_name": "Lestari Handayani",
            "problem": "Saya mengajukan surat keterangan pindah untuk saya sendiri pada 2 Juni "
            "dengan berkas lengkap.\nPetugas bilang selesai tiga hari, tetapi sudah dua minggu "
            "belum juga jadi.",
        },
        id="a citizen writing for themself",
    ),
]


def mail(body: str, display: str, address: str) -> bytes:
    message = EmailMessage()
    message["From"] = f'"{display}" <{address}>'
    message["To"] = OFFICE
    message["Subject"] = "Pengaduan"
    message["Message-ID"] = f"<{abs(hash(body))}@sender.example>"
    message["Date"] = format_datetime(datetime.now(UTC))
    message.set_content(body)
    return bytes(message)


@pytest.mark.parametrize(("body", "display", "expected"), CASES)
async def test_a_complete_mail_is_registered_at_once(
    harness: Harness, body: str, display: str, expected: dict[str, str | None]
) -> None:
    h = harness
    address = "sender@example.id"
    inbound = parse_email(
        mail(body, display, address), own_addresses=[OFFICE], max_attachment_bytes=1_000_000
    )
    await h.runtime.accept(inbound)
    await h.settle()
    async with h.runtime.sessions() as s:
        [complaint] = list(await s.scalars(select(Complaint)))
    got = {
        "complainant_name": complaint.complainant_name,
        "complainant_title": complaint.complainant_title,
        "customer_name": complaint.customer_name,
        "problem": complaint.problem,
    }
    assert got == expected
    # One reply: the acknowledgement, no question.
    [reply] = h.email.sent
    assert complaint.tracking_number in reply.text
    assert "masih memerlukan" not in reply.text
