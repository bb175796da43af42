"""The reply box's preview and the real send take the same route, case by case
(docs/channels.md, "WhatsApp's 24-hour window"; docs/architecture.md, "Where each
decision lives").

Each case builds a runtime with recording channels, a contact with addresses
in a given id order and a last WhatsApp message some hours ago (or none),
asks the inbox preview (:func:`gateway.inbox.reply_route.reply_route`) where a
reply goes, then stages the reply (as staff, or automatically) and runs the
real dispatcher. Both must name the expected route.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.base import ChannelName
from gateway.inbox.reply_route import ReplyRoute, WindowPlan, reply_route
from gateway.ingest import ingest
from gateway.runtime import Runtime
from handlers.notifications import notify_complainant
from handlers.route_decision import RouteFacts, decide_route
from handlers.route_facts import load_route_facts
from handlers.workflow import Actor
from storage.models import Complaint, Contact, ContactAddress, OutboxMessage, OutboxStatus
from storage.types import utcnow
from tests.fakes import RecordingChannel, inbound
from tests.gateway.window_runtime import WHATSAPP_TEMPLATE, runtime_with_template

PHONE = "+6281234567890"
PHONE2 = "+6281111111111"
MAIL1 = "a@example.id"
MAIL2 = "b@example.id"
ALL = ("whatsapp", "sms", "email")
TEMPLATE = "aduan_pembaruan"

#: A route as both sides name it: (channel, address, template name or None),
#: ("refused",) when it cannot be sent, ("waiting", channel, address) when the
#: channel is not configured (the row waits in the outbox).
Seen = tuple[str | None, ...]


@dataclass(frozen=True)
class Case:
    name: str
    hours: float | None  # since the contact's last WhatsApp message; None: never wrote
    template: bool
    addresses: tuple[tuple[str, str], ...]  # (kind, address) in id order
    expected: Seen
    enabled: tuple[str, ...] = ALL
    sender: str = "staff"  # "staff": a staff reply; "system": an automatic message


PHONE_ONLY = (("phone", PHONE),)
CASES = [
    Case("inside the window, template", 2, True, PHONE_ONLY, ("whatsapp", PHONE, None)),
    Case("inside the window, no template", 2, False, PHONE_ONLY, ("whatsapp", PHONE, None)),
    Case("just inside the margin", 23 + 54 / 60, False, PHONE_ONLY, ("whatsapp", PHONE, None)),
    Case("just outside, template", 23 + 56 / 60, True, PHONE_ONLY, ("whatsapp", PHONE, TEMPLATE)),
    Case("exactly 24 h, template", 24, True, PHONE_ONLY, ("whatsapp", PHONE, TEMPLATE)),
    Case("exactly 24 h, no template: SMS", 24, False, PHONE_ONLY, ("sms", PHONE, None)),
    Case("never wrote, template", None, True, PHONE_ONLY, ("whatsapp", PHONE, TEMPLATE)),
    Case("never wrote, no template: SMS", None, False, PHONE_ONLY, ("sms", PHONE, None)),
    Case(
        "older second number first",
        30,
        False,
        (("phone", PHONE2), ("phone", PHONE)),
        ("sms", PHONE2, None),
    ),
    Case(
        "WhatsApp number first",
        30,
        False,
        (("phone", PHONE), ("phone", PHONE2)),
        ("sms", PHONE, None),
    ),
    Case(
        "email older than phone: SMS still first",
        30,
        False,
        (("email", MAIL1), ("phone", PHONE)),
        ("sms", PHONE, None),
    ),
    Case(
        "SMS off: the older email",
        30,
        False,
        (("phone", PHONE), ("email", MAIL2), ("email", MAIL1)),
        ("email", MAIL2, None),
        enabled=("whatsapp", "email"),
    ),
    Case(
        "SMS off: emails the other way round",
        30,
        False,
        (("phone", PHONE), ("email", MAIL1), ("email", MAIL2)),
        ("email", MAIL1, None),
        enabled=("whatsapp", "email"),
    ),
    Case(
        "SMS off, no email: refused",
        30,
        False,
        PHONE_ONLY,
        ("refused",),
        enabled=("whatsapp", "email"),
    ),
    Case(
        "SMS and email off: refused",
        30,
        False,
        (("phone", PHONE), ("email", MAIL1)),
        ("refused",),
        enabled=("whatsapp",),
    ),
    Case(
        "WhatsApp off: waits",
        2,
        False,
        PHONE_ONLY,
        ("waiting", "whatsapp", PHONE),
        enabled=("sms", "email"),
    ),
    Case("automatic, inside", 2, True, PHONE_ONLY, ("whatsapp", PHONE, None), sender="system"),
    Case(
        "automatic, template", 48, True, PHONE_ONLY, ("whatsapp", PHONE, TEMPLATE), sender="system"
    ),
    Case(
        "automatic, fallback",
        48,
        False,
        (("phone", PHONE2), ("phone", PHONE)),
        ("sms", PHONE2, None),
        sender="system",
    ),
]


async def runtime_for(tmp_path: Path, case: Case) -> tuple[Runtime, list[RecordingChannel]]:
    channels = {name: RecordingChannel(ChannelName(name)) for name in case.enabled}
    runtime = await runtime_with_template(
        tmp_path, template=WHATSAPP_TEMPLATE if case.template else None, channels=channels
    )
    return runtime, list(channels.values())


async def complaint_for(runtime: Runtime, case: Case) -> Complaint:
    """A contact with ``case.addresses`` (in that id order), its last WhatsApp
    message ``case.hours`` ago, and a complaint: by WhatsApp, or by the web form
    with the phone number when the contact never wrote on WhatsApp."""
    async with runtime.sessions() as s, s.begin():
        contact = Contact(display_name="Budi")
        s.add(contact)
        await s.flush()
        for kind, address in case.addresses:
            s.add(ContactAddress(contact_id=contact.id, kind=kind, address=address))
            await s.flush()
        contact_id = contact.id
    if case.hours is not None:
        message = replace(
            inbound(ChannelName.WHATSAPP, "wamid.1", PHONE, "halo"),
            received_at=utcnow() - timedelta(hours=case.hours),
        )
        assert (await ingest(runtime.sessions, message)).contact_id == contact_id
    async with runtime.sessions() as s, s.begin():
        complaint = Complaint(
            tracking_number="ADU-TEST-1",
            contact_id=contact_id,
            channel="whatsapp" if case.hours is not None else "web",
            contact_address=PHONE,
            complainant_name="Budi",
            customer_name="PT Sinar Jaya",
            problem="laporan hasil uji terlambat",
            received_at=utcnow() - timedelta(days=3),
            received_by="system",
        )
        s.add(complaint)
    return complaint


def previewed(route: ReplyRoute) -> Seen:
    if route.window is WindowPlan.UNDELIVERABLE:
        return ("refused",)
    if not route.enabled:
        return ("waiting", route.channel, route.address)
    if route.window is WindowPlan.FALLBACK:
        return (route.fallback_channel, route.fallback_address, None)
    return (route.channel, route.address, route.template)


async def sent(runtime: Runtime, channels: list[RecordingChannel]) -> Seen:
    async with runtime.sessions() as s:
        [row] = list(await s.scalars(select(OutboxMessage)))
    out = [m for c in channels for m in c.sent]
    if row.status == OutboxStatus.FAILED:
        assert row.error_code == "window_closed" and out == []
        return ("refused",)
    if not out:
        assert row.status == OutboxStatus.PENDING
        return ("waiting", row.channel, row.recipient)
    [message] = out
    assert row.status == OutboxStatus.SENT and row.channel == message.channel.value
    if message.template is not None:
        assert row.sent_as == "template"
        assert message.template.variables[0] == "ADU-TEST-1"
    elif message.channel is not ChannelName.WHATSAPP:
        assert row.sent_as == f"fallback:{message.channel.value}"
    return (
        message.channel.value,
        message.recipient,
        message.template.name if message.template else None,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_the_preview_and_the_send_take_the_same_route(tmp_path: Path, case: Case) -> None:
    runtime, channels = await runtime_for(tmp_path, case)
    complaint = await complaint_for(runtime, case)
    enabled = list(runtime.channels)
    async with runtime.sessions() as s:
        preview = await reply_route(
            s, profile=runtime.profile, complaint=complaint, enabled=enabled, now=utcnow()
        )
        facts = await load_route_facts(
            s,
            channel="whatsapp",
            recipient=PHONE,
            contact_id=complaint.contact_id,
            profile=runtime.profile,
            enabled=enabled,
        )
    decided = decide_route(facts, utcnow())
    if case.sender == "staff":
        await runtime.staff.message(
            complaint.id, "Sedang diperiksa.\nMohon ditunggu.", Actor("sri", "admin")
        )
    else:
        async with runtime.work() as s:
            loaded = await s.get(Complaint, complaint.id)
            assert loaded is not None
            await notify_complainant(
                s,
                runtime.writer,
                loaded,
                "Status: ditindaklanjuti.",
                actor="system",
                enabled=enabled,
            )
    assert runtime.dispatcher is not None
    await runtime.dispatcher.dispatch_due()

    assert previewed(preview) == case.expected
    assert await sent(runtime, channels) == case.expected
    if case.expected[0] == "refused":
        assert decided.refusal_code == "window_closed"
    elif case.expected[0] != "waiting":
        assert (decided.channel, decided.recipient, decided.template_name) == case.expected
    await runtime.engine.dispose()


def test_the_window_ends_five_minutes_early_to_the_second() -> None:
    """The pure decision at fixed times: free text strictly before 23 h 55 min."""
    last = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    facts = RouteFacts("whatsapp", PHONE, ALL, last_inbound_at=last, addresses=PHONE_ONLY)
    ends = last + timedelta(hours=23, minutes=55)
    before = decide_route(facts, ends - timedelta(seconds=1))
    assert (before.channel, before.sent_as, before.window_ends_at) == ("whatsapp", "text", ends)
    at = decide_route(facts, ends)
    assert (at.channel, at.recipient, at.sent_as) == ("sms", PHONE, "fallback:sms")
    refused = decide_route(replace(facts, enabled=("whatsapp",)), ends)
    assert not refused.sendable and refused.refusal_code == "window_closed"
    templated = decide_route(replace(facts, template_name=TEMPLATE), ends)
    assert (templated.sent_as, templated.template_name) == ("template", TEMPLATE)


def test_other_channels_pass_through() -> None:
    route = decide_route(RouteFacts("email", MAIL1, ("email",)), datetime(2026, 3, 2, tzinfo=UTC))
    assert (route.channel, route.recipient, route.sent_as, route.window_ends_at) == (
        "email",
        MAIL1,
        "text",
        None,
    )
