"""Property tests of the email parser (``channels.email.parse.parse_email``).

For arbitrary bytes and for structured but hostile mails — huge headers, bad
encodings, NUL, lone surrogates in encoded words, deep multipart nesting, long
content types, bad dates, garbage ``Authentication-Results`` — ``parse_email``
raises nothing but :class:`InboundParseError`, and what it returns is storable
as it is: every string without NUL or lone surrogate, within its column of
:mod:`storage.models`, ``raw`` valid JSON. The hostile examples are also
stored through ingest on SQLite and PostgreSQL.

Derandomised with a bounded number of examples: the same cases run on every
machine, in a few seconds.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import String, func, select

from channels.base import InboundMessage
from channels.email.parse import parse_email
from channels.errors import InboundParseError
from gateway.ingest import store_inbound
from storage.db import SessionFactory
from storage.models import Attachment, Message
from tests.fuzz.strategies import FUZZ

MAX_BODY = 2_000
TRUSTED = "mx.bspji.go.id"


def length(column: Any) -> int:
    kind = column.property.columns[0].type
    assert isinstance(kind, String) and kind.length is not None
    return int(kind.length)


def parse(raw: bytes) -> InboundMessage | None:
    """``parse_email`` with small limits; None when it refused the bytes as not an email."""
    try:
        return parse_email(
            raw,
            own_addresses=("pengaduan@bspji.go.id",),
            max_attachment_bytes=5_000,
            max_body_chars=MAX_BODY,
            trusted_authserv_id=TRUSTED,
        )
    except InboundParseError:
        return None


def storable_text(value: str, limit: int | None = None) -> None:
    assert "\x00" not in value, value[:80]
    value.encode("utf-8")  # raises on a lone surrogate
    if limit is not None:
        assert len(value) <= limit, (len(value), limit)


def walk(value: Any) -> None:
    if isinstance(value, str):
        storable_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            storable_text(key)
            walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            walk(item)
    else:
        assert value is None or isinstance(value, bool | int | float), type(value)


def assert_storable(message: InboundMessage) -> None:
    storable_text(message.external_id, length(Message.external_id))
    assert message.external_id
    storable_text(message.sender, length(Message.sender))
    if message.sender_name is not None:
        storable_text(message.sender_name, length(Message.sender_name))
    if message.subject is not None:
        storable_text(message.subject, length(Message.subject))
    storable_text(message.text, MAX_BODY)
    for ref in message.thread_refs:
        storable_text(ref, length(Message.external_id))
    for item in message.attachments:
        storable_text(item.filename, length(Attachment.filename))
        storable_text(item.content_type, length(Attachment.content_type))
        if item.skipped_reason is not None:
            storable_text(item.skipped_reason, length(Attachment.skipped_reason))
        assert isinstance(item.content, bytes) and item.size >= len(item.content)
    walk(dict(message.raw))
    json.dumps(dict(message.raw), ensure_ascii=False).encode("utf-8")
    assert message.received_at.tzinfo is not None
    assert message.received_at.utcoffset() == UTC.utcoffset(None)


# -- arbitrary bytes -----------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=4_000))
def test_arbitrary_bytes_parse_or_are_refused(raw: bytes) -> None:
    message = parse(raw)
    if message is not None:
        assert_storable(message)


@FUZZ
@given(st.binary(max_size=2_000))
def test_bytes_after_a_valid_head_parse_or_are_refused(tail: bytes) -> None:
    message = parse(b"From: budi@example.com\r\n" + tail)
    if message is not None:
        assert_storable(message)


# -- structured but hostile mails ------------------------------------------------------

NASTY_CHARS = st.sampled_from(
    ["\x00", "\ud800", "\udcff", "\ufffd", "é", "\u202e", "\r", "\n", ";", '"', "(", "=?", "?="]
)
TEXT = st.lists(st.one_of(st.text(max_size=40), NASTY_CHARS), max_size=12).map("".join)


def encoded_word(payload: bytes, charset: str, kind: str) -> str:
    if kind == "b":
        data = base64.b64encode(payload).decode("ascii")
    else:
        data = "".join(f"={b:02X}" for b in payload)
    return f"=?{charset}?{kind}?{data}?="


ENCODED_WORD = st.builds(
    encoded_word,
    st.one_of(
        st.binary(max_size=30),
        st.just("\ud800".encode("utf-8", "surrogatepass")),  # a lone surrogate in UTF-8 form
        st.just(b"\x00nul\x00"),
    ),
    st.sampled_from(["utf-8", "iso-8859-1", "x-unknown", "utf-7", "bogus charset", ""]),
    st.sampled_from(["b", "q", "x"]),
)
HEADER_VALUE = st.one_of(
    TEXT,
    ENCODED_WORD,
    st.lists(st.one_of(TEXT, ENCODED_WORD), max_size=5).map(" ".join),
    st.integers(min_value=300, max_value=20_000).map(lambda n: "x" * n),  # a huge header
)
FROM = st.one_of(
    st.just("Budi Santoso <budi@example.com>"),
    st.builds(lambda v: f"{v} <budi@example.com>", HEADER_VALUE),
    st.builds(lambda v: f"{v}@example.com", TEXT),
    HEADER_VALUE,
)
DATE = st.one_of(
    st.just("Fri, 04 Dec 2026 10:00:00 +0700"),
    st.just("Mon, 99 Foo 99999 99:99:99 +9999"),
    st.just("Tue, 1 Jan 0001 00:00:00 -2359"),
    st.just("Fri, 31 Dec 9999 23:59:59 +0000"),
    HEADER_VALUE,
)
CONTENT_TYPE = st.one_of(
    st.sampled_from(["text/plain", "text/html", "application/pdf", "message/rfc822", "image/png"]),
    st.builds(lambda n: "application/x-" + "a" * n, st.integers(150, 400)),
    st.builds(lambda v: f"{v}/{v}", TEXT),
    TEXT,
)
ENCODING = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "bogus"])
BODY = st.one_of(st.binary(max_size=400), TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))


def header(name: str, value: str) -> bytes:
    return f"{name}: {value}\r\n".encode("utf-8", "surrogatepass")


@st.composite
def part(draw: st.DrawFn, depth: int) -> bytes:
    """A MIME part, multipart up to ``depth`` levels deep."""
    if depth > 0 and draw(st.booleans()):
        boundary = f"b{depth}"
        children = draw(st.lists(part(depth - 1), min_size=1, max_size=3))
        head = header(
            "Content-Type",
            f'multipart/{draw(st.sampled_from(["mixed", "alternative", "related"]))}; boundary="{boundary}"',
        )
        inner = b"".join(b"--" + boundary.encode() + b"\r\n" + c + b"\r\n" for c in children)
        return head + b"\r\n" + inner + b"--" + boundary.encode() + b"--\r\n"
    head = header(
        "Content-Type",
        draw(CONTENT_TYPE)
        + "; charset="
        + draw(st.sampled_from(["utf-8", "latin-1", "bogus", "utf-16"])),
    )
    head += header("Content-Transfer-Encoding", draw(ENCODING))
    if draw(st.booleans()):
        head += header("Content-Disposition", f'attachment; filename="{draw(HEADER_VALUE)}"')
    return head + b"\r\n" + draw(BODY)


@st.composite
def hostile_mail(draw: st.DrawFn) -> bytes:
    headers = header("From", draw(FROM))
    for name in ("Subject", "Message-ID", "In-Reply-To", "References", "To"):
        if draw(st.booleans()):
            headers += header(name, draw(HEADER_VALUE))
    headers += header("Date", draw(DATE))
    for _ in range(draw(st.integers(0, 2))):
        headers += header(
            "Authentication-Results",
            draw(st.one_of(HEADER_VALUE, st.just(f"{TRUSTED}; dmarc=fail"))),
        )
    if draw(st.booleans()):
        headers += header("Auto-Submitted", draw(HEADER_VALUE))
    return headers + draw(part(depth=draw(st.integers(0, 4))))


@FUZZ
@given(hostile_mail())
def test_hostile_mail_parses_into_storable_values_or_is_refused(raw: bytes) -> None:
    message = parse(raw)
    if message is not None:
        assert_storable(message)


@pytest.mark.parametrize("depth", [50, 400])
def test_deep_multipart_nesting_parses_or_is_refused(depth: int) -> None:
    raw = b"From: budi@example.com\r\nSubject: dalam\r\n"
    for level in range(depth):
        raw += f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode()
    raw += b"Content-Type: text/plain\r\n\r\nisi\r\n"
    message = parse(raw)
    if message is not None:
        assert_storable(message)


# -- stored as they are ------------------------------------------------------------------

HOSTILE = [
    (
        "From: =?utf-8?b?"
        + base64.b64encode("\ud800".encode("utf-8", "surrogatepass")).decode()
        + "?= <budi@example.com>\r\nSubject: nul\x00 =?x-unknown?q?=00=FF?=\r\n"
        "Message-ID: <nul\x00id@example.com>\r\nDate: Mon, 99 Foo 99999\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        "teks\x00 dengan NUL\r\n--b\r\nContent-Type: application/x-" + "a" * 300 + "\x00\r\n"
        'Content-Disposition: attachment; filename="'
        + "n" * 400
        + '\x00.pdf"\r\n\r\nisi\r\n--b--\r\n'
    ).encode("utf-8", "surrogatepass"),
    b"From: budi@example.com\r\nSubject: "
    + b"\xff\xfe" * 2000
    + b"\r\nX-Long: "
    + b"y" * 50_000
    + b"\r\nContent-Type: text/html; charset=bogus\r\n\r\n<p>\xed\xa0\x80 \x00</p>",
]


async def test_hostile_mail_is_stored_as_parsed(any_sessions: SessionFactory) -> None:
    for index, raw in enumerate(HOSTILE):
        message = parse(raw)
        assert message is not None, index
        assert_storable(message)
        async with any_sessions() as session, session.begin():
            await store_inbound(session, message)
    async with any_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == len(HOSTILE)
