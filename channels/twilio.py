"""Twilio SMS and WhatsApp: webhook forms in, Programmable Messaging out.

Inbound: Twilio POSTs form-encoded
parameters (``MessageSid``, ``From``, ``To``, ``Body``, ``NumMedia``,
``MediaUrl{N}``, ``MediaContentType{N}``, ``ProfileName`` for WhatsApp) to
``POST /webhooks/twilio``, and delivery reports (``MessageSid``,
``MessageStatus``, ``ErrorCode``) to ``POST /webhooks/twilio/status``. Both are
signed: ``X-Twilio-Signature`` is checked with the twilio library's
``RequestValidator`` against the *public* URL Twilio called
(``ADUAN_PUBLIC_URL`` + path and query), never the internal one
(:func:`verify`). This module parses the forms (:func:`parse_form`,
:func:`parse_status_form`); the routes, size caps and storing are
``gateway/webhooks/`` (docs/webhooks.md). The answer is an empty TwiML
document: replies go out through the outbox, never inline. Twilio waits at
most 15 s, so media downloads share a budget of :data:`MEDIA_BUDGET_SECONDS`.

Outbound: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``
(Programmable Messaging, the Message resource), form-encoded, with HTTP basic
auth (account SID, auth token), over the channel's one aiohttp session
(:class:`channels.http.ChannelSession`, docs/channels.md "Sending over the
channel's aiohttp session"). Text longer than :data:`MAX_BODY_UNITS` is split
at paragraph, sentence or word boundaries and sent in order; WhatsApp
templates go as ``ContentSid`` + ``ContentVariables``. Twilio's error JSON
(``code``, ``message``, ``more_info``, ``status``) and ``Retry-After`` map
onto :mod:`channels.errors` (see :func:`error_from_answer` and :func:`classify`).

SMS and WhatsApp are two channels (``sms``, ``whatsapp``) served by one class,
one instance per kind: ``TwilioChannel(config, kind=ChannelName.SMS)``, the
:class:`TwilioConfig` built by the gateway from its settings.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import mimetypes
import random
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from pydantic import SecretStr
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from channels.addresses import AddressError, normalise_phone
from channels.base import (
    Attachment,
    Channel,
    ChannelName,
    DeliveryReport,
    InboundMessage,
    OutboundMessage,
    SendResult,
    normalise_status,
)
from channels.errors import (
    ChannelConfigError,
    ChannelError,
    InboundParseError,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from channels.http import ChannelSession, retry_after_seconds
from channels.media import MediaFetcher, MediaPolicy, MediaRefused, skipped
from channels.ratelimit import Pacer, RateGate
from channels.text import split_text as split_any

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
WHATSAPP_PREFIX = "whatsapp:"
INBOUND_PATH = "/webhooks/twilio"
STATUS_PATH = "/webhooks/twilio/status"
#: The answer to an inbound webhook: "do nothing now" (replies go via the outbox).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
#: Twilio accepts a ``Body`` of at most 1600 characters (SMS: concatenated by
#: Twilio; WhatsApp via Twilio: the same limit). Counted in UTF-16 code units
#: so an emoji counts twice, which is never over the limit.
MAX_BODY_UNITS = 1600
#: Twilio allows at most 10 media per message.
MAX_MEDIA = 10
#: Seconds for all media downloads of one inbound webhook together; Twilio
#: gives up after 15 s and the message must still be committed before then.
MEDIA_BUDGET_SECONDS = 8.0
#: Seconds for one API request when sending.
SEND_TIMEOUT_SECONDS = 15.0
#: The same as an aiohttp timeout: 15 s in all, 5 s to get a connection.
SEND_TIMEOUT = aiohttp.ClientTimeout(total=SEND_TIMEOUT_SECONDS, connect=5.0)
#: Where the REST API lives unless ``ADUAN_TWILIO_API_BASE`` says otherwise,
#: and the API version in its paths.
DEFAULT_API_BASE = "https://api.twilio.com"
API_VERSION = "2010-04-01"
#: Bound on the remembered SIDs of partly sent split messages.
_MAX_PARTIAL = 1000

#: Twilio error codes that will not succeed on retry
#: (https://www.twilio.com/docs/api/errors).
PERMANENT_CODES: Mapping[int, str] = {
    21211: "invalid 'To' phone number",
    21610: "recipient has unsubscribed (replied STOP)",
    21614: "'To' number is not a mobile number",
    63024: "invalid WhatsApp recipient",
}
#: Twilio error codes meaning "too many requests".
RATE_LIMIT_CODES = frozenset({20429, 63018})
#: Free-form WhatsApp message outside the 24-hour customer-service window.
OUTSIDE_WINDOW_CODE = 63016


@dataclass(frozen=True, slots=True)
class TwilioConfig:
    """What the Twilio channels need, built by the gateway from its settings.

    Field names are those of the ``ADUAN_*`` settings they come from
    (README, "Configuration"). ``public_url`` set means status callbacks are
    asked for at ``effective_public_url`` + :data:`STATUS_PATH`;
    ``attachment_max_bytes`` limits each media download; the auth token is a
    ``SecretStr`` and left out of ``repr``.
    """

    twilio_account_sid: str | None
    twilio_auth_token: SecretStr | None = field(default=None, repr=False)
    twilio_sms_from: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base: str | None = None
    twilio_sms_per_second: float = 1.0
    public_url: str | None = None
    effective_public_url: str = ""
    attachment_max_bytes: int = 10 * 1024 * 1024


def basic_auth(login: str, password: str) -> str:
    """An HTTP basic ``Authorization`` header value (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def account_url(api_base: str | None, account_sid: str) -> str:
    """``{api_base}/2010-04-01/Accounts/{account_sid}``, the Account resource's
    path without its ``.json`` (``api_base`` defaults to :data:`DEFAULT_API_BASE`)."""
    base = (api_base or DEFAULT_API_BASE).rstrip("/")
    return f"{base}/{API_VERSION}/Accounts/{quote(account_sid, safe='')}"


def messages_url(api_base: str | None, account_sid: str) -> str:
    """``{api_base}/2010-04-01/Accounts/{account_sid}/Messages.json``, the URL a
    message is created at."""
    return account_url(api_base, account_sid) + "/Messages.json"


# --------------------------------------------------------------------------- parsing


def kind_of(form: Mapping[str, str]) -> ChannelName:
    """``whatsapp`` when ``From`` or ``To`` is a ``whatsapp:`` address (or a
    status callback's ``ChannelPrefix`` says so), else ``sms``."""
    for key in ("From", "To"):
        if form.get(key, "").strip().lower().startswith(WHATSAPP_PREFIX):
            return ChannelName.WHATSAPP
    if form.get("ChannelPrefix", "").strip().lower() == "whatsapp":
        return ChannelName.WHATSAPP
    return ChannelName.SMS


def media_items(form: Mapping[str, str]) -> list[tuple[str, str]]:
    """The ``(MediaUrl{N}, MediaContentType{N})`` pairs of an inbound form, in order.

    Raises:
        InboundParseError: ``NumMedia`` is not a whole number from 0 to 10.
    """
    raw = form.get("NumMedia", "0").strip() or "0"
    try:
        count = int(raw)
    except ValueError:
        raise InboundParseError(f"NumMedia must be a number, not {raw!r}") from None
    if not 0 <= count <= MAX_MEDIA:
        raise InboundParseError(f"NumMedia must be between 0 and {MAX_MEDIA}")
    items = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}", "").strip()
        if url:
            content_type = form.get(f"MediaContentType{i}", "").strip()
            items.append((url, content_type or "application/octet-stream"))
    return items


