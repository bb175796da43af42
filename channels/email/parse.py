"""Turn the bytes of one RFC 5322 message into an :class:`InboundMessage` (pure, no I/O).

Sources: docs/channels.md, "Dedupe keys" (``Message-ID``, a header hash when
absent) and "Email" (threading headers, quoted text stripped, automatic mail);
unparseable mail is quarantined by the caller (docs/email.md): this module
raises :class:`InboundParseError`.

Every value returned is storable as it is (docs/email.md "Mail that cannot be
taken in"): strings carry no NUL and no lone surrogate, and each is cut to the
length of its column in :mod:`storage.models`; a body longer than
``max_body_chars`` is cut and kept whole as an attachment; the sender's
address is checked against the trusted server's ``Authentication-Results``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import mimetypes
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

from channels.addresses import AddressError, normalise_email
from channels.base import Attachment, ChannelName, InboundMessage
from channels.email import authresults
from channels.email.automatic import is_automatic
from channels.email.config import DEFAULT_MAX_BODY_CHARS
from channels.email.html import html_to_text
from channels.email.quotes import strip_quotes
from channels.errors import InboundParseError
from storage.models import Attachment as AttachmentRow
from storage.models import Message as MessageRow

__all__ = [
    "BODY_FILENAME",
    "RAW_COPY_MAX_BYTES",
    "RAW_HEADERS_MAX_CHARS",
    "RAW_HEADER_MAX_CHARS",
    "authentication_failure",
    "parse_email",
]

#: Messages smaller than this keep a base64 copy of their bytes in ``raw``.
RAW_COPY_MAX_BYTES = 1024 * 1024

#: Each header value kept in ``raw["headers"]`` is cut to this many characters
#: (the whole message stays in ``rfc822_b64`` under 1 MiB, and in the mailbox).
RAW_HEADER_MAX_CHARS = 4000
#: ...and all of them together to this many (the headers after it are left out,
#: ``raw["headers_cut"]`` is set).
RAW_HEADERS_MAX_CHARS = 64_000
_MAX_RAW_HEADERS = 500

#: Name of the attachment that keeps a body longer than ``max_body_chars`` whole
#: (``.html`` instead of ``.txt`` for an HTML-only mail).
BODY_FILENAME = "email-body-full"


def _column_length(column: InstrumentedAttribute[Any]) -> int:
    """The declared length of a ``String(n)`` column of :mod:`storage.models`."""
    kind = column.property.columns[0].type
    assert isinstance(kind, String) and kind.length is not None
    return int(kind.length)


# Column limits of ``messages`` / ``attachments``: values are cut to fit so that a
# long header never makes a message impossible to store (which would block the
# mailbox).
_MAX_EXTERNAL_ID = min(255, _column_length(MessageRow.external_id))
_MAX_SENDER = _column_length(MessageRow.sender)
_MAX_SENDER_NAME = _column_length(MessageRow.sender_name)
_MAX_SUBJECT = _column_length(MessageRow.subject)
_MAX_FILENAME = _column_length(AttachmentRow.filename)
_MAX_CONTENT_TYPE = _column_length(AttachmentRow.content_type)
_MAX_SKIPPED_REASON = _column_length(AttachmentRow.skipped_reason)
_MAX_THREAD_REFS = 100
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_FALLBACK_CONTENT_TYPE = "application/octet-stream"

_MSG_ID = re.compile(r"<([^<>\s]+)>")
_WS = re.compile(r"\s+")
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f]")
_NOT_ATTACHMENT_TYPES = frozenset(
    {"message/delivery-status", "message/disposition-notification", "text/rfc822-headers"}
)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: str) -> str:
    """Make a string storable: undecodable bytes the email package kept as surrogate
    escapes are decoded as UTF-8 (U+FFFD where invalid), any other lone surrogate
    becomes U+FFFD, and NUL is removed (PostgreSQL refuses it in text and JSON)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:  # a surrogate outside the escape range
            pass
        value = _SURROGATE.sub("\ufffd", value)
    return value.replace("\x00", "")


