"""The Telegram channel: Bot API through python-telegram-bot's ``Bot`` and types.

Only ``telegram.Bot`` and the ``telegram`` types are used, never
``telegram.ext.Application``: conversation state lives in our database so any
number of gateway processes can run (docs/channels.md, "Telegram").

Inbound arrives either by webhook (``gateway/webhooks/``) or, with
``ADUAN_TELEGRAM_MODE=polling``, by long polling from :meth:`TelegramChannel.start`:

* one poller per bot across all processes, by the database lease
  ``telegram:<bot id>`` (:func:`lease_name_for`; never the token), held by
  :class:`channels.polling.LeasedPoller` (docs/channels.md, "Polling under a
  lease");
* ``getUpdates(offset, timeout=25, allowed_updates=["message"])``; for each
  update in order: parse, download its files, ``accept`` (commits, reliability
  rule 1), and only then move the offset past it — an update whose
  ``accept`` fails is fetched again and retried, never skipped; an update
  that cannot be parsed is handed to ``quarantine`` with the reason and
  passed (the gateway's ``accept`` quarantines what cannot be stored), so one
  bad update never stops the offset;
* the offset lives in memory. A new poller (restart, or another process taking
  the lease over) starts without an offset: Telegram then returns every update
  it has not seen confirmed (an update is confirmed only by a later
  ``getUpdates`` with a higher offset, i.e. after we committed it), and the
  ``(channel, external_id)`` dedupe drops those already stored. This is
  deliberately not "highest stored update_id + 1": Telegram picks a *random*
  next ``update_id`` after a week without updates (Bot API, ``Update``), and an
  offset above it would silently confirm (lose) the new messages.

Sending paces to about 1 message/s per chat and 30/s overall
(:class:`channels.ratelimit.Pacer`), splits text above 4096 characters and
classifies errors with :func:`channels.telegram.errors.classify`.

Requests go over aiohttp, one session per channel, through
:class:`channels.telegram.request.AiohttpRequest` (docs/channels.md,
"Telegram's HTTP client").

The bot token is never logged: it is redacted from every error text, and the
``httpx``/``httpcore``/``telegram`` loggers (which log request URLs carrying
the token at INFO/DEBUG) are raised to WARNING when this module is imported.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar
from urllib.parse import urlencode

import aiohttp
from pydantic import SecretStr
from sqlalchemy import select
from telegram import Bot
from telegram.error import TelegramError

from channels.base import (
    Attachment,
    Channel,
    ChannelName,
    InboundMessage,
    OutboundMessage,
    SendResult,
)
from channels.errors import (
    ChannelError,
    InboundParseError,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from channels.http import ChannelSession
from channels.media import MediaFetcher, MediaPolicy, MediaRefused, skipped
from channels.polling import LeasedPoller
from channels.ratelimit import Pacer, RateGate
from channels.telegram.errors import classify, redact
from channels.telegram.parse import FileRef, file_refs, parse_update
from channels.telegram.request import AiohttpRequest
from channels.text import split_text as split_any
from storage.db import SessionFactory
from storage.models import Message
from storage.transient import is_transient
from storage.uncancelled import runs_to_end

__all__ = [
    "ALLOWED_UPDATES",
    "SECRET_HEADER",
    "WEBHOOK_PATH",
    "Accept",
    "TelegramChannel",
    "TelegramConfig",
    "api_bases",
    "lease_name_for",
    "make_bot",
    "quiet_token_loggers",
    "set_webhook",
    "verify_secret",
]

log = logging.getLogger(__name__)

#: Longest text of one Telegram message, in UTF-16 code units (Bot API "sendMessage").
MAX_MESSAGE_LENGTH = 4096
#: Bot API pacing (core.telegram.org/bots/faq, "broadcasting to users"):
#: about one message per second to a chat, 30 per second over all chats.
PER_CHAT_PER_SECOND = 1.0
OVERALL_PER_SECOND = 30.0


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """Telegram-sized parts of ``text``, in order (see :func:`channels.text.split_text`)."""
    return split_any(text, limit)


#: Commits one inbound message (``Runtime.accept``); raises when it could not.
Accept = Callable[[InboundMessage], Awaitable[object]]
#: Keeps an update that cannot be parsed: ``(source_ref, raw bytes, reason)``.
Quarantine = Callable[[str, bytes, str], Awaitable[object]]

DEFAULT_API_BASE = "https://api.telegram.org/bot"
WEBHOOK_PATH = "/webhooks/telegram"
#: Header carrying the ``secret_token`` given to ``setWebhook``.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
#: Update kinds we ask Telegram for (webhook and polling alike).
ALLOWED_UPDATES = ("message",)


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """What the Telegram channel needs, built by the gateway from its settings.

    Field names are those of the ``ADUAN_*`` settings they come from (README,
    "Configuration"); ``telegram_mode`` is ``"webhook"`` or ``"polling"``;
    secrets are ``SecretStr`` and left out of ``repr``; ``public_url`` and
    ``effective_public_url`` are for :func:`set_webhook`;
    ``attachment_max_bytes`` limits each file download.
    """

    telegram_token: SecretStr | None = field(default=None, repr=False)
    telegram_webhook_secret: SecretStr | None = field(default=None, repr=False)
    telegram_mode: str = "webhook"
    telegram_api_base: str | None = None
    public_url: str | None = None
    effective_public_url: str = ""
    attachment_max_bytes: int = 10 * 1024 * 1024


_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TOKEN_LOGGERS = ("httpx", "httpcore", "telegram")


def quiet_token_loggers() -> None:
    """Raise ``httpx``, ``httpcore`` and ``telegram`` loggers to WARNING.

    Their INFO/DEBUG records carry request URLs of the form
    ``…/bot<token>/sendMessage``. A level set explicitly to WARNING or above is
    left alone.
    """
    for name in _TOKEN_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


quiet_token_loggers()


def api_bases(settings: TelegramConfig) -> tuple[str, str]:
    """``(base_url, base_file_url)`` for ``telegram.Bot``.

    ``ADUAN_TELEGRAM_API_BASE`` overrides ``https://api.telegram.org/bot``; the
    file base is the same with ``/bot`` at the end replaced by ``/file/bot``
    (the Bot API's layout, also used by the test fake).
    """
    base = (settings.telegram_api_base or DEFAULT_API_BASE).rstrip("/")
    if base.endswith("/bot"):
        return base, base[: -len("/bot")] + "/file/bot"
    return base, base + "/file"


#: A Bot API ``file_id``: URL-safe base64 characters (Bot API "File").
FILE_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: A ``file_path`` from ``getFile``: relative, segments of ``A-Z a-z 0-9 _ . -``
#: ("photos/file_1.jpg"), no ``.`` or ``..`` segment.
FILE_PATH = re.compile(r"[A-Za-z0-9_.-]{1,128}(?:/[A-Za-z0-9_.-]{1,128}){0,7}")


def _file_path_ok(path: str) -> bool:
    return bool(FILE_PATH.fullmatch(path)) and not any(
        part in (".", "..") for part in path.split("/")
    )


def media_policy(settings: TelegramConfig, *, timeout: float = 15.0) -> MediaPolicy:
    """The fetch rules for Telegram files (docs/attachments.md): the configured
    Bot API base only (``api.telegram.org`` by default; the token is in the
    URL), no other host, ``timeout`` seconds a request and ``attachment_max_bytes``."""
    base_url, _file_url = api_bases(settings)
    return MediaPolicy(
        provider="Telegram",
        base_url=base_url,
        hosts=frozenset(),
        max_bytes=settings.attachment_max_bytes,
        timeout=timeout,
    )


def _token(settings: TelegramConfig) -> str:
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        raise ValueError("ADUAN_TELEGRAM_TOKEN is not set")
    return settings.telegram_token.get_secret_value()


#: The session's own timeout, for a request that passes none (each one does).
_SESSION_TIMEOUT = aiohttp.ClientTimeout(total=60.0, connect=15.0)


def bot_and_updates(settings: TelegramConfig, *, pool_size: int = 8) -> tuple[Bot, AiohttpRequest]:
    """A ``telegram.Bot`` for ``settings`` and the request it long-polls with.

    Both requests share one :class:`channels.http.ChannelSession` of
    ``pool_size`` + 1 connections (one for ``getUpdates``), closed by
    ``Bot.shutdown()``. Timeouts, seconds: connect 5, read/write 10, pool 10;
    ``getUpdates`` reads for as long as the call says (its wait plus a margin).

    Raises:
        ValueError: ``ADUAN_TELEGRAM_TOKEN`` is not set.
    """
    base_url, base_file_url = api_bases(settings)
    http = ChannelSession(timeout=_SESSION_TIMEOUT, limit=pool_size + 1)
    updates = AiohttpRequest(http, connect_timeout=5.0, write_timeout=10.0, pool_timeout=10.0)
    bot = Bot(
        _token(settings),
        base_url=base_url,
        base_file_url=base_file_url,
        request=AiohttpRequest(
            http, connect_timeout=5.0, read_timeout=10.0, write_timeout=10.0, pool_timeout=10.0
        ),
        get_updates_request=updates,
    )
    return bot, updates


def make_bot(settings: TelegramConfig, *, pool_size: int = 8) -> Bot:
    """A ``telegram.Bot`` for ``settings`` (see :func:`bot_and_updates`).

    Raises:
        ValueError: ``ADUAN_TELEGRAM_TOKEN`` is not set.
    """
    return bot_and_updates(settings, pool_size=pool_size)[0]


def lease_name_for(token: str) -> str:
    """``"telegram:<bot id>"``: the polling lease of a bot.

    The bot id is the numeric part before the colon of the token (public: it
    is the bot's user id); a token without one gives ``"telegram:sha256:<hex>"``.
    """
    bot_id, sep, _secret = token.partition(":")
    if sep and bot_id.isdigit():
        return f"telegram:{bot_id}"
    return "telegram:sha256:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def verify_secret(expected: str, header: str | None) -> bool:
    """True when ``header`` equals the webhook ``secret_token`` (constant-time)."""
    if not header:
        return False
    return hmac.compare_digest(expected.encode(), header.encode())


def _describe(exc: BaseException) -> str:
    """An error for the log and ``status()``: the text of network and channel
    errors, only the class of anything else (a database error's text carries
    the statement's parameters: phone numbers, names, message text)."""
    if isinstance(exc, ChannelError | OSError | TelegramError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def _transient(exc: BaseException) -> bool:
    """An outage that may pass: the database, the network or Telegram (5xx) down."""
    return is_transient(exc) or (
        isinstance(exc, TemporaryError) and not isinstance(exc, RateLimited)
    )


def _retry_after(exc: BaseException) -> float | None:
    """Seconds Telegram asked us to wait (429 ``retry_after``), else ``None``."""
    return exc.retry_after if isinstance(exc, RateLimited) else None


class TelegramChannel(Channel):
    """Telegram Bot API adapter: parse updates, poll (optional), send, download files.

    Args:
        settings: the :class:`TelegramConfig`: ``telegram_token`` (required), ``telegram_mode``,
            ``telegram_api_base``, ``attachment_max_bytes``.
        sessions: database session factory (polling lease, stored-update check).
        accept: commits one inbound message (``Runtime.accept``); raises on failure.
        quarantine: keeps an update that cannot be parsed, with the reason
            (``(source_ref, raw bytes, reason)``); without it such an update
            is only logged. Either way the offset moves past it.
        holder: this process's lease holder id (``storage.leases.new_holder_id()``).
        poll_timeout: long-poll ``timeout`` for ``getUpdates``, seconds.
        lease_ttl_seconds: polling lease lifetime; renewed every third of it.
        retry_seconds / max_backoff_seconds: polling backoff after errors,
            doubled from the first up to the second.
        download_timeout: bound on fetching one file (getFile + download), seconds.
        pacer: send pacing (a :class:`channels.ratelimit.RateGate` keyed by
            chat id); default in-process, :data:`PER_CHAT_PER_SECOND` per
            chat and :data:`OVERALL_PER_SECOND` overall.

    Raises:
        ValueError: ``ADUAN_TELEGRAM_TOKEN`` is not set.
    """

    name: ClassVar[ChannelName] = ChannelName.TELEGRAM
    interactive: ClassVar[bool] = True
    threaded: ClassVar[bool] = False

    def __init__(
        self,
        settings: TelegramConfig,
        sessions: SessionFactory,
        accept: Accept,
        *,
        holder: str,
        quarantine: Quarantine | None = None,
        poll_timeout: int = 25,
        lease_ttl_seconds: float = 60.0,
        retry_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        download_timeout: float = 15.0,
        pacer: RateGate | None = None,
    ) -> None:
        self._settings = settings
        self._token = _token(settings)
        self._sessions = sessions
        # A pass is cancelled when the lease is lost or a stop runs out of
        # grace: a commit under way finishes first (storage/uncancelled.py).
        self._accept = runs_to_end(accept)
        self._quarantine = None if quarantine is None else runs_to_end(quarantine)
        self._poll_timeout = poll_timeout
        self._download_timeout = download_timeout
        self._pacer: RateGate = pacer or Pacer(
            per_key=PER_CHAT_PER_SECOND, overall=OVERALL_PER_SECOND
        )
        self._bot, self._updates_request = bot_and_updates(settings)
        self.lease_name = lease_name_for(self._token)
        self._init_lock = asyncio.Lock()
        self._poll_lock = asyncio.Lock()
        self._offset: int | None = None
        self._progress: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._long_polling = False
        self._webhook_cleared = False
        self._loop = LeasedPoller(
            sessions,
            lease_name=self.lease_name,
            holder=holder,
            poll=self._pass,
            label="telegram polling",
            ttl_seconds=lease_ttl_seconds,
            initial_backoff=retry_seconds,
            max_backoff=max_backoff_seconds,
            transient=_transient,
            expected=lambda exc: isinstance(exc, ChannelError | TelegramError),
            describe=lambda exc: self._redact(_describe(exc)),
            retry_after=_retry_after,
            on_acquired=self._lease_taken,
            on_lost=self._lease_lost,
            stop=self._stop,
        )
        self._handled_total = 0

    # -- bot lifecycle --------------------------------------------------------

    @property
    def bot(self) -> Bot:
        """The underlying ``telegram.Bot`` (initialised lazily by :meth:`ready`)."""
        return self._bot

    @property
    def offset(self) -> int | None:
        """The next ``getUpdates`` offset (last committed ``update_id`` + 1), if any."""
        return self._offset

    @property
    def holds_lease(self) -> bool:
        """True while this channel's poller holds the bot's polling lease."""
        return self._loop.holds_lease

    def _redact(self, text: str) -> str:
        return redact(text, self._token)

    async def ready(self) -> Bot:
        """The initialised bot (``getMe`` on first use).

        Raises:
            ChannelError: classified from the Bot API error (token rejected →
                ``PermanentError``; network → ``TemporaryError``).
        """
        async with self._init_lock:
            try:
                await self._bot.initialize()
            except TelegramError as exc:
                raise classify(exc, self._token) from None
        return self._bot

    # -- inbound ----------------------------------------------------------------

    def parse(self, raw: Any) -> InboundMessage | None:
        """One decoded Update object → message or ``None``; see :func:`parse_update`.

        Raises:
            InboundParseError: malformed update.
        """
        return parse_update(raw)

    async def already_stored(self, external_id: str) -> bool:
        """True when the update with this dedupe key is already committed."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(Message.id)
                .where(
                    Message.channel == ChannelName.TELEGRAM.value,
                    Message.external_id == external_id,
                )
                .limit(1)
            )
        return found is not None

    async def _fetch(self, ref: FileRef) -> Attachment:
        """One file: ``getFile`` then its bytes, through :class:`channels.media.MediaFetcher`.

        The ``file_id`` and the ``file_path`` Telegram answers are checked by
        format first (:data:`FILE_ID`, :data:`FILE_PATH`); both requests go only
        to the configured Bot API base (the token is in their URLs) and follow
        no redirect to another host. Never raises for the fetch: a refusal or
        failure becomes an attachment with ``skipped_reason``.
        """
        limit = self._settings.attachment_max_bytes

        def refused(reason: str, size: int = 0) -> Attachment:
            return skipped("Telegram", ref.filename, ref.content_type, MediaRefused(reason, size))

        if ref.size is not None and ref.size > limit:
            return refused(f"too large: {ref.size} bytes, limit {limit} bytes", ref.size)
        if not FILE_ID.fullmatch(ref.file_id):
            return refused("refused: the file_id is not a Telegram file id")
        base_url, base_file_url = api_bases(self._settings)
        # Two requests share the download timeout.
        policy = media_policy(self._settings, timeout=self._download_timeout / 2)
        async with MediaFetcher(policy) as fetcher:
            try:
                answer = await fetcher.get_json(
                    f"{base_url}{self._token}/getFile?{urlencode({'file_id': ref.file_id})}",
                    what="download",
                )
                result = answer.get("result") if isinstance(answer, Mapping) else None
                path = result.get("file_path") if isinstance(result, Mapping) else None
                if not isinstance(path, str) or not _file_path_ok(path):
                    return refused("refused: getFile answered no usable file_path")
                size = result.get("file_size") if isinstance(result, Mapping) else None
                if isinstance(size, int) and size > limit:
                    return refused(f"too large: {size} bytes, limit {limit} bytes", size)
                fetched = await fetcher.get(f"{base_file_url}{self._token}/{path}")
            except MediaRefused as exc:
                return refused(self._redact(exc.reason), exc.size)
        return Attachment(
            ref.filename, ref.content_type, content=fetched.content, size=len(fetched.content)
        )

    async def download(self, message: InboundMessage) -> InboundMessage:
        """``message`` with the files of its update downloaded as attachments.

        Never raises for a file: one that is too large (``attachment_max_bytes``)
        or cannot be fetched within ``download_timeout`` becomes an
        :class:`Attachment` with ``skipped_reason`` and no content.
        """
        refs = file_refs(message.raw)
        if not refs:
            return message
        attachments = []
        for ref in refs:
            try:
                attachments.append(await self._fetch(ref))
            except Exception as exc:  # a file never blocks the message
                reason = self._redact(f"download failed: {type(exc).__name__}: {exc}")[:300]
                log.warning("telegram update %s: %s", message.external_id, reason)
                attachments.append(
                    Attachment(
                        ref.filename, ref.content_type, size=ref.size or 0, skipped_reason=reason
                    )
                )
        return replace(message, attachments=tuple(attachments))

    async def prepare(self, message: InboundMessage) -> InboundMessage:
        """Download files unless this update is already stored (a redelivery)."""
        if not file_refs(message.raw) or await self.already_stored(message.external_id):
            return message
        return await self.download(message)

    # -- long polling -----------------------------------------------------------

    async def _get_updates(self, wait: int) -> list[Any]:
        """Raw ``getUpdates`` result (a list of Update objects as decoded JSON).

        Parameters travel in the query string (the Bot API accepts it for
        every method) so each update reaches :meth:`parse` as Telegram sent it
        and one that cannot be decoded is skipped alone, not the whole batch.
        """
        params: dict[str, str | int] = {
            "timeout": wait,
            "allowed_updates": json.dumps(list(ALLOWED_UPDATES)),
        }
        if self._offset is not None:
            params["offset"] = self._offset
        try:
            result = await self._updates_request.post(
                url=f"{self._bot.base_url}/getUpdates?{urlencode(params)}",
                read_timeout=wait + 10.0,
            )
        except TelegramError as exc:
            raise classify(exc, self._token) from None
        if not isinstance(result, list):
            raise TemporaryError("telegram: getUpdates did not return a list")
        return result

    async def poll_once(self, wait: int = 0) -> int:
        """One ``getUpdates`` call and every update it returned, in order.

        Args:
            wait: long-poll ``timeout`` in seconds: how long Telegram may hold
                the request open when there is no update.

        Returns:
            How many updates were handled (accepted, ignored or skipped as
            unparseable); the offset has moved past each of them.

        Raises:
            ChannelError: ``getUpdates`` failed (classified; offset unchanged).
            Exception: ``accept`` failed for an update; the offset stays at it
                so the next call fetches and retries it.

        Does not take the lease: outside the polling task, callers make sure no
        other poller runs for this bot (Telegram answers 409 to a second one).
        """
        async with self._poll_lock:
            await self.ready()
            self._long_polling = True
            try:
                updates = await self._get_updates(wait)
            finally:
                self._long_polling = False
            handled = 0
            for raw in updates:
                if self._stop.is_set():
                    break
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                if not isinstance(update_id, int) or isinstance(update_id, bool):
                    log.warning("telegram: getUpdates returned an update without update_id")
                    await self._keep_aside(raw, None, "update without an integer update_id")
                    continue
                if self._offset is not None and update_id < self._offset:
                    continue  # already handled; Telegram should not resend it
                try:
                    message = self.parse(raw)
                except InboundParseError as exc:
                    log.warning("telegram update %s cannot be parsed; quarantined", update_id)
                    await self._keep_aside(raw, update_id, str(exc))
                    message = None
                if message is not None:
                    try:
                        await self._accept(await self.prepare(message))
                    except Exception as exc:
                        # The class only: a database error's text carries the
                        # statement's parameters (phone, name, message text).
                        self._loop.last_error = (
                            f"accept failed at update {update_id}: {type(exc).__name__}"
                        )
                        # A database outage is logged once by the polling loop.
                        level = logging.DEBUG if is_transient(exc) else logging.ERROR
                        log.log(level, "telegram: %s; will retry", self._loop.last_error)
                        raise
                self._offset = update_id + 1
                handled += 1
            self._handled_total += handled
            return handled

    async def _keep_aside(self, raw: Any, update_id: int | None, reason: str) -> None:
        """Hand an unparseable update to ``quarantine`` (JSON bytes, ASCII-escaped)."""
        if self._quarantine is None:
            return
        data = json.dumps(raw, ensure_ascii=True, default=str).encode()
        ref = (
            f"telegram-poll#update#{update_id}"
            if update_id is not None
            else "telegram-poll#" + hashlib.sha256(data).hexdigest()
        )
        await self._quarantine(ref, data, reason)

    async def _pass(self) -> None:
        """One pass of the polling loop: clear a webhook once, then one long poll."""
        if not self._webhook_cleared:
            bot = await self.ready()
            try:
                await bot.delete_webhook(drop_pending_updates=False)
            except TelegramError as exc:
                raise classify(exc, self._token) from None
            self._webhook_cleared = True
        await self.poll_once(self._poll_timeout)

    def _lease_taken(self) -> None:
        log.info("telegram: polling as %s", self.lease_name)
        self._offset = None  # resume from Telegram's unconfirmed updates

    def _lease_lost(self) -> None:
        self._offset = None

    async def _run(self) -> None:
        """The polling loop (:class:`channels.polling.LeasedPoller`): lease,
        getUpdates, backoff; ends at :meth:`stop`."""
        await self._loop.run()

    async def start(self) -> None:
        """Initialise the bot (``getMe``) and, in polling mode, start the poller task.

        A failing ``getMe`` is logged, not raised: the gateway still starts,
        sending retries through the outbox and the poller retries with backoff.
        """
        try:
            await self.ready()
        except ChannelError as exc:
            self._loop.last_error = str(exc)
            log.error("telegram: bot not ready: %s", exc)
        if self._settings.telegram_mode == "polling" and self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="telegram-poller")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop the poller (after the update in hand) and shut the bot down.

        A ``getUpdates`` long poll in flight is cancelled at once (nothing of it
        was accepted yet); otherwise the current update gets ``grace_seconds``,
        and a commit under way then still finishes before the cancellation
        takes effect. The lease is released.
        """
        self._stop.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            if self._long_polling:
                task.cancel()
            else:
                done, _pending = await asyncio.wait({task}, timeout=grace_seconds)
                if not done:
                    task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        try:
            await self._bot.shutdown()
        except Exception as exc:
            log.warning("telegram: shutdown: %s", self._redact(repr(exc)))
        # The HTTP session, also when the bot never got as far as initialising.
        await self._updates_request.shutdown()

    # -- outbound ---------------------------------------------------------------

    def _remember(self, key: str, done: int, first_id: str) -> None:
        self._progress[key] = (done, first_id)
        self._progress.move_to_end(key)
        while len(self._progress) > 1000:
            self._progress.popitem(last=False)

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send ``message.text`` to the chat ``message.recipient`` (a chat id).

        Text over 4096 characters goes as several messages in order (see
        :func:`split_text`), each paced per chat. If a
        later part fails, a retry of the same ``idempotency_key`` in this
        process resumes at that part. ``message.template`` is ignored
        (templates are a WhatsApp concept).

        Returns:
            ``SendResult(provider_id=str(message_id of the first part))``.

        Raises:
            PermanentError: not a chat id, empty text, bot blocked (403), chat
                not found (400), token rejected.
            RateLimited: 429 with ``retry_after`` seconds.
            TemporaryError: timeouts, network errors, 5xx.
        """
        try:
            chat_id = int(message.recipient)
        except ValueError:
            raise PermanentError(f"not a Telegram chat id: {message.recipient!r}") from None
        parts = split_text(message.text)
        if not parts:
            raise PermanentError("empty message text")
        key = message.idempotency_key
        done, first_id = self._progress.get(key, (0, ""))
        bot = await self.ready()
        for index in range(done, len(parts)):
            await self._pacer.wait(str(chat_id))
            try:
                sent = await bot.send_message(chat_id=chat_id, text=parts[index])
            except TelegramError as exc:
                raise classify(exc, self._token) from None
            first_id = first_id or str(sent.message_id)
            if index + 1 < len(parts):
                self._remember(key, index + 1, first_id)
        self._progress.pop(key, None)
        return SendResult(provider_id=first_id)

    def status(self) -> Mapping[str, Any]:
        """Mode, bot username, poller state, offset and last error (no secrets)."""
        bot_user = None
        try:
            bot_user = self._bot.username
        except RuntimeError:  # not initialised yet
            pass
        return {
            "mode": self._settings.telegram_mode,
            "bot": bot_user,
            "polling": self._task is not None and not self._task.done(),
            "holds_lease": self._loop.holds_lease,
            "offset": self._offset,
            "updates_handled": self._handled_total,
            "last_error": self._loop.last_error,
        }


async def set_webhook(settings: TelegramConfig) -> str:
    """Register ``<public_url>/webhooks/telegram`` as the bot's webhook.

    Sends ``setWebhook`` with ``secret_token=ADUAN_TELEGRAM_WEBHOOK_SECRET``
    (Telegram echoes it in ``X-Telegram-Bot-Api-Secret-Token``) and
    ``allowed_updates=["message"]``. Pending updates are kept.

    Returns:
        The registered URL.

    Raises:
        ValueError: the token or secret is not set, the secret has characters
            Telegram refuses (allowed: 1–256 of ``A-Z a-z 0-9 _ -``), or
            ``ADUAN_PUBLIC_URL`` is not an https URL (Telegram only calls https).
        ChannelError: Telegram refused (classified, token redacted).
    """
    token = _token(settings)
    if settings.telegram_webhook_secret is None:
        raise ValueError("ADUAN_TELEGRAM_WEBHOOK_SECRET is not set")
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not _SECRET_TOKEN.match(secret):
        raise ValueError(
            "ADUAN_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    if not settings.public_url or not settings.public_url.startswith("https://"):
        raise ValueError(
            "Telegram webhooks need ADUAN_PUBLIC_URL to be an https:// URL "
            f"(got {settings.public_url or 'nothing'}); without a public https address "
            "use ADUAN_TELEGRAM_MODE=polling"
        )
    url = settings.effective_public_url + WEBHOOK_PATH
    try:
        async with make_bot(settings, pool_size=1) as bot:
            await bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )
    except TelegramError as exc:
        raise classify(exc, token) from None
    return url