def parse_form(form: Mapping[str, str]) -> InboundMessage | None:
    """Turn an inbound Twilio webhook form into an :class:`InboundMessage` (pure).

    ``MessageSid`` is the dedupe key (reliability rule 2); ``From`` becomes an
    E.164 sender (``whatsapp:`` stripped, docs/channels.md "Phone numbers"); the
    channel is ``whatsapp`` or ``sms`` by the ``whatsapp:`` prefix; ``Body``
    is the text, ``""`` when absent (media only, location, sticker: the intake
    engine answers those politely); ``ProfileName`` (WhatsApp) is the sender
    name suggestion. Media stay in ``raw`` (the whole form) for download.
    ``received_at`` is now: Twilio's inbound form carries no timestamp.

    Returns ``None`` for a status callback posted to the inbound URL.

    Raises:
        InboundParseError: ``MessageSid`` or ``From`` missing, ``From`` not a
            phone number, or a bad ``NumMedia``.
    """
    if form.get("MessageStatus"):
        return None
    sid = (form.get("MessageSid") or form.get("SmsMessageSid") or "").strip()
    if not sid:
        raise InboundParseError("MessageSid is required")
    sender_raw = form.get("From", "").strip()
    if not sender_raw:
        raise InboundParseError("From is required")
    try:
        sender = normalise_phone(sender_raw)
    except AddressError as exc:
        raise InboundParseError(str(exc)) from None
    media_items(form)  # validates NumMedia
    kind = kind_of(form)
    profile_name = form.get("ProfileName", "").strip() if kind is ChannelName.WHATSAPP else ""
    return InboundMessage(
        channel=kind,
        external_id=sid,
        sender=sender,
        text=form.get("Body", ""),
        received_at=datetime.now(UTC),
        sender_name=profile_name or None,
        raw=dict(form),
    )


