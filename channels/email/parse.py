"""Turn the bytes of one RFC 5322 message into an :class:`InboundMessage` (pure, no I/O).

Sources: DESIGN.md reliability rules 2 (dedupe on ``Message-ID``, a header hash
when absent), 5 (unparseable mail is quarantined by the caller: this module
raises :class:`InboundParseError`) and 6 (automatic mail), and "Channel facts:
Email" (threading headers, quoted text stripped).
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from channels.base import Attachment, ChannelName, InboundMessage
from channels.email.automatic import is_automatic
from channels.email.html import html_to_text
from channels.email.quotes import strip_quotes
from channels.errors import InboundParseError
from gateway.addresses import AddressError, normalise_email

__all__ = ["RAW_COPY_MAX_BYTES", "parse_email"]

#: Messages smaller than this keep a base64 copy of their bytes in ``raw``.
RAW_COPY_MAX_BYTES = 1024 * 1024

# Column limits of ``messages`` / ``attachments`` (storage/models.py): values are
# cut to fit so that a long header never makes a message impossible to store
# (which would block the mailbox, rule 5).
_MAX_EXTERNAL_ID = 255
_MAX_SENDER = 320
_MAX_SENDER_NAME = 200
_MAX_SUBJECT = 500
_MAX_FILENAME = 300
_MAX_THREAD_REFS = 100

_MSG_ID = re.compile(r"<([^<>\s]+)>")
_WS = re.compile(r"\s+")
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f]")
_NOT_ATTACHMENT_TYPES = frozenset(
    {"message/delivery-status", "message/disposition-notification", "text/rfc822-headers"}
)


def _clean(value: str) -> str:
    """Make header/text strings storable: undo surrogate escapes as UTF-8 (with replacement)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value.replace("\x00", "")


def _one_line(value: str) -> str:
    return _WS.sub(" ", _clean(value)).strip()


def _header(msg: Message, name: str) -> str | None:
    """Decoded header value (RFC 2047 decoded), or ``None``; falls back to the raw value."""
    try:
        value = msg.get(name)
    except Exception:  # the email package may choke on a malformed header
        value = _raw_header(msg, name)
    if value is None:
        return None
    try:
        text = str(value)
    except Exception:
        text = _raw_header(msg, name) or ""
    return _one_line(text)


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _sender(msg: Message) -> tuple[str, str | None]:
    """Normalised From address and decoded display name; raises InboundParseError."""
    try:
        header: Any = msg.get("From")
    except Exception as exc:
        raise InboundParseError(f"unparseable From header: {exc}") from None
    if header is None:
        raise InboundParseError("not an email: no From header")
    pairs: list[tuple[str, str]] = []
    try:
        pairs = [(a.display_name, a.addr_spec) for a in header.addresses]
    except Exception:  # fall back to the lenient parser
        pairs = getaddresses([str(header)])
    pairs = [(name, addr) for name, addr in pairs if addr and "@" in addr]
    if not pairs:
        raise InboundParseError(f"unparseable From header: {_one_line(str(header))[:200]!r}")
    name, addr = pairs[0]
    try:
        sender = normalise_email(_clean(addr))
    except AddressError as exc:
        raise InboundParseError(f"unparseable From address: {exc}") from None
    if len(sender) > _MAX_SENDER:
        raise InboundParseError(f"From address longer than {_MAX_SENDER} characters")
    display = _one_line(name or "").strip('"').strip()
    return sender, (display[:_MAX_SENDER_NAME] or None)


def _message_ids(value: str | None) -> list[str]:
    """Ids in a Message-ID / In-Reply-To / References value, brackets stripped."""
    if not value:
        return []
    found = _MSG_ID.findall(value)
    if found:
        return [_clean(v) for v in found]
    bare = value.strip()
    return [bare] if bare and " " not in bare and "@" in bare else []