def _storable(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, numbers) with every string cleaned."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {_clean(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


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


def _text(part: MIMEPart | None, max_chars: int) -> tuple[str, Attachment | None, int]:
    """The new text of the body part, the whole body as an attachment when it is
    longer than ``max_chars`` (then cut there before any further reading), and the
    body's length in characters."""
    if part is None:
        return "", None, 0
    content = _clean(_decode_payload(part))
    length = len(content)
    html = part.get_content_subtype() == "html"
    whole: Attachment | None = None
    if length > max_chars:
        data = content.encode("utf-8")
        whole = Attachment(
            filename=BODY_FILENAME + (".html" if html else ".txt"),
            content_type="text/html" if html else "text/plain",
            content=data,
            size=len(data),
        )
        content = content[:max_chars]
    if html:
        content = html_to_text(content)
    return strip_quotes(content)[:max_chars], whole, length


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


def _content_type(part: Message) -> str:
    """The part's ``type/subtype``, lower-case, when it is a valid token pair that fits
    its column; otherwise ``application/octet-stream`` (the original header stays
    in the raw copy)."""
    try:
        value = _clean(part.get_content_type())
    except Exception:
        return _FALLBACK_CONTENT_TYPE
    if len(value) > _MAX_CONTENT_TYPE or not _CONTENT_TYPE.match(value):
        return _FALLBACK_CONTENT_TYPE
    return value


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
        content_type = _content_type(part)
        index = len(found) + 1
        filename = _filename(part, index, content_type)
        try:
            content = _content(part)
        except Exception as exc:  # a broken part; the raw copy still has it
            reason = _clean(f"unreadable: {type(exc).__name__}: {exc}")[:_MAX_SKIPPED_REASON]
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
    headers: list[list[str]] = []
    budget = RAW_HEADERS_MAX_CHARS
    items = list(msg.raw_items())
    for key, value in items:
        text = _one_line(str(value)[: 4 * RAW_HEADER_MAX_CHARS])[:RAW_HEADER_MAX_CHARS]
        pair = [_clean(key)[:RAW_HEADER_MAX_CHARS], text]
        budget -= len(pair[0]) + len(pair[1])
        if budget < 0 or len(headers) >= _MAX_RAW_HEADERS:
            break
        headers.append(pair)
    result: dict[str, Any] = {"headers": headers, "size": len(raw)}
    if len(headers) < len(items):
        result["headers_cut"] = True
    if len(raw) < RAW_COPY_MAX_BYTES:
        result["rfc822_b64"] = base64.b64encode(raw).decode("ascii")
    if automatic_reason is not None:
        result["automatic_reason"] = automatic_reason
    return result


@functools.lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


#: Headers this module only reads as text: a plain ASCII value without encoded
#: words reads the same unparsed, so it is not run through the header parser.
_TEXT_HEADERS = frozenset(
    {
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "subject",
        "to",
        "cc",
        "return-path",
        "auto-submitted",
        "precedence",
        "received",
    }
)
_LINE_BREAK = re.compile(r"\n|\r")
_SIMPLE_TEXT = re.compile(r"[\x20-\x7e\t]*")
# "Display Name <local@domain>" or "local@domain": letters, digits, spaces, dots,
# apostrophes and hyphens in the name; no quotes, comments, groups or encoded words.
_SIMPLE_FROM = re.compile(
    r"\s*(?:([A-Za-z0-9][A-Za-z0-9 .'-]*?)\s*<([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+)>"
    r"|([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+))\s*"
)


@dataclass(frozen=True, slots=True)
class _SimpleAddress:
    display_name: str
    addr_spec: str


class _TextHeader(str):
    """A header value that needed no parsing: the text, its name, no defects."""

    name: str
    defects: tuple[Any, ...] = ()
    addresses: tuple[_SimpleAddress, ...] = ()

    @classmethod
    def of(cls, name: str, value: str) -> _TextHeader:
        header = cls(value)
        header.name = name
        return header