def verify(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """True when ``signature`` (``X-Twilio-Signature``) signs ``params`` posted to ``url``.

    ``url`` is the *public* URL Twilio called (base URL + path + query);
    ``params`` the decoded form, a multi-dict when a key repeats (Twilio signs
    every value). Checked by the twilio library's ``RequestValidator``; a
    missing signature or one the library cannot compute over these values
    (it raises on unencodable text) is False.
    """
    if not signature:
        return False
    try:
        return bool(RequestValidator(auth_token).validate(url, params, signature))
    except (ValueError, TypeError, UnicodeError):
        return False


def single_values(form: Mapping[str, str]) -> dict[str, str]:
    """A webhook form as a plain dict, refusing a key given twice.

    ``form`` may be a multi-dict (``items()`` lists every pair).

    Raises:
        InboundParseError: a key appears more than once.
    """
    out: dict[str, str] = {}
    for key, value in form.items():
        if key in out:
            raise InboundParseError(f"{key} given twice")
        out[key] = value
    return out


def parse_status_form(form: Mapping[str, str]) -> DeliveryReport | None:
    """Turn a status-callback form into a :class:`DeliveryReport` (pure).

    ``MessageSid`` (or ``SmsSid``) is the provider id, ``MessageStatus`` (or
    ``SmsStatus``) the state, ``ErrorCode`` the error; the channel is
    ``whatsapp`` or ``sms`` as in :func:`kind_of`. Twilio's callback carries
    no timestamp (``occurred_at`` is ``None``). Returns ``None`` for a status
    word the gateway does not track.

    Raises:
        InboundParseError: ``MessageSid`` or ``MessageStatus`` missing.
    """
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    word = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip()
    if not sid:
        raise InboundParseError("MessageSid is required")
    if not word:
        raise InboundParseError("MessageStatus is required")
    status = normalise_status(word)
    if status is None:
        return None
    return DeliveryReport(
        channel=kind_of(form),
        provider_id=sid,
        status=status,
        error_code=form.get("ErrorCode", "").strip() or None,
        raw=dict(form),
    )


# --------------------------------------------------------------------------- sending


def split_text(text: str, limit: int = MAX_BODY_UNITS) -> list[str]:
    """Twilio-sized parts of ``text`` (UTF-16 units), in order; ``[]`` for blank text.

    See :func:`channels.text.split_text`.
    """
    return split_any(text, limit)


def classify(
    status: int, code: int | None, detail: str, *, retry_after: str | None = None
) -> ChannelError:
    """Map a Twilio API error (HTTP ``status``, Twilio ``code``) to a channel error.

    * 20429, 63018 or HTTP 429 → :class:`RateLimited`, ``retry_after`` from the
      ``Retry-After`` header, else 1–5 s with jitter;
    * 63016 (free-form WhatsApp outside the 24-hour window) → :class:`PermanentError`
      telling to send an approved template (``ContentSid``);
    * 21211, 21610, 21614, 63024 and any other 4xx (but 408) → :class:`PermanentError`;
    * 5xx, 408 and anything else → :class:`TemporaryError`.

    The error's ``code`` is the Twilio code when given, else the HTTP status.
    """
    label = code if code is not None else status
    if status == 429 or code in RATE_LIMIT_CODES:
        delay = retry_after_seconds(retry_after)
        if delay is None:
            delay = 1.0 + 4.0 * random.random()  # noqa: S311 - jitter, not crypto
        return RateLimited(f"Twilio rate limit ({label}): {detail}", retry_after=delay, code=label)
    if code == OUTSIDE_WINDOW_CODE:
        return PermanentError(
            "Twilio 63016: WhatsApp refuses free-form text outside the 24-hour window "
            "since the complainant's last message; send an approved template (ContentSid)",
            code=OUTSIDE_WINDOW_CODE,
        )
    if code is not None and code in PERMANENT_CODES:
        return PermanentError(f"Twilio {code}: {PERMANENT_CODES[code]} ({detail})", code=code)
    if 400 <= status < 500 and status != 408:
        return PermanentError(f"Twilio HTTP {status} ({label}): {detail}", code=label)
    return TemporaryError(f"Twilio HTTP {status} ({label}): {detail}", code=label)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def error_from_answer(status: int, body: Any, retry_after: str | None = None) -> ChannelError:
    """The channel error for a Twilio answer outside 2xx (see :func:`classify`).

    ``status`` is the HTTP status; ``body`` the decoded JSON, Twilio's error
    object ``{"code": 21211, "message": "…", "more_info": "https://…",
    "status": 400}`` or, from newer services, RFC 9457 problem details
    (``type``, ``title``, ``status``, ``code``, ``detail``), or anything
    else (no code then); ``retry_after`` the ``Retry-After`` header, read on
    a rate limit. The error text is the message and the ``more_info`` link,
    never the request or its credentials.
    """
    fields: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    raw_code = fields.get("code")
    code = _int(raw_code) if not isinstance(raw_code, bool) else None
    message = (
        _text(fields.get("message"))
        or _text(fields.get("detail"))
        or _text(fields.get("title"))
        or f"HTTP {status}"
    )
    more_info = _text(fields.get("more_info")) or _text(fields.get("type"))
    detail = f"{message} ({more_info})" if more_info else message
    return classify(status, code, detail, retry_after=retry_after)


class TwilioChannel(Channel):
    """SMS or WhatsApp through Twilio; one instance per kind.

    ``TwilioChannel(config, kind=ChannelName.SMS)`` sends from
    ``ADUAN_TWILIO_SMS_FROM`` (a number, or a Messaging Service SID ``MG…``);
    ``kind=ChannelName.WHATSAPP`` from ``ADUAN_TWILIO_WHATSAPP_FROM``. SMS sends
    are paced to ``ADUAN_TWILIO_SMS_PER_SECOND`` per sender: by ``pacer``
    when given (keyed by the sender, so processes sharing the gate share the
    rate), else by an in-process :class:`channels.ratelimit.Pacer`.

    Raises:
        ChannelConfigError: kind is neither SMS nor WhatsApp, or the account
            SID, auth token or the kind's sender is missing.
    """

    interactive = True

    def __init__(
        self, config: TwilioConfig, *, kind: ChannelName, pacer: RateGate | None = None
    ) -> None:
        if kind not in (ChannelName.SMS, ChannelName.WHATSAPP):
            raise ChannelConfigError(f"a Twilio channel is sms or whatsapp, not {kind}")
        # One class serves two channel names; ``name`` is per instance here.
        self.name = kind  # type: ignore[misc]
        self._config = config
        sender = config.twilio_sms_from if kind is ChannelName.SMS else config.twilio_whatsapp_from
        missing = [
            var
            for var, value in (
                ("ADUAN_TWILIO_ACCOUNT_SID", config.twilio_account_sid),
                ("ADUAN_TWILIO_AUTH_TOKEN", config.twilio_auth_token),
                (
                    "ADUAN_TWILIO_SMS_FROM"
                    if kind is ChannelName.SMS
                    else "ADUAN_TWILIO_WHATSAPP_FROM",
                    sender,
                ),
            )
            if not value
        ]
        if missing:
            raise ChannelConfigError(f"Twilio {kind} needs " + ", ".join(missing))
        assert sender is not None
        sender = sender.strip()
        # The Message resource's sender parameter: From, or MessagingServiceSid.
        self._sender: dict[str, str]
        if kind is ChannelName.WHATSAPP:
            if not sender.lower().startswith(WHATSAPP_PREFIX):
                sender = WHATSAPP_PREFIX + sender
            self._sender = {"From": sender}
        elif sender.startswith("MG"):
            self._sender = {"MessagingServiceSid": sender}
        else:
            self._sender = {"From": sender}
        self._sender_key = sender
        self._pacer: RateGate | None = None
        if kind is ChannelName.SMS:
            self._pacer = pacer or Pacer(per_key=config.twilio_sms_per_second, overall=None)
        assert config.twilio_account_sid is not None and config.twilio_auth_token is not None
        self._url = messages_url(config.twilio_api_base, config.twilio_account_sid)
        self._headers = {
            "Authorization": basic_auth(
                config.twilio_account_sid, config.twilio_auth_token.get_secret_value()
            ),
            "Accept": "application/json",
        }
        self._http = ChannelSession(timeout=SEND_TIMEOUT)
        # idempotency key → SIDs of the parts already sent, so a retry after a
        # failure mid-way does not resend the first parts (this process only).
        self._partial: OrderedDict[str, list[str]] = OrderedDict()

    def parse(self, raw: Any) -> InboundMessage | None:
        """See :func:`parse_form` (``raw`` is the webhook form as a mapping of strings)."""
        if not isinstance(raw, Mapping):
            raise InboundParseError("a Twilio webhook is a form (mapping of strings)")
        return parse_form(raw)

    def status(self) -> Mapping[str, Any]:
        """Sender and API base (no secrets)."""
        return {
            "provider": "twilio",
            "kind": str(self.name),
            "from": self._sender_key,
            "api_base": self._config.twilio_api_base or DEFAULT_API_BASE,
        }

    async def stop(self) -> None:
        """Close the channel's HTTP session (it opens again on the next send)."""
        await self._http.close()

    async def _create(self, form: Mapping[str, str]) -> str:
        """One ``POST …/Messages.json`` with ``form``; returns the message SID.

        Redirects are not followed (the credentials stay with the API base).

        Raises:
            ChannelError: an answer outside 2xx, by :func:`error_from_answer`;
                network errors, timeouts and a 2xx without a ``sid`` as
                :class:`TemporaryError`.
        """
        try:
            async with self._http.get().post(
                self._url, data=dict(form), headers=self._headers, allow_redirects=False
            ) as resp:
                raw = await resp.read()
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TemporaryError(f"Twilio unreachable: {type(exc).__name__}: {exc}") from None
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if not 200 <= status < 300:
            raise error_from_answer(status, body, retry_after)
        sid = body.get("sid") if isinstance(body, Mapping) else None
        if not isinstance(sid, str) or not sid:
            raise TemporaryError("Twilio accepted the message but returned no sid")
        log.debug(
            "%s: Messages.json answered HTTP %s, %s %s", self.name, status, sid, body.get("status")
        )
        return sid

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one outbox row; returns the SID of its first part.

        Text over :data:`MAX_BODY_UNITS` goes as several messages, in order;
        the outbox row keeps the first SID (status callbacks for the later
        parts are stored but match no row). A ``template`` (WhatsApp only)
        goes as ``ContentSid`` + ``ContentVariables`` ``{"1": v1, …}``, no body.
        ``StatusCallback`` is set when ``ADUAN_PUBLIC_URL`` is.

        Raises:
            PermanentError: bad recipient, empty text, a template without a
                Twilio ContentSid, or a permanent Twilio error.
            RateLimited: Twilio 429/20429/63018.
            TemporaryError: 5xx, timeouts, connection errors.
        """
        try:
            number = normalise_phone(message.recipient)
        except AddressError as exc:
            raise PermanentError(str(exc)) from None
        whatsapp = self.name is ChannelName.WHATSAPP
        common: dict[str, str] = {
            "To": WHATSAPP_PREFIX + number if whatsapp else number,
            **self._sender,
        }
        if self._config.public_url:
            common["StatusCallback"] = self._config.effective_public_url + STATUS_PATH
        parts: list[dict[str, str]]
        if whatsapp and message.template is not None:
            template = message.template
            if not template.content_sid:
                raise PermanentError(
                    f"no Twilio ContentSid configured for WhatsApp template {template.name!r}"
                )
            variables = {str(i): v for i, v in enumerate(template.variables, start=1)}
            parts = [
                {"ContentSid": template.content_sid, "ContentVariables": json.dumps(variables)}
            ]
        else:
            texts = split_text(message.text)
            if not texts:
                raise PermanentError("nothing to send: the message text is empty")
            parts = [{"Body": text} for text in texts]
        done = self._partial.get(message.idempotency_key, [])
        sids = list(done)
        for part in parts[len(done) :]:
            if self._pacer is not None:
                await self._pacer.wait(self._sender_key)
            try:
                sids.append(await self._create({**common, **part}))
            except ChannelError:
                if sids:
                    self._partial[message.idempotency_key] = sids
                    self._partial.move_to_end(message.idempotency_key)
                    while len(self._partial) > _MAX_PARTIAL:
                        self._partial.popitem(last=False)
                raise
        self._partial.pop(message.idempotency_key, None)
        if len(sids) > 1:
            log.info(
                "%s: sent %s as %d parts: %s", self.name, message.idempotency_key, len(sids), sids
            )
        return SendResult(provider_id=sids[0])


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- media


def _filename(url: str, content_type: str, index: int) -> str:
    """``ME….jpg`` from the media URL's last segment and the content type."""
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9_-]", "", tail)[:64] or f"media{index}"
    ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
    return stem + ext