def _body_bytes(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        _head, found, body = raw.partition(sep)
        if found:
            return body.replace(b"\r\n", b"\n").rstrip()
    return b""


def _fallback_id(msg: Message, raw: bytes) -> str:
    """``sha256:<hex>`` of From, To, Date, Subject and the body (rule 2's fallback)."""
    digest = hashlib.sha256()
    for name in ("From", "To", "Date", "Subject"):
        digest.update(_one_line(_raw_header(msg, name) or "").encode("utf-8"))
        digest.update(b"\x00")
    digest.update(_body_bytes(raw))
    return "sha256:" + digest.hexdigest()


def _external_id(msg: Message, raw: bytes) -> str:
    ids = _message_ids(_header(msg, "Message-ID"))
    if not ids:
        return _fallback_id(msg, raw)
    found = ids[0]
    if len(found) > _MAX_EXTERNAL_ID:
        return "sha256:" + hashlib.sha256(found.encode("utf-8")).hexdigest()
    return found


def _thread_refs(msg: Message) -> tuple[str, ...]:
    refs = _message_ids(_header(msg, "In-Reply-To"))
    refs += list(reversed(_message_ids(_header(msg, "References"))))
    seen: dict[str, None] = {}
    for ref in refs:
        if len(ref) <= _MAX_EXTERNAL_ID:
            seen.setdefault(ref, None)
    return tuple(seen)[:_MAX_THREAD_REFS]


def _received_at(msg: Message) -> datetime:
    value = _header(msg, "Date")
    if value:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            try:
                return parsed.astimezone(UTC)
            except (OverflowError, ValueError):
                pass
    return datetime.now(UTC)


def _decode_payload(part: Message) -> str:
    """Text of a ``text/*`` part: transfer encoding undone, charset decoded leniently."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = (part.get_content_charset() or "").strip().lower()
    if charset in ("", "us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("windows-1252", "replace")
    if charset in ("iso-8859-1", "latin-1", "latin1", "iso8859-1"):
        charset = "windows-1252"  # what every mail client really means (WHATWG encoding spec)
    try:
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):  # unknown or malformed charset name
        return payload.decode("utf-8", "replace")


def _body_part(msg: EmailMessage) -> MIMEPart | None:
    try:
        plain = msg.get_body(preferencelist=("plain",))
        if plain is not None and _decode_payload(plain).strip():
            return plain
        return msg.get_body(preferencelist=("html", "plain"))
    except Exception:  # malformed MIME structure: no readable body
        return None


def _text(part: MIMEPart | None) -> str:
    if part is None:
        return ""
    content = _clean(_decode_payload(part))
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return strip_quotes(content)


def _leaves(part: Message) -> Iterator[Message]:
    """Leaf parts in order; ``message/*`` parts are leaves (not descended into)."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _leaves(sub)
    else:
        yield part


def _filename(part: Message, index: int, content_type: str) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        name = _UNSAFE_FILENAME.sub("", _clean(str(name)))
        name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        ext = (
            ".eml" if content_type == "message/rfc822" else mimetypes.guess_extension(content_type)
        )
        name = f"attachment-{index}{ext or '.bin'}"
    if len(name) > _MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: _MAX_FILENAME - len(ext) - 1] + dot + ext)
            if dot and len(ext) < 20
            else (name[:_MAX_FILENAME])
        )
    return name


def _content(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822" or part.is_multipart():
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes(policy=policy.SMTP)
        return b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _is_attachment(part: Message, body: Message | None) -> bool:
    if part is body:
        return False
    content_type = part.get_content_type()
    if content_type in _NOT_ATTACHMENT_TYPES:
        return False
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    if part.get_content_maintype() == "text":
        # Alternative renderings of the body; inline text files carry a filename.
        return part.get_filename() is not None
    return True


def _attachments(msg: EmailMessage, body: Message | None, max_bytes: int) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for part in _leaves(msg):
        try:
            wanted = _is_attachment(part, body)
        except Exception:  # malformed part headers: keep it, as an attachment
            wanted = True
        if not wanted:
            continue
        content_type = part.get_content_type()
        index = len(found) + 1
        filename = _filename(part, index, content_type)
        try:
            content = _content(part)
        except Exception as exc:  # a broken part; the raw copy still has it
            reason = f"unreadable: {type(exc).__name__}: {exc}"[:_MAX_FILENAME]
            found.append(Attachment(filename, content_type, b"", 0, reason))
            continue
        size = len(content)
        if size > max_bytes:
            found.append(
                Attachment(
                    filename=filename,
                    content_type=content_type,
                    content=b"",
                    size=size,
                    skipped_reason=f"too large: {size} bytes, limit {max_bytes} bytes",
                )
            )
        else:
            found.append(Attachment(filename, content_type, content, size))
    return tuple(found)


def _raw(msg: Message, raw: bytes, automatic_reason: str | None) -> dict[str, Any]:
    headers = [[_clean(k), _one_line(str(v))] for k, v in msg.raw_items()]
    result: dict[str, Any] = {"headers": headers, "size": len(raw)}
    if len(raw) < RAW_COPY_MAX_BYTES:
        result["rfc822_b64"] = base64.b64encode(raw).decode("ascii")
    if automatic_reason is not None:
        result["automatic_reason"] = automatic_reason
    return result


def _parse_message(raw: bytes) -> EmailMessage:
    """Parse ``raw`` with ``policy.default``; raise InboundParseError if it has no headers."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InboundParseError(f"an email must be bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if not data.strip():
        raise InboundParseError("not an email: empty")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(data)
    except Exception as exc:
        raise InboundParseError(f"not an email: {exc}") from None
    if not isinstance(msg, EmailMessage) or not list(msg.raw_items()):
        raise InboundParseError("not an email: no header fields")
    return msg


def parse_email(
    raw: bytes, *, own_addresses: Collection[str], max_attachment_bytes: int
) -> InboundMessage:
    """Parse one RFC 5322 message (the bytes as fetched from IMAP) into an InboundMessage.

    Args:
        raw: the whole message, headers and body.
        own_addresses: our sending addresses; mail from them is automatic (rule 6).
        max_attachment_bytes: per-attachment limit in bytes; a larger file is
            kept as metadata only (``content`` empty, ``skipped_reason`` set).

    Returns:
        An InboundMessage with ``channel=email``; ``external_id`` = the
        Message-ID without angle brackets, or ``"sha256:<hex>"`` of From, To,
        Date, Subject and the body when it is absent (rule 2); ``sender`` the
        lower-case From address; ``text`` the new text (text/plain preferred,
        else HTML as text, quoted reply chain stripped); ``thread_refs``
        In-Reply-To then References newest first; ``received_at`` from the
        Date header (UTC; now when missing or invalid); ``raw`` =
        ``{"headers": [[name, value], ...], "size": bytes, "rfc822_b64": ...}``
        (the copy only under 1 MiB) plus ``automatic_reason`` when automatic.

    Raises:
        InboundParseError: the bytes are not an email (no header fields, no or
            unparseable From address). The IMAP poller quarantines such mail
            (rule 5).
    """
    msg = _parse_message(raw)
    try:
        return _build(msg, bytes(raw), own_addresses, max_attachment_bytes)
    except InboundParseError:
        raise
    except Exception as exc:  # a bug or an email-package corner case: still "unparseable"
        raise InboundParseError(f"unreadable message: {type(exc).__name__}: {exc}") from exc


def _build(
    msg: EmailMessage, data: bytes, own_addresses: Collection[str], max_attachment_bytes: int
) -> InboundMessage:
    sender, sender_name = _sender(msg)
    subject = _header(msg, "Subject")
    reason = is_automatic(msg, own_addresses)
    body = _body_part(msg)
    return InboundMessage(
        channel=ChannelName.EMAIL,
        external_id=_external_id(msg, data),
        sender=sender,
        text=_text(body),
        received_at=_received_at(msg),
        sender_name=sender_name,
        subject=subject[:_MAX_SUBJECT] if subject else None,
        thread_refs=_thread_refs(msg),
        automatic=reason is not None,
        attachments=_attachments(msg, body, max_attachment_bytes),
        raw=_raw(msg, data, reason),
    )
