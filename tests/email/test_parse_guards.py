"""What the email parser guards: storable values, long bodies, Authentication-Results."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.email.authresults import AuthResults, failure, parse_header, trusted_results
from channels.email.parse import (
    BODY_FILENAME,
    RAW_HEADER_MAX_CHARS,
    RAW_HEADERS_MAX_CHARS,
    authentication_failure,
    parse_email,
)
from gateway.channel_configs import email_config
from storage.models import Attachment, Complaint, Message
from tests.email.memory_mailbox import mail_date
from tests.inbox.conftest import Site
from tests.inbox.conftest import site as site  # the served staff site (a fixture)

TRACKING = re.compile(r"ADU-\d{4}-\d{5}")
LINE = "Log mesin uji tarik: beban 1200 N, regangan 0,4 %, operator Andi.\n"
TRUSTED = "mx.bspji.go.id"


def long_complaint(lines: int, *, html: bool = False) -> bytes:
    """A complete complaint from Budi whose body goes on with ``lines`` log lines (base64)."""
    opening = "Nama pelanggan: PT Sinar Jaya\nBerikut log mesin uji tarik kami sebagai bukti.\n"
    body = opening + LINE * lines
    if html:
        body = "<html><body><p>" + body.replace("\n", "<br>") + "</p></body></html>"
    encoded = base64.encodebytes(body.encode("utf-8")).decode("ascii").replace("\n", "\r\n")
    return (
        "From: Budi Santoso <budi@example.com>\r\n"
        "To: pengaduan@bspji.go.id\r\n"
        "Subject: Keluhan laporan hasil uji\r\n"
        "Message-ID: <long-body@example.com>\r\n"
        f"Date: {mail_date()}\r\n"
        f"Content-Type: text/{'html' if html else 'plain'}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" + encoded
    ).encode("ascii")


def test_a_multi_megabyte_body_is_cut_and_kept_whole_as_an_attachment() -> None:
    raw = long_complaint(80_000)  # about 5.4 MB of text
    message = parse_email(
        raw, own_addresses=(), max_attachment_bytes=10 * 1024 * 1024, max_body_chars=100_000
    )
    assert len(message.text) <= 100_000
    assert message.text.startswith("Nama pelanggan: PT Sinar Jaya")
    [whole] = message.attachments
    assert whole.filename == BODY_FILENAME + ".txt" and whole.content_type == "text/plain"
    assert whole.size > 5_000_000 and whole.content.decode("utf-8").endswith(LINE)
    assert message.raw["body_cut"] == {"chars": len(whole.content.decode()), "kept": 100_000}


def test_a_body_larger_than_the_attachment_limit_is_noted_not_stored() -> None:
    message = parse_email(
        long_complaint(20_000, html=True),
        own_addresses=(),
        max_attachment_bytes=100_000,
        max_body_chars=5_000,
    )
    assert len(message.text) <= 5_000 and "PT Sinar Jaya" in message.text
    [whole] = message.attachments
    assert whole.filename == BODY_FILENAME + ".html" and whole.content == b""
    assert whole.skipped_reason is not None and whole.skipped_reason.startswith("too large")


def test_a_body_within_the_limit_is_left_alone() -> None:
    message = parse_email(long_complaint(10), own_addresses=(), max_attachment_bytes=1000)
    assert message.attachments == () and "body_cut" not in message.raw
    assert message.text.rstrip().endswith(LINE.strip())


async def test_the_staff_page_of_a_complaint_sent_with_a_huge_body_stays_small(site: Site) -> None:
    config = email_config(site.h.runtime.settings)
    assert config.max_body_chars == 100_000  # the documented default
    message = parse_email(
        long_complaint(80_000),
        own_addresses=(),
        max_attachment_bytes=config.attachment_max_bytes,
        max_body_chars=config.max_body_chars,
    )
    await site.h.runtime.accept(message)
    await site.h.settle()
    async with site.h.runtime.sessions() as s:
        ours = await s.scalar(select(Message.external_id).where(Message.direction == "out"))
    assert ours is not None
    # The bot asked for the problem; Budi answers it on the thread.
    answer = (
        "From: Budi Santoso <budi@example.com>\r\n"
        "Subject: Re: Keluhan laporan hasil uji\r\n"
        "Message-ID: <answer@example.com>\r\n"
        f"In-Reply-To: <{ours}>\r\n"
        f"Date: {mail_date(1)}\r\n"
        "\r\n"
        "Masalah yang diadukan: laporan hasil uji tarik kami terlambat dua minggu\r\n"
    ).encode()
    await site.h.runtime.accept(parse_email(answer, own_addresses=(), max_attachment_bytes=1000))
    await site.h.settle()
    async with site.h.runtime.sessions() as s:
        [complaint] = list(await s.scalars(select(Complaint)))
        stored = await s.scalar(
            select(Message).where(Message.external_id == "long-body@example.com")
        )
        [kept] = list(await s.scalars(select(Attachment)))
    assert stored is not None
    assert len(stored.text) <= 100_000 and kept.size > 5_000_000
    assert TRACKING.fullmatch(complaint.tracking_number)

    assert (await site.sign_in("sri")).status == 303
    page = await site.client.get(f"/inbox/complaints/{complaint.tracking_number}")
    assert page.status == 200
    html = await page.read()
    assert len(html) < 1_000_000
    assert f"/inbox/attachments/{kept.id}".encode() in html
    assert (BODY_FILENAME + ".txt").encode() in html


def test_huge_headers_are_kept_within_their_budget() -> None:
    raw = (
        "From: Budi Santoso <budi@example.com>\r\n"
        + "".join(f"X-Trace-{i}: {'t' * 3000}\r\n" for i in range(60))
        + "Subject: "
        + "keluhan " * 10_000
        + "\r\n\r\nisi\r\n"
    ).encode()
    message = parse_email(raw, own_addresses=(), max_attachment_bytes=1000)
    headers = message.raw["headers"]
    assert message.raw["headers_cut"] is True
    assert sum(len(k) + len(v) for k, v in headers) <= RAW_HEADERS_MAX_CHARS
    assert all(len(v) <= RAW_HEADER_MAX_CHARS for _k, v in headers)
    assert message.subject is not None and len(message.subject) == 500
    assert base64.b64decode(message.raw["rfc822_b64"]) == raw  # the original, whole


# -- Authentication-Results (RFC 8601) ---------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "mx.bspji.go.id; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com",
            AuthResults("mx.bspji.go.id", {"spf": ("pass",), "dkim": ("pass",)}),
        ),
        (  # RFC 8601 appendix B.6 shape: a version, comments, several dkim results
            "MX.BSPJI.GO.ID 1; dkim=pass (good signature) header.d=example.com;"
            " dkim=fail (bad signature) header.d=example.net; dmarc = fail (p=reject)"
            ' header.from=example.com; auth=pass (cram-md5) smtp.auth="budi;x"',
            AuthResults(
                "mx.bspji.go.id",
                {"dkim": ("pass", "fail"), "dmarc": ("fail",), "auth": ("pass",)},
            ),
        ),
        ("mx.bspji.go.id; none", AuthResults("mx.bspji.go.id", {})),
        (
            '"mx.bspji.go.id" (a (nested) comment); spf/1=softfail',
            AuthResults("mx.bspji.go.id", {"spf": ("softfail",)}),
        ),
        ("; spf=fail", None),
        ("", None),
    ],
)
def test_authentication_results_are_read(header: str, expected: AuthResults | None) -> None:
    assert parse_header(header) == expected


def test_only_the_topmost_header_of_the_trusted_server_counts() -> None:
    headers = [
        "mx.other.example; dmarc=pass",
        f"{TRUSTED}; spf=pass; dmarc=pass",
        f"{TRUSTED}; spf=fail; dmarc=fail",  # lower: written before our server saw it
    ]
    found = trusted_results(headers, "MX.BSPJI.GO.ID")
    assert found is not None and found.results["dmarc"] == ("pass",)
    assert trusted_results(headers[:1], TRUSTED) is None


@pytest.mark.parametrize(
    ("results", "reason"),
    [
        ({"spf": ("fail",), "dmarc": ("fail",)}, "spf=fail, dmarc=fail"),
        ({"dmarc": ("fail",)}, "dmarc=fail"),
        ({"spf": ("fail",)}, "spf=fail"),
        ({"spf": ("fail",), "dmarc": ("pass",)}, None),  # forwarded, From authenticated by DKIM
        ({"spf": ("softfail",), "dmarc": ("none",)}, None),
        ({"spf": ("temperror",), "dmarc": ("permerror",)}, None),
    ],
)
def test_which_results_fail(results: dict[str, tuple[str, ...]], reason: str | None) -> None:
    assert failure(AuthResults(TRUSTED, results)) == reason


def forged(*results: str) -> bytes:
    headers = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    return (
        headers + "From: Budi Santoso <budi@example.com>\r\n"
        "Subject: 5\r\n"
        "Message-ID: <rating@example.com>\r\n"
        "\r\n5\r\n"
    ).encode()


def test_the_parser_records_the_trusted_results_and_ignores_others() -> None:
    raw = forged("mx.evil.example; dmarc=fail", f"{TRUSTED}; dmarc=fail header.from=example.com")
    message = parse_email(
        raw, own_addresses=(), max_attachment_bytes=1000, trusted_authserv_id=TRUSTED
    )
    assert message.raw["authentication"] == {
        "authserv_id": TRUSTED,
        "results": {"dmarc": ["fail"]},
        "failed": "dmarc=fail",
    }
    assert authentication_failure(message) == f"authentication failed at {TRUSTED}: dmarc=fail"

    untrusted = parse_email(
        forged("mx.evil.example; dmarc=fail"),
        own_addresses=(),
        max_attachment_bytes=1000,
        trusted_authserv_id=TRUSTED,
    )
    assert "authentication" not in untrusted.raw and authentication_failure(untrusted) is None
    unset = parse_email(raw, own_addresses=(), max_attachment_bytes=1000)
    assert "authentication" not in unset.raw


def test_settings_validate_the_new_email_settings(tmp_path: Path) -> None:
    from gateway.config import ConfigError, load_settings

    for name, value in (
        ("imap_trusted_authserv_id", "mx.bspji.go.id; spf=pass"),
        ("email_max_body_chars", 10),
        ("reply_cap_per_hour", -1),
    ):
        with pytest.raises(ConfigError, match=f"ADUAN_{name.upper()}"):
            load_settings(data_dir=tmp_path, **{name: value})
    settings = load_settings(data_dir=tmp_path, imap_trusted_authserv_id="mx.bspji.go.id")
    config = email_config(settings)
    assert config.trusted_authserv_id == "mx.bspji.go.id"
    assert config.max_body_chars == 100_000 and settings.reply_cap_per_hour == 10
