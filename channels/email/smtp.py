"""Send outbox messages by SMTP (docs/architecture.md, "Sending the outbox"; docs/channels.md, "Email").

The Message-ID is derived from the outbox row's idempotency key, so a message
re-sent after a crash carries the same id and the recipient's client shows it
once; the id is also what a complainant's reply quotes in ``In-Reply-To``.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import quote

import aiosmtplib

from channels.addresses import AddressError, normalise_email
from channels.base import OutboundMessage, SendResult
from channels.email.config import EmailConfig, Security
from channels.email.smtp_pool import IDLE_SECONDS, POOL_SIZE, SmtpPool
from channels.errors import ChannelError, PermanentError, TemporaryError

__all__ = [
    "DEFAULT_DISPLAY_NAME",
    "DEFAULT_SUBJECTS",
    "SmtpSender",
    "build_message",
    "classify_smtp_error",
    "message_id_for",
]

log = logging.getLogger(__name__)

#: Display name used in ``From`` when ``ADUAN_EMAIL_FROM`` is a bare address.
DEFAULT_DISPLAY_NAME = "Layanan Pengaduan"
#: Subject used when the outbox row has none, by language.
DEFAULT_SUBJECTS = {"id": "Tanggapan atas pengaduan Anda", "en": "About your complaint"}

# RFC 5322 atext minus "%" (our escape character) and "." (dot-atom rules):
# everything else is percent-encoded, so distinct keys give distinct ids.
_ID_SAFE = "!#$&'*+/=?^_`{|}~-"
_WS = re.compile(r"\s+")
# A body line longer than this must be encoded (RFC 5322 section 2.1.1: 998 octets).
_LONGEST_LINE = 998
SEND_TIMEOUT_SECONDS = 60.0


def _from_parts(email_from: str) -> tuple[str, str]:
    name, addr = parseaddr(email_from)
    return (name or DEFAULT_DISPLAY_NAME), addr.strip()


def message_id_for(idempotency_key: str, email_from: str) -> str:
    """The Message-ID of the outbox row with ``idempotency_key``, without angle brackets.

    Shape: ``<key, percent-encoded where not RFC 5322 atext>@<domain of email_from>``,
    e.g. ``message_id_for("out-42", "pengaduan@kantor.go.id") ==
    "out-42@kantor.go.id"``. Stable across retries, so a duplicate send is
    recognisable; stored as the outbound message's ``external_id`` so replies
    thread back (their ``In-Reply-To``). Pure; never raises.
    """
    _name, addr = _from_parts(email_from)
    domain = addr.rpartition("@")[2].strip().lower() or "localhost"
    local = quote(idempotency_key, safe=_ID_SAFE).replace(".", "%2E") or "empty"
    return f"{local}@{domain}"


def _bare_ref(ref: str) -> str:
    bare = ref.strip().strip("<>").strip()
    # A reference with whitespace or control characters inside is not a Message-ID
    # (and must never break a header line): dropped.
    return "" if any(c.isspace() or not c.isprintable() for c in bare) else bare


def _body_charset(text: str) -> Charset:
    """UTF-8, sent as 7bit when ``text`` is plain ASCII with short lines, else quoted-printable."""
    charset = Charset("utf-8")
    plain = text.isascii() and all(len(line) <= _LONGEST_LINE for line in text.splitlines())
    # None: no transfer encoding (7bit); typeshed knows only the int constants.
    charset.body_encoding = None if plain else QP  # type: ignore[assignment]
    return charset


def build_message(
    msg: OutboundMessage, email_from: str, *, now: datetime | None = None
) -> MIMENonMultipart:
    """The RFC 5322 message for ``msg``: plain-text UTF-8 with threading headers.

    Headers: ``From`` (``email_from``, display name "Layanan Pengaduan" when it
    has none), ``To``, ``Subject`` (``msg.subject`` or a default by language),
    ``Date``, ``Message-ID`` (:func:`message_id_for`), ``In-Reply-To`` (first of
    ``msg.thread_refs``), ``References`` (``thread_refs`` oldest first),
    ``Content-Language`` and, for automatic mail (rule 6),
    ``Auto-Submitted: auto-replied`` plus ``X-Auto-Response-Suppress: All`` so
    that out-of-office responders do not answer it. Non-ASCII display names and
    subjects are RFC 2047 encoded; the body is 7bit when it is short-lined
    ASCII, quoted-printable otherwise.

    Built with the standard library's ``email.mime`` classes, which store
    header values as given: every value here is made single-line first
    (whitespace collapsed, references with whitespace dropped), so no value
    can add a header. About fifteen times cheaper than ``EmailMessage``, which
    parses each header into a structured object on assignment (docs/email.md
    "Sending").

    Raises:
        PermanentError: the recipient is not an email address.
    """
    try:
        recipient = normalise_email(msg.recipient)
    except AddressError as exc:
        raise PermanentError(f"invalid recipient: {exc}", code="recipient") from None
    display, addr = _from_parts(email_from)
    subject = _WS.sub(" ", msg.subject or "").strip() or DEFAULT_SUBJECTS.get(
        msg.language, DEFAULT_SUBJECTS["id"]
    )
    refs = [r for r in (_bare_ref(ref) for ref in msg.thread_refs) if r]
    message = MIMENonMultipart("text", "plain")
    message.set_payload(msg.text, _body_charset(msg.text))
    message["From"] = formataddr((_WS.sub(" ", display).strip(), addr), charset="utf-8")
    message["To"] = recipient
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")  # type: ignore[assignment]
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = f"<{message_id_for(msg.idempotency_key, email_from)}>"
    if refs:
        message["In-Reply-To"] = f"<{refs[0]}>"
        message["References"] = " ".join(f"<{r}>" for r in reversed(refs))
    if msg.automatic:
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    message["Content-Language"] = _WS.sub("", msg.language) or "id"
    return message


def classify_smtp_error(exc: BaseException) -> ChannelError:
    """Map an aiosmtplib / network error to the channel error hierarchy.

    SMTP 4xx replies, timeouts and connection failures → :class:`TemporaryError`
    (retried with backoff); 5xx replies, including a refused recipient or failed
    login → :class:`PermanentError`. ``code`` is the SMTP reply code when there is
    one, else ``"timeout"``, ``"connection"`` or ``"smtp"``.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        code = codes[0] if codes else None
        text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        if codes and all(400 <= c < 500 for c in codes):
            return TemporaryError(f"recipient deferred: {text}", code=code)
        return PermanentError(f"recipient refused: {text}", code=code)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        detail = f"SMTP {exc.code} {exc.message}"
        if 500 <= exc.code < 600:
            return PermanentError(detail, code=exc.code)
        return TemporaryError(detail, code=exc.code)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return TemporaryError(f"SMTP timeout: {exc}", code="timeout")
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected | OSError):
        return TemporaryError(f"SMTP connection failed: {exc}", code="connection")
    return TemporaryError(f"SMTP error: {exc}", code="smtp")