def _fast_header(name: str, value: str) -> Any:
    """The value of a header that needs no parser, or None to parse it fully.

    Equal to what ``policy.default`` gives for the attributes this module
    reads (``str()``; ``addresses`` of a simple From): the fast path only
    takes plain ASCII without encoded words (RFC 2047) or, for From, a bare
    address or ``Name <address>`` with a plain name.
    """
    if "=?" in value or not _SIMPLE_TEXT.fullmatch(value):
        return None
    lowered = name.lower()
    if lowered in _TEXT_HEADERS:
        return _TextHeader.of(name, value.strip())
    if lowered == "from":
        found = _SIMPLE_FROM.fullmatch(value)
        if found is None:
            return None
        display, addr = (found.group(1) or "").strip(), found.group(2) or found.group(3)
        header = _TextHeader.of(name, f"{display} <{addr}>" if display else addr)
        header.addresses = (_SimpleAddress(display, addr),)
        return header
    return None


class _MemoPolicy(EmailPolicy):
    """``policy.default`` that parses each header value once, and simple ones not at all.

    ``policy.default`` parses a header again on every read (``get_content_type``
    alone reads ``Content-Type`` several times per part), which made parsing a
    plain complaint mail cost milliseconds. Parsed headers are immutable
    ``str`` subclasses, so one parsed value is shared by every read, and by
    every mail with the same header line (``Content-Type: text/plain;
    charset=utf-8``). Headers read only as text skip the parser when plain
    (:func:`_fast_header`). Results equal ``policy.default``'s for what this
    module reads (tests/email/test_parse_speed.py compares them).
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):
            return value
        value = "".join(_LINE_BREAK.split(value))  # unfolded, as policy.default does
        fast = _fast_header(name, value)
        return fast if fast is not None else _parsed_header(name, value)


_POLICY = _MemoPolicy()


def _parse_message(raw: bytes) -> EmailMessage:
    """Parse ``raw`` with ``policy.default``; raise InboundParseError if it has no headers."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InboundParseError(f"an email must be bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if not data.strip():
        raise InboundParseError("not an email: empty")
    try:
        msg = BytesParser(policy=_POLICY).parsebytes(data)
    except Exception as exc:
        raise InboundParseError(f"not an email: {exc}") from None
    if not isinstance(msg, EmailMessage) or not list(msg.raw_items()):
        raise InboundParseError("not an email: no header fields")
    return msg


def _authentication(msg: Message, authserv_id: str | None) -> dict[str, Any] | None:
    """``raw["authentication"]``: the trusted server's results and, if any, the failure."""
    if not authserv_id:
        return None
    values = [
        _one_line(str(v)) for k, v in msg.raw_items() if k.lower() == "authentication-results"
    ]
    found = authresults.trusted_results(values, authserv_id)
    if found is None:
        return None
    result: dict[str, Any] = {
        "authserv_id": found.authserv_id,
        "results": {k: list(v) for k, v in found.results.items()},
    }
    failed = authresults.failure(found)
    if failed is not None:
        result["failed"] = failed
    return result


def authentication_failure(message: InboundMessage) -> str | None:
    """Why ``message``'s sender is not to be believed, from :func:`parse_email`'s
    ``raw["authentication"]``, e.g. ``"authentication failed at mx.kantor.go.id:
    spf=fail, dmarc=fail"``; None when it passed or nothing was checked."""
    auth = message.raw.get("authentication")
    if not isinstance(auth, dict) or not auth.get("failed"):
        return None
    return f"authentication failed at {auth.get('authserv_id')}: {auth['failed']}"