#: Where Twilio serves media (Messaging "Media subresource": ``MediaUrl{N}`` is
#: ``https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}/Media/{MediaSid}``,
#: read with HTTP basic auth), and the CDN it redirects the bytes to
#: (``mms.twiliocdn.com``, ``media.twiliocdn.com``), reached without credentials.
MEDIA_HOSTS = frozenset({"api.twilio.com"})
MEDIA_REDIRECT_HOSTS = frozenset({"api.twilio.com", "*.twiliocdn.com"})
_MEDIA_PATH = re.compile(
    r"/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/Messages/[A-Z]{2}[0-9a-fA-F]{32}"
    r"/Media/ME[0-9a-fA-F]{32}"
)


def media_policy(settings: TwilioConfig) -> MediaPolicy:
    """The fetch rules for Twilio media (docs/attachments.md): a ``MediaUrl`` on
    ``api.twilio.com`` or the configured ``ADUAN_TWILIO_API_BASE``, redirects to
    Twilio's CDN, :data:`MEDIA_BUDGET_SECONDS` and ``attachment_max_bytes``."""
    return MediaPolicy(
        provider="Twilio",
        base_url=settings.twilio_api_base or DEFAULT_API_BASE,
        hosts=MEDIA_HOSTS,
        redirect_hosts=MEDIA_REDIRECT_HOSTS,
        credential_hosts=MEDIA_HOSTS,
        max_bytes=settings.attachment_max_bytes,
        timeout=MEDIA_BUDGET_SECONDS,
    )


