"""Test doubles: a channel that records what it is asked to send."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from channels.base import Channel, ChannelName, InboundMessage, OutboundMessage, SendResult

_ids = itertools.count(1)


class RecordingChannel(Channel):
    """Records sends; ``failures`` is a queue of exceptions raised by the next sends."""

    def __init__(self, name: ChannelName, *, interactive: bool = True) -> None:
        self.name = name  # type: ignore[misc]
        self.interactive = interactive  # type: ignore[misc]
        self.sent: list[OutboundMessage] = []
        self.failures: list[Exception] = []

    def parse(self, raw: Any) -> InboundMessage | None:
        raise NotImplementedError

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return SendResult(provider_id=f"{self.name}-{next(_ids)}")

    def texts(self) -> list[str]:
        return [m.text for m in self.sent]


def inbound(
    channel: ChannelName,
    external_id: str,
    sender: str,
    text: str,
    *,
    sender_name: str | None = None,
    subject: str | None = None,
    thread_refs: tuple[str, ...] = (),
    automatic: bool = False,
    fields: Mapping[str, str] | None = None,
    language: str | None = None,
) -> InboundMessage:
    """An inbound message as a channel would produce it."""
    return InboundMessage(
        channel=channel,
        external_id=external_id,
        sender=sender,
        text=text,
        received_at=datetime.now(UTC),
        sender_name=sender_name,
        subject=subject,
        thread_refs=thread_refs,
        automatic=automatic,
        fields=dict(fields or {}),
        language=language,
        raw={"test": True},
    )
