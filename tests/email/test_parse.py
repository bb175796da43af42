"""parse_email on recorded messages (docs/channels.md, "Dedupe keys" and "Email")."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from channels.base import ChannelName, InboundMessage
from channels.email.parse import RAW_COPY_MAX_BYTES, parse_email
from channels.errors import InboundParseError
from tests.email.conftest import EMAIL_FROM, sample
from tests.harness.incoming import Check, IncomingCase, check_incoming, named_cases

OWN = [EMAIL_FROM]


def parse(name: str, max_bytes: int = 5000) -> InboundMessage:
    return parse_email(sample(name), own_addresses=OWN, max_attachment_bytes=max_bytes)


def parse_recorded(raw: bytes) -> InboundMessage:
    return parse_email(raw, own_addresses=OWN, max_attachment_bytes=5000)


INCOMING = [
    IncomingCase(
        "gmail_reply_in_indonesian_quoted_printable",
        sample("gmail_reply_id.eml"),
        {
            "channel": ChannelName.EMAIL,
            "external_id": "CAHk3x9pQ7f+Zs1=abc123XYZ@mail.gmail.com",
            "sender": "budi.santoso@gmail.com",  # lower-cased
            "sender_name": "Budi Santoso",
            "subject": "Re: [ADU-2026-00042] Pengaduan Anda telah kami terima",
            "received_at": datetime(2026, 1, 12, 3, 40, 5, tzinfo=UTC),
            "thread_refs": ("out-42@bspji.go.id", "out-41@bspji.go.id"),
            "automatic": False,
            "text": "Selamat siang,\n\n"
            "Nama saya Budi Santoso. Nama pelanggan: PT Sumber Air Jaya.\n"
            "Masalahnya: hasil uji sampel air nomor 123/LAB/2026 belum kami terima,\n"
            "padahal sudah lewat 14 hari kerja. Mohon segera ditindaklanjuti.\n\n"
            "Terima kasih.",
            "attachments": (),
        },
    ),
    IncomingCase(
        "multipart_alternative_prefers_text_plain",
        sample("gmail_reply_en_alternative.eml"),
        {
            "sender_name": "Lim, Sarah",
            "text": "My name is Sarah Lim, the customer is CV Maju Bersama.\n"
            "The calibration certificate has the wrong serial number.",
            "attachments": (),  # the HTML alternative is not an attachment
            "received_at": datetime(2026, 1, 13, 1, 30, tzinfo=UTC),
        },
    ),
    IncomingCase(
        "outlook_windows_1252_reply_keeps_lists_and_perihal_lines",
        sample("outlook_reply_id_cp1252.eml"),
        {
            "text": "Dengan hormat,\n\n"
            "Kami sudah mengirim ulang formulir. Perihal: keterlambatan laporan uji “tahap II”.\n"
            "- sampel diterima 2 Januari\n"
            "- laporan dijanjikan 9 Januari\n\n"
            "Hormat kami,\n"
            "Rina",
            "thread_refs": ("out-44@bspji.go.id",),
        },
    ),
    IncomingCase(
        "html_only_base64_becomes_text_without_links_or_quotes",
        sample("outlook_reply_en_html_only.eml"),
        {
            "text": "The problem is that the invoice was charged twice. See the receipt."
            "\n\nRegards, Joko",
        },
        message=Check(lambda m: "http" not in m.text and "*" not in m.text, "free of links"),
    ),
    IncomingCase(
        "iso_8859_1_base64_and_rfc2047_headers",
        sample("latin1_base64.eml"),
        {
            "sender_name": "Andi Wijaya – Kec. Bandungan",
            "subject": "Keluhan pelayanan café",
            "text": "Saya ingin mengadukan pelayanan di kafetaria: café ditutup tanpa "
            "pemberitahuan.\nNama pelanggan: Koperasi Señor.",
        },
    ),
]


@named_cases(INCOMING)
def test_incoming(case: IncomingCase) -> None:
    check_incoming(case, parse_recorded)


def test_unknown_charset_is_decoded_with_replacement() -> None:
    msg = parse("unknown_charset.eml")
    assert msg.text.startswith("Jalan di RT 03 rusak parah ")
    assert "sejak bulan lalu." in msg.text
    assert "\ufffd" in msg.text
    json.dumps(msg.raw)
    msg.text.encode("utf-8")  # storable


def test_attachments_inline_image_and_oversized_file() -> None:
    msg = parse("attachments.eml", max_bytes=5000)
    assert msg.text == "Terlampir bukti pembayaran dan foto kwitansi."
    image, pdf, big = msg.attachments
    assert (image.filename, image.content_type) == ("attachment-1.png", "image/png")
    assert image.content.startswith(b"\x89PNG") and image.size == len(image.content)
    assert pdf.filename == "bukti bayar—Jan.pdf"  # RFC 2231 encoded name
    assert pdf.content_type == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.skipped_reason is None
    assert big.filename == "rekaman.bin"  # path components dropped
    assert big.content == b"" and big.size == 10240
    assert big.skipped_reason is not None and "10240" in big.skipped_reason


def test_attachment_limit_is_inclusive() -> None:
    msg = parse("attachments.eml", max_bytes=10240)
    assert msg.attachments[2].content == bytes(range(256)) * 40
    assert msg.attachments[2].skipped_reason is None


def test_missing_message_id_falls_back_to_a_stable_hash() -> None:
    first = parse("no_message_id.eml")
    assert first.external_id.startswith("sha256:") and len(first.external_id) == 7 + 64
    # A re-append (other line endings, a Received header added by the server) hashes the same.
    again = parse_email(
        b"Received: by mx.example.id; Sun, 18 Jan 2026 19:00:01 +0700\n"
        + sample("no_message_id.eml").replace(b"\r\n", b"\n"),
        own_addresses=OWN,
        max_attachment_bytes=5000,
    )
    assert again.external_id == first.external_id
    other = parse_email(
        sample("no_message_id.eml").replace(b"seminggu", b"dua minggu"),
        own_addresses=OWN,
        max_attachment_bytes=5000,
    )
    assert other.external_id != first.external_id


def test_thread_refs_in_reply_to_first_then_references_newest_first() -> None:
    raw = (
        b"From: a@example.id\r\nMessage-ID: <m4@example.id>\r\n"
        b"In-Reply-To: <m3@bspji.go.id> (Layanan Pengaduan's message)\r\n"
        b"References: <m1@bspji.go.id>\r\n <m2@example.id> <m3@bspji.go.id>\r\n\r\nok\r\n"
    )
    msg = parse_email(raw, own_addresses=OWN, max_attachment_bytes=10)
    assert msg.thread_refs == ("m3@bspji.go.id", "m2@example.id", "m1@bspji.go.id")


def test_raw_keeps_headers_size_and_a_copy_under_one_mebibyte() -> None:
    raw = sample("gmail_reply_id.eml")
    msg = parse("gmail_reply_id.eml")
    json.dumps(msg.raw)
    assert msg.raw["size"] == len(raw)
    assert base64.b64decode(msg.raw["rfc822_b64"]) == raw
    headers = dict((name, value) for name, value in msg.raw["headers"])
    assert headers["Message-ID"] == "<CAHk3x9pQ7f+Zs1=abc123XYZ@mail.gmail.com>"
    assert headers["Received"].startswith("from mail-sor-f41.google.com")

    big = raw + b"x" * RAW_COPY_MAX_BYTES
    huge = parse_email(big, own_addresses=OWN, max_attachment_bytes=10)
    assert "rfc822_b64" not in huge.raw and huge.raw["size"] == len(big)


def test_bad_or_missing_date_means_now() -> None:
    before = datetime.now(UTC)
    msg = parse_email(
        b"From: a@example.id\r\nDate: kemarin sore\r\n\r\nhalo\r\n",
        own_addresses=OWN,
        max_attachment_bytes=10,
    )
    assert before <= msg.received_at <= datetime.now(UTC)
    assert msg.received_at.tzinfo is not None
    assert msg.subject is None and msg.sender_name is None


def test_long_message_id_is_hashed_to_fit_the_column() -> None:
    long_id = "x" * 400 + "@example.id"
    msg = parse_email(
        f"From: a@example.id\r\nMessage-ID: <{long_id}>\r\n\r\nhalo\r\n".encode(),
        own_addresses=OWN,
        max_attachment_bytes=10,
    )
    assert msg.external_id.startswith("sha256:")


def test_eight_bit_utf8_headers_are_decoded() -> None:
    raw = "From: Ña Rahmawati <na@example.id>\r\nSubject: Keluhan café\r\n\r\nhalo\r\n".encode()
    msg = parse_email(raw, own_addresses=OWN, max_attachment_bytes=10)
    assert msg.subject == "Keluhan café"
    assert msg.sender_name == "Ña Rahmawati"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"this is not an email\n--- binary junk \xff ---\n", "no header fields"),
        (b"Subject: hi\r\nTo: x@example.id\r\n\r\nbody\r\n", "no From"),
        (b"From: Budi tanpa alamat\r\n\r\nbody\r\n", "From"),
        (b"From: <@@@>\r\n\r\nbody\r\n", "From"),
        (b"From: budi@localhost\r\n\r\nbody\r\n", "From address"),
    ],
)
def test_not_an_email_raises_inbound_parse_error(raw: bytes, reason: str) -> None:
    with pytest.raises(InboundParseError, match=reason):
        parse_email(raw, own_addresses=OWN, max_attachment_bytes=10)


def test_non_bytes_payload_is_refused() -> None:
    with pytest.raises(InboundParseError, match="bytes"):
        parse_email("From: a@example.id\r\n\r\nx", own_addresses=OWN, max_attachment_bytes=10)  # type: ignore[arg-type]


def test_forwarded_message_attachment_is_kept_as_eml() -> None:
    inner = b"From: x@example.id\r\nSubject: asli\r\n\r\nisi asli\r\n"
    raw = (
        b"From: a@example.id\r\nMessage-ID: <fw@example.id>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nLihat surat terlampir.\r\n--b\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n"
    )
    msg = parse_email(raw, own_addresses=OWN, max_attachment_bytes=10_000)
    assert msg.text == "Lihat surat terlampir."
    (att,) = msg.attachments
    assert att.content_type == "message/rfc822" and att.filename.endswith(".eml")
    assert b"isi asli" in att.content