def parse_email(
    raw: bytes,
    *,
    own_addresses: Collection[str],
    max_attachment_bytes: int,
    max_body_chars: int = DEFAULT_MAX_BODY_CHARS,
    trusted_authserv_id: str | None = None,
) -> InboundMessage:
    """Parse one RFC 5322 message (the bytes as fetched from IMAP) into an InboundMessage.

    Args:
        raw: the whole message, headers and body.
        own_addresses: our sending addresses; mail from them is automatic (rule 6).
        max_attachment_bytes: per-attachment limit in bytes; a larger file is
            kept as metadata only (``content`` empty, ``skipped_reason`` set).
        max_body_chars: the text is cut to this many characters; a longer body
            is kept whole as the last attachment, ``email-body-full.txt`` (or
            ``.html``), within ``max_attachment_bytes`` like any file, and
            ``raw["body_cut"] = {"chars": length, "kept": max_body_chars}``.
        trusted_authserv_id: authserv-id of the office's receiving server;
            its topmost ``Authentication-Results`` is recorded as
            ``raw["authentication"] = {"authserv_id", "results": {method:
            [result, ...]}, "failed": "spf=fail, dmarc=fail"}`` (``failed``
            only on failure, see :func:`authentication_failure`). None: not read.

    Returns:
        An InboundMessage with ``channel=email``; ``external_id`` = the
        Message-ID without angle brackets, or ``"sha256:<hex>"`` of From, To,
        Date, Subject and the body when it is absent (rule 2); ``sender`` the
        lower-case From address; ``text`` the new text (text/plain preferred,
        else HTML as text, quoted reply chain stripped); ``thread_refs``
        In-Reply-To then References newest first; ``received_at`` from the
        Date header (UTC; now when missing or invalid); ``raw`` =
        ``{"headers": [[name, value], ...], "size": bytes, "rfc822_b64": ...}``
        (the copy only under 1 MiB; each header value cut to 4,000
        characters, 64,000 in all, then ``headers_cut``) plus ``automatic_reason`` when automatic. Every string is
        storable on PostgreSQL: no NUL, no lone surrogate, within its column
        (an invalid or over-long attachment content type becomes
        ``application/octet-stream``).

    Raises:
        InboundParseError: the bytes are not an email (no header fields, no or
            unparseable From address). The IMAP poller quarantines such mail
            (rule 5).
    """
    if max_body_chars < 1:
        raise ValueError("max_body_chars must be at least 1")
    msg = _parse_message(raw)
    try:
        return _build(
            msg,
            bytes(raw),
            own_addresses,
            max_attachment_bytes,
            max_body_chars,
            trusted_authserv_id,
        )
    except InboundParseError:
        raise
    except Exception as exc:  # a bug or an email-package corner case: still "unparseable"
        raise InboundParseError(f"unreadable message: {type(exc).__name__}: {exc}") from exc


def _build(
    msg: EmailMessage,
    data: bytes,
    own_addresses: Collection[str],
    max_attachment_bytes: int,
    max_body_chars: int,
    trusted_authserv_id: str | None,
) -> InboundMessage:
    sender, sender_name = _sender(msg)
    subject = _header(msg, "Subject")
    reason = is_automatic(msg, own_addresses)
    body = _body_part(msg)
    text, whole, length = _text(body, max_body_chars)
    attachments = _attachments(msg, body, max_attachment_bytes)
    raw = _raw(msg, data, reason)
    if whole is not None:
        raw["body_cut"] = {"chars": length, "kept": max_body_chars}
        if whole.size > max_attachment_bytes:
            whole = Attachment(
                whole.filename,
                whole.content_type,
                b"",
                whole.size,
                f"too large: {whole.size} bytes, limit {max_attachment_bytes} bytes",
            )
        attachments = (*attachments, whole)
    authentication = _authentication(msg, trusted_authserv_id)
    if authentication is not None:
        raw["authentication"] = authentication
    return InboundMessage(
        channel=ChannelName.EMAIL,
        external_id=_clean(_external_id(msg, data)),
        sender=sender,
        text=text,
        received_at=_received_at(msg),
        sender_name=sender_name,
        subject=subject[:_MAX_SUBJECT] if subject else None,
        thread_refs=_thread_refs(msg),
        automatic=reason is not None,
        attachments=attachments,
        raw=_storable(raw),
    )
