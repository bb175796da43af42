"""An IMAP mailbox in memory for the email tests, and the mails they put in it.

:class:`MemoryMailbox` speaks the interface the poller uses of an IMAP
connection (EXAMINE, UID SEARCH, BODY.PEEK[] fetch, close);
:class:`MemoryPoller` is the real :class:`channels.email.imap.ImapPoller`
connected to one. ``tests/email/test_end_to_end.py`` runs the same poller on a
real Dovecot.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from channels.email.config import EmailConfig
from channels.email.imap import ImapPoller
from channels.email.imap_client import MailboxState

LONG_TYPE = "application/x-" + "laporan-hasil-uji-" * 17  # 320 characters


def mail_date(minutes_ago: float = 5) -> str:
    """A Date header ``minutes_ago`` before now (never a fixed date)."""
    return format_datetime(datetime.now(UTC) - timedelta(minutes=minutes_ago))


def with_attachment(message_id: str, content_type: str, sender: str = "sari@example.com") -> bytes:
    """A complaint with one attachment of ``content_type`` (raw RFC 5322, CRLF)."""
    return (
        f"From: Sari Wulandari <{sender}>\r\n"
        "To: pengaduan@bspji.go.id\r\n"
        "Subject: Keluhan sertifikat kalibrasi\r\n"
        f"Message-ID: <{message_id}>\r\n"
        f"Date: {mail_date()}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Sertifikat kalibrasi timbangan kami belum terbit sejak bulan lalu.\r\n"
        "--b1\r\n"
        f"Content-Type: {content_type}\r\n"
        'Content-Disposition: attachment; filename="bukti.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "JVBERi0xLjQK\r\n"
        "--b1--\r\n"
    ).encode("utf-8", "surrogateescape")


def plain(message_id: str, sender: str = "budi@example.com", text: str | None = None) -> bytes:
    """A normal complaint mail."""
    body = text or "Saya mau komplain, laporan hasil uji kami terlambat dua minggu"
    return (
        f"From: Budi Santoso <{sender}>\r\n"
        "To: pengaduan@bspji.go.id\r\n"
        "Subject: Keluhan laporan hasil uji\r\n"
        f"Message-ID: <{message_id}>\r\n"
        f"Date: {mail_date()}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


class MemoryMailbox:
    """An IMAP mailbox in memory with the interface the poller uses (EXAMINE, UID SEARCH,
    BODY.PEEK[] fetch, close); UIDs from 1, one UIDVALIDITY."""

    supports_idle = False

    def __init__(self) -> None:
        self.mail: dict[int, bytes] = {}
        self._uids = itertools.count(1)

    def append(self, raw: bytes) -> int:
        uid = next(self._uids)
        self.mail[uid] = raw
        return uid

    async def examine(self, mailbox: str) -> MailboxState:
        return MailboxState(
            uidvalidity=7, uidnext=max(self.mail, default=0) + 1, exists=len(self.mail)
        )

    async def uids_after(self, last_uid: int) -> list[int]:
        return sorted(uid for uid in self.mail if uid > last_uid)

    async def fetch(self, uid: int) -> bytes | None:
        return self.mail.get(uid)

    async def close(self) -> None:
        return None


class MemoryPoller(ImapPoller):
    """The real poller, connected to a :class:`MemoryMailbox`."""

    def __init__(self, box: MemoryMailbox, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.box = box

    async def _connect(self) -> Any:
        return self.box


CONFIG = EmailConfig(
    imap_host="imap.bspji.test",
    imap_user="pengaduan@bspji.go.id",
    imap_password="rahasia",
    email_from="pengaduan@bspji.go.id",
    attachment_max_bytes=100_000,
)
