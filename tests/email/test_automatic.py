"""Machine-sent mail is recognised and never answered (docs/channels.md, "Email")."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from channels.email.automatic import is_automatic, own_address_set
from channels.email.parse import parse_email
from tests.email.conftest import EMAIL_FROM, sample

OWN = [EMAIL_FROM]


def reason_for(name: str) -> str | None:
    msg = BytesParser(policy=policy.default).parsebytes(sample(name))
    return is_automatic(msg, OWN)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_replied.eml", "Auto-Submitted: auto-replied"),
        ("precedence_bulk.eml", "Precedence: bulk"),
        ("list_id.eml", "List-Id present"),
        ("dsn_bounce.eml", "Auto-Submitted: auto-replied"),
        ("dsn_report_only.eml", "delivery report (multipart/report)"),
        ("own_address.eml", "from our own address"),
    ],
)
def test_recorded_automatic_messages(name: str, reason: str) -> None:
    assert reason_for(name) == reason
    parsed = parse_email(sample(name), own_addresses=OWN, max_attachment_bytes=100)
    assert parsed.automatic
    assert parsed.raw["automatic_reason"] == reason


@pytest.mark.parametrize(
    "name",
    ["auto_submitted_no.eml", "gmail_reply_id.eml", "outlook_reply_id_cp1252.eml"],
)
def test_messages_from_people_are_not_automatic(name: str) -> None:
    assert reason_for(name) is None
    parsed = parse_email(sample(name), own_addresses=OWN, max_attachment_bytes=100)
    assert not parsed.automatic
    assert "automatic_reason" not in parsed.raw


def headers(*lines: str, content_type: str = "text/plain") -> bytes:
    head = "\r\n".join(("From: Warga <warga@example.id>", *lines))
    return f"{head}\r\nContent-Type: {content_type}\r\n\r\nisi\r\n".encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (headers("Auto-Submitted: auto-generated"), "Auto-Submitted: auto-generated"),
        (
            headers("Auto-Submitted: Auto-Replied; owner-email=x@y.id"),
            "Auto-Submitted: auto-replied",
        ),
        (headers("Auto-Submitted: no"), None),
        (headers("Auto-Submitted: No (a person)"), None),
        (headers("Precedence: list"), "Precedence: list"),
        (headers("Precedence: junk"), "Precedence: junk"),
        (headers("Precedence: auto_reply"), "Precedence: auto_reply"),
        (headers("Precedence: first-class"), None),
        (headers("List-Unsubscribe: <mailto:leave@lists.example.org>"), "List-Unsubscribe present"),
        (headers("X-Autoreply: yes"), "X-Autoreply present"),
        (headers("X-Autorespond: Saya sedang cuti"), "X-Autorespond present"),
        (headers("Return-Path: <>"), "null Return-Path (bounce)"),
        (
            headers(content_type="message/delivery-status"),
            "delivery report (message/delivery-status)",
        ),
        (
            headers(content_type='multipart/report; report-type="disposition-notification"'),
            "delivery report (multipart/report)",
        ),
    ],
)
def test_each_rule(raw: bytes, reason: str | None) -> None:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert is_automatic(msg, OWN) == reason


def test_mailer_daemon_and_postmaster_senders() -> None:
    for sender in ("MAILER-DAEMON@mx.example.id", "Postmaster@relay.example.net"):
        raw = f"From: {sender}\r\nSubject: x\r\n\r\nx\r\n".encode()
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        assert is_automatic(msg, OWN) == f"delivery report (From {sender.lower()})"


def test_own_address_match_ignores_case_and_display_name() -> None:
    assert own_address_set([EMAIL_FROM, "other@Example.ID", ""]) == {
        "pengaduan@bspji.go.id",
        "other@example.id",
    }
    raw = b"From: =?utf-8?q?Layanan?= <PENGADUAN@bspji.go.id>\r\n\r\nx\r\n"
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert is_automatic(msg, ["pengaduan@bspji.go.id"]) == "from our own address"
    assert is_automatic(msg, []) is None