def media_url_refusal(url: str, account_sid: str) -> str | None:
    """Why ``url`` is not a ``MediaUrl`` of this account's messages, or ``None``.

    The path must be ``/2010-04-01/Accounts/{account_sid}/Messages/{Sid}/Media/{MediaSid}``
    (SIDs: two letters and 32 hex digits), with no query or fragment; the host
    is checked by :func:`media_policy`.
    """
    try:
        parsed = urlsplit(url.strip())
    except ValueError:
        return "refused: MediaUrl is not a URL"
    found = _MEDIA_PATH.fullmatch(parsed.path)
    if found is None or parsed.query or parsed.fragment:
        return "refused: MediaUrl is not a Twilio media path"
    if found.group("account") != account_sid:
        return "refused: MediaUrl belongs to another Twilio account"
    return None


async def fetch_media(
    fetcher: MediaFetcher,
    url: str,
    content_type: str,
    *,
    index: int,
    account_sid: str,
    authorization: str,
) -> Attachment:
    """Download one ``MediaUrl`` with HTTP basic auth (account SID, auth token).

    ``authorization`` is the header value (see :func:`basic_auth`); the
    fetcher sends it to ``api.twilio.com`` (or the configured base) only, not
    along Twilio's redirect to its CDN.

    Never raises for a failed download: the attachment then has empty content
    and ``skipped_reason`` says why (not this account's media path, a host or
    address refused by :func:`media_policy`, HTTP status, timeout, over
    ``attachment_max_bytes``).
    """
    name = _filename(url, content_type, index)
    refusal = media_url_refusal(url, account_sid)
    if refusal is not None:
        return skipped("Twilio", name, content_type, MediaRefused(refusal))
    return await fetcher.attachment(
        url, filename=name, content_type=content_type, credentials={"Authorization": authorization}
    )


async def download_media(form: Mapping[str, str], settings: TwilioConfig) -> tuple[Attachment, ...]:
    """Download every ``MediaUrl{N}`` of an inbound form concurrently, within
    :data:`MEDIA_BUDGET_SECONDS` and ``attachment_max_bytes`` each, through
    :class:`channels.media.MediaFetcher` under :func:`media_policy`."""
    items = media_items(form)
    if not items:
        return ()
    assert settings.twilio_account_sid and settings.twilio_auth_token
    authorization = basic_auth(
        settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value()
    )
    async with MediaFetcher(media_policy(settings)) as fetcher:
        return tuple(
            await asyncio.gather(
                *(
                    fetch_media(
                        fetcher,
                        url,
                        ctype,
                        index=i,
                        account_sid=settings.twilio_account_sid,
                        authorization=authorization,
                    )
                    for i, (url, ctype) in enumerate(items)
                )
            )
        )