class SmtpSender:
    """Sends :class:`OutboundMessage` rows through the configured SMTP server.

    Uses ``config.smtp_host``/``smtp_port``/``smtp_security`` (ssl,
    starttls or none) and logs in when ``smtp_user`` is set. Connections are
    kept open and reused by an :class:`SmtpPool` of ``pool_size`` (closed after
    ``idle_seconds`` unused, and by :meth:`close`), so a burst of
    acknowledgements costs one handshake per connection, not per message.
    """

    def __init__(
        self,
        config: EmailConfig,
        *,
        timeout: float = SEND_TIMEOUT_SECONDS,
        pool_size: int = POOL_SIZE,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._settings = config
        self._timeout = timeout
        self._pool = SmtpPool(self._client, size=pool_size, idle_seconds=idle_seconds)

    def _client(self) -> aiosmtplib.SMTP:
        settings = self._settings
        assert settings.smtp_host and settings.email_from
        _display, from_addr = _from_parts(settings.email_from)
        security = settings.smtp_security
        password = settings.smtp_password or None
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user or None,
            password=password if settings.smtp_user else None,
            use_tls=security is Security.SSL,
            start_tls=security is Security.STARTTLS,
            local_hostname=from_addr.rpartition("@")[2] or None,
            timeout=self._timeout,
        )

    async def send(self, msg: OutboundMessage) -> SendResult:
        """Send ``msg``; return its Message-ID (no brackets) as ``provider_id``.

        A reused connection that fails before the server answered (dropped
        while idle) is retried once on a new connection; the Message-ID is
        the same, so a rare repeat shows once in the recipient's client.

        Raises:
            TemporaryError: SMTP 4xx, timeout, connection failure, or SMTP not
                configured yet (retry later).
            PermanentError: SMTP 5xx, recipient refused, invalid recipient.
        """
        settings = self._settings
        if not settings.smtp_host or not settings.email_from:
            raise TemporaryError(
                "SMTP is not configured (ADUAN_SMTP_HOST, ADUAN_EMAIL_FROM)", code="config"
            )
        message = build_message(msg, settings.email_from)
        _display, from_addr = _from_parts(settings.email_from)
        recipients = [str(message["To"])]
        try:
            for attempt in (1, 2):
                reused = False
                try:
                    async with self._pool.connection() as (client, reused):
                        await client.send_message(message, sender=from_addr, recipients=recipients)
                    break
                except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
                    if not (reused and attempt == 1):
                        raise
                    log.info("smtp: pooled connection was closed (%s); reconnecting", exc)
        except Exception as exc:  # every failure is classified below
            error = classify_smtp_error(exc)
            log.warning(
                "smtp send failed: key=%s host=%s:%s code=%s error=%s",
                msg.idempotency_key,
                settings.smtp_host,
                settings.smtp_port,
                error.code,
                error,
            )
            raise error from exc
        provider_id = message_id_for(msg.idempotency_key, settings.email_from)
        log.info("smtp sent: key=%s message_id=%s", msg.idempotency_key, provider_id)
        return SendResult(provider_id=provider_id)

    async def close(self) -> None:
        """Close the pooled connections (``QUIT``); later sends still work. Never raises."""
        await self._pool.close()
