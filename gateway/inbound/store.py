"""Storing what the providers sent, or keeping it aside with the reason: a signed
payload never gets a 5xx for what it contains (docs/webhooks.md, "Quarantine")."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

from sqlalchemy import exc as sa_exc

from channels.base import ChannelName, DeliveryReport, InboundMessage
from gateway.delivery import record_delivery_status
from gateway.inbound.sanitise import (
    LIMITS,
    clean_json,
    clean_text,
    cut_key,
    sanitise_message,
    sanitise_report,
)
from gateway.ingest import IngestResult
from storage.db import SessionFactory, insert_new
from storage.models import (
    QuarantinedInbound,
)
from storage.types import utcnow

log = logging.getLogger(__name__)


class Receiver(Protocol):
    """What storing needs of the process runtime (:class:`gateway.runtime.Runtime`
    is one): the database and the ingest entry point."""

    @property
    def sessions(self) -> SessionFactory:
        """Session factory of the database."""

    async def accept(self, message: InboundMessage) -> IngestResult:
        """Store ``message`` durably, exactly once (:func:`gateway.ingest.ingest`)."""


#: Errors meaning the database could not be reached: the request fails (5xx)
#: so the provider redelivers later, nothing is quarantined.
_UNAVAILABLE: Final = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)
#: Errors caused by what a payload holds: it is quarantined.
_UNSTORABLE_ERRORS: Final = (sa_exc.SQLAlchemyError, ValueError, TypeError, OverflowError)


async def quarantine(
    sessions: SessionFactory, *, channel: str, source_ref: str, raw: bytes, error: str
) -> bool:
    """Keep something received but not storable in ``quarantined_inbound``.

    ``source_ref`` identifies it at the source (unique: a redelivery adds
    nothing); ``raw`` is the payload as received; ``error`` the reason staff
    read. Commits before returning. Returns True when the row is new.
    """
    source_ref = cut_key(clean_text(source_ref), LIMITS["source_ref"])
    async with sessions() as session, session.begin():
        new_id = await insert_new(
            session,
            QuarantinedInbound,
            ("source_ref",),
            channel=channel[: LIMITS["quarantine_channel"]],
            source_ref=source_ref,
            raw=raw,
            error=clean_text(error),
            created_at=utcnow(),
        )
    log.warning(
        "%s: payload quarantined (%s)", channel, "new" if new_id is not None else "seen before"
    )
    return new_id is not None


async def keep_unparsed(
    sessions: SessionFactory, channel: str, route: str, raw: bytes, error: Exception
) -> None:
    """Quarantine a signed body of ``route`` that its channel could not parse:
    :func:`quarantine` under :func:`body_ref`, the parse error as the reason."""
    await quarantine(
        sessions, channel=channel, source_ref=body_ref(route, raw), raw=raw, error=str(error)
    )


def body_ref(route: str, raw: bytes) -> str:
    """The quarantine ``source_ref`` of a whole request body: route and SHA-256."""
    return f"{route}#{hashlib.sha256(raw).hexdigest()}"


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(clean_json(value), ensure_ascii=False, default=str).encode()


def _reason(exc: BaseException) -> str:
    """A quarantine reason for a storage error (the DBAPI message, no parameters)."""
    detail = getattr(exc, "orig", None) or exc
    return f"not storable: {type(exc).__name__}: {str(detail).splitlines()[0][:500]}"


async def _keep_aside(
    runtime: Receiver, exc: BaseException, channel: str, source_ref: str, raw: Mapping[str, Any]
) -> None:
    """Quarantine what storing raised ``exc`` for: its provider payload ``raw``
    as JSON, the storage error as the reason."""
    await quarantine(
        runtime.sessions,
        channel=channel,
        source_ref=source_ref,
        raw=_json_bytes(raw),
        error=_reason(exc),
    )


async def store_message(
    runtime: Receiver, message: InboundMessage, *, source: str
) -> IngestResult | None:
    """Sanitise and commit one message; quarantine it when it cannot be stored.

    Returns the ingest result, or ``None`` when the message was quarantined
    (``source_ref`` is ``source`` + ``#`` + the external id).

    Raises:
        sqlalchemy.exc.OperationalError, InterfaceError, ConnectionError,
        TimeoutError: the database is unreachable; the caller answers 5xx.
    """
    cleaned = sanitise_message(message)
    try:
        return await runtime.accept(cleaned)
    except _UNAVAILABLE:
        raise
    except _UNSTORABLE_ERRORS as exc:
        await _keep_aside(
            runtime, exc, str(message.channel), f"{source}#{cleaned.external_id}", message.raw
        )
        return None


async def store_report(runtime: Receiver, report: DeliveryReport, *, source: str) -> bool:
    """Sanitise and record one delivery report; quarantine it when not storable.

    Returns True when stored (new or repeat), False when quarantined.

    Raises:
        as :func:`store_message` for an unreachable database.
    """
    cleaned = sanitise_report(report)
    try:
        await record_delivery_status(
            runtime.sessions,
            channel=str(cleaned.channel),
            provider_id=cleaned.provider_id,
            status=cleaned.status,
            error_code=cleaned.error_code,
            occurred_at=cleaned.occurred_at,
            raw=dict(cleaned.raw),
        )
    except _UNAVAILABLE:
        raise
    except _UNSTORABLE_ERRORS as exc:
        ref = f"{source}#status#{cleaned.provider_id}#{cleaned.status}"
        await _keep_aside(runtime, exc, str(report.channel), ref, report.raw)
        return False
    return True


def polling_accept(runtime: Receiver) -> Callable[[InboundMessage], Awaitable[Any]]:
    """The ``accept`` for a polling channel: :func:`store_message` for it."""

    async def accept(message: InboundMessage) -> IngestResult | None:
        return await store_message(runtime, message, source=f"{message.channel}-poll")

    return accept


def polling_quarantine(
    runtime: Receiver, channel: ChannelName
) -> Callable[[str, bytes, str], Awaitable[Any]]:
    """The ``quarantine`` for a polling channel: ``(source_ref, raw, reason)``."""

    async def keep(source_ref: str, raw: bytes, reason: str) -> bool:
        return await quarantine(
            runtime.sessions, channel=str(channel), source_ref=source_ref, raw=raw, error=reason
        )

    return keep
