"""Telegram ``Update`` JSON → :class:`InboundMessage` (pure: no I/O).

Only ``message`` updates from private chats become messages; every other kind
(``edited_message``, ``callback_query``, ``my_chat_member``, channel posts,
group chats) is ``None``: acknowledged to Telegram but not stored. The dedupe
key is ``str(update_id)`` (docs/channels.md, "Dedupe keys"); the sender is
the chat id (contact-address kind ``telegram``).

Commands: ``/start`` (with or without a deep-link payload) becomes an empty
text so the intake engine greets and asks; any other ``/word args`` loses its
slash and ``@botname`` so ``/batal``, ``/help``, ``/status ADU-2026-00042``
reach :mod:`handlers.intake.commands` as the plain words. Non-text messages
(sticker, location, contact, …) have an empty text and get the intake
engine's polite prompt. Files (photo, document, voice, audio, video) are
listed by :func:`file_refs`; the channel downloads them (see
``TelegramChannel.download``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update

from channels.base import ChannelName, InboundMessage
from channels.errors import InboundParseError

__all__ = ["FileRef", "file_refs", "language_of", "normalise_command", "parse_update"]

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,64})(?:@[A-Za-z0-9_]{1,64})?(?=\s|$)")


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file attached to a Telegram message, not yet downloaded.

    ``file_id`` is what ``getFile`` takes; ``size`` is Telegram's ``file_size``
    in bytes when it gave one.
    """

    file_id: str
    filename: str
    content_type: str
    size: int | None = None


def _require(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InboundParseError(
            f"{where}{key} must be {'an integer' if kind is int else 'an object'}"
        )
    return value


def normalise_command(text: str) -> str:
    """``"/start …"`` → ``""``; ``"/batal@AduanBot"`` → ``"batal"``; other text unchanged."""
    match = _COMMAND.match(text)
    if match is None:
        return text
    if match.group(1).lower() == "start":
        return ""
    return (match.group(1) + text[match.end() :]).strip()


def language_of(code: str | None) -> str | None:
    """Telegram ``language_code`` (IETF tag) → ``"en"``, ``"id"`` or ``None``."""
    if not code:
        return None
    code = code.lower()
    if code.startswith("en"):
        return "en"
    if code == "id" or code.startswith(("id-", "in")):
        return "id"
    return None


def _validate(data: Any) -> Mapping[str, Any] | None:
    """Check the fields this module relies on; return the ``message`` object or None."""
    if not isinstance(data, Mapping):
        raise InboundParseError("update must be a JSON object")
    _require(data, "update_id", int, "")
    message = data.get("message")
    if message is None:
        return None
    if not isinstance(message, Mapping):
        raise InboundParseError("message must be an object")
    _require(message, "message_id", int, "message.")
    _require(message, "date", int, "message.")
    chat = _require(message, "chat", Mapping, "message.")
    _require(chat, "id", int, "message.chat.")
    if not isinstance(chat.get("type"), str):
        raise InboundParseError("message.chat.type must be a string")
    for key in ("text", "caption"):
        if message.get(key) is not None and not isinstance(message[key], str):
            raise InboundParseError(f"message.{key} must be a string")
    sender = message.get("from")
    if sender is not None:
        if not isinstance(sender, Mapping):
            raise InboundParseError("message.from must be an object")
        _require(sender, "id", int, "message.from.")
    return message


def parse_update(data: Any) -> InboundMessage | None:
    """Turn one decoded Update object into an inbound message.

    Args:
        data: the Update as decoded from JSON (a mapping with ``update_id``).

    Returns:
        The message, or ``None`` for updates that carry no new private-chat
        message (they are acknowledged and ignored).

    Raises:
        InboundParseError: not an object, ``update_id``, ``message_id``,
            ``date``, ``chat.id`` missing or of the wrong type, or any other
            field the Bot API types cannot be built from (the only exception
            raised, whatever the input).
    """
    if _validate(data) is None:
        return None
    try:
        return _build(data)
    except InboundParseError:
        raise
    except Exception as exc:
        # python-telegram-bot builds its objects without checking field types:
        # a wrong type anywhere in an Update raises whatever the conversion
        # hits (TypeError, ValueError, OverflowError for a date out of range,
        # AttributeError …). Every one of them means "not a valid Update".
        raise InboundParseError(f"not a Telegram update: {type(exc).__name__}") from None


def _name_part(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _build(data: Mapping[str, Any]) -> InboundMessage | None:
    update = Update.de_json(dict(data))
    message: Message | None = update.message
    if message is None or message.chat.type != "private":
        return None
    user = message.from_user
    name = ""
    if user is not None:
        name = " ".join(p for p in (_name_part(user.first_name), _name_part(user.last_name)) if p)
    text = message.text if message.text is not None else (message.caption or "")
    code = user.language_code if user is not None else None
    return InboundMessage(
        channel=ChannelName.TELEGRAM,
        external_id=str(update.update_id),
        sender=str(message.chat.id),
        text=normalise_command(text),
        received_at=message.date,
        sender_name=name or None,
        language=language_of(code if isinstance(code, str) else None),
        raw=dict(data),
    )


def _size(obj: Mapping[str, Any]) -> int | None:
    size = obj.get("file_size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def file_refs(update: Mapping[str, Any]) -> tuple[FileRef, ...]:
    """The files of an Update's ``message``, in a stable order (pure).

    Photo: the largest size only (Telegram lists sizes ascending). Document,
    audio, video: the sender's file name and MIME type when given. Voice:
    ``audio/ogg`` (OPUS). Names fall back to ``<kind>-<file_unique_id>.<ext>``.
    Entries without a ``file_id`` are skipped.
    """
    message = update.get("message")
    if not isinstance(message, Mapping):
        return ()
    refs: list[FileRef] = []
    photos = message.get("photo")
    if isinstance(photos, list):
        sizes = [p for p in photos if isinstance(p, Mapping) and _str(p, "file_id")]
        if sizes:
            best = max(
                sizes,
                key=lambda p: (_size(p) or 0, _int(p, "width") * _int(p, "height")),
            )
            unique = _str(best, "file_unique_id") or "photo"
            refs.append(FileRef(best["file_id"], f"photo-{unique}.jpg", "image/jpeg", _size(best)))
    defaults = {
        "document": ("application/octet-stream", "bin"),
        "voice": ("audio/ogg", "ogg"),
        "audio": ("audio/mpeg", "mp3"),
        "video": ("video/mp4", "mp4"),
    }
    for kind, (default_type, ext) in defaults.items():
        obj = message.get(kind)
        if not isinstance(obj, Mapping) or not _str(obj, "file_id"):
            continue
        unique = _str(obj, "file_unique_id") or kind
        refs.append(
            FileRef(
                file_id=obj["file_id"],
                filename=_str(obj, "file_name") or f"{kind}-{unique}.{ext}",
                content_type=_str(obj, "mime_type") or default_type,
                size=_size(obj),
            )
        )
    return tuple(refs)
