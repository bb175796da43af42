"""Parsing fast enough for batch intake, with results equal to the plain email package's.

``parse_email`` parses each header once and reads plain headers without the
header parser (channels/email/parse.py, ``_MemoPolicy``); these tests parse
every recorded mail and a set of awkward headers both ways and compare.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email import policy

import pytest

import channels.email.parse as parse_module
from channels.base import InboundMessage
from channels.email.parse import parse_email
from tests.email.conftest import DATA, sample

FROMS = [
    "Budi Santoso <budi@example.com>",
    "budi@example.com",
    "H. Abdul Rahman <abdul.rahman@mail.ugm.ac.id>",
    '"Santoso, Budi" <budi@example.com>',
    "=?utf-8?q?Sri_Rahay=C3=BA?= <sri@example.com>",
    "budi@example.com (Budi Santoso)",
    "Budi <budi@example.com>, Sari <sari@example.com>",
    "undisclosed-recipients:;",
    "Nur'aini <nur.aini@example.co.id>",
    "  Budi   Santoso   <budi@example.com>  ",
]


def both_ways(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    def run() -> object:
        try:
            message = parse_email(raw, own_addresses=["pengaduan@bspji.go.id"])
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        if isinstance(message, InboundMessage) and "Date" not in raw.decode("latin-1"):
            return dataclasses.replace(message, received_at=datetime(2000, 1, 1, tzinfo=UTC))
        return message

    fast = run()
    with monkeypatch.context() as m:
        m.setattr(parse_module, "_POLICY", policy.default)
        plain = run()
    return fast, plain


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.eml")))
def test_recorded_mail_parses_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, plain = both_ways(sample(name), monkeypatch)
    assert fast == plain


@pytest.mark.parametrize("sender", FROMS)
def test_from_headers_parse_the_same(sender: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = (
        f"From: {sender}\r\n"
        "To: pengaduan@bspji.go.id\r\n"
        "Subject: Keluhan   laporan\r\n\thasil uji\r\n"
        "Message-ID: <m1@example.com>\r\n"
        "In-Reply-To: <x@bspji.go.id>\r\n"
        "References: <a@b> <x@bspji.go.id>\r\n"
        "Date: Mon, 3 Mar 2025 09:15:00 +0700\r\n"
        "\r\n"
        "Laporan hasil uji kami terlambat.\r\n"
    ).encode()
    fast, plain = both_ways(raw, monkeypatch)
    assert fast == plain
