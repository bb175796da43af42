"""What the parsers produce from hostile input, sanitised, is accepted by the database.

Hypothesis gathers (derandomised) the messages and reports the four parsers
make of hostile payloads; all of them are then committed through the same
ingest and delivery-report code the webhooks use, on SQLite and on
PostgreSQL (which refuses NUL, lone surrogates and over-long strings that
SQLite would take).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from channels import twilio
from channels.api import parse_body
from channels.base import DeliveryReport, InboundMessage
from channels.errors import InboundParseError
from channels.telegram import parse_update
from channels.whatsapp_cloud import delivery_report, parse_payload
from gateway.delivery import record_delivery_status
from gateway.inbound.sanitise import sanitise_message, sanitise_report
from gateway.ingest import ingest
from storage.db import SessionFactory
from storage.models import DeliveryStatus, Message
from tests.fuzz.strategies import FUZZ, hostile, mutated, nasty_text
from tests.fuzz.test_parsers import API_BODY, TELEGRAM, TWILIO_FORMS, TWILIO_STATUS, WHATSAPP

Batch = tuple[list[InboundMessage], list[DeliveryReport]]


def _parsed(value: Any, parse: Callable[[Any], Batch]) -> Batch:
    try:
        return parse(value)
    except InboundParseError:
        return [], []


def _one(message: InboundMessage | None) -> Batch:
    return ([message] if message is not None else []), []


def _whatsapp(body: Any) -> Batch:
    messages, statuses = parse_payload(body)
    return messages, [delivery_report(s) for s in statuses]


def _twilio_status(form: Any) -> Batch:
    report = twilio.parse_status_form(form)
    return [], ([report] if report is not None else [])


SOURCES: list[tuple[st.SearchStrategy[Any], Callable[[Any], Batch]]] = [
    (
        st.one_of(*(mutated(f, nasty_text) for f in TWILIO_FORMS)),
        lambda f: _one(twilio.parse_form(f)),
    ),
    (mutated(TWILIO_STATUS, nasty_text), _twilio_status),
    (st.one_of(*(hostile(t) for t in WHATSAPP)), _whatsapp),
    (st.one_of(*(mutated(t, nasty_text) for t in TELEGRAM)), lambda u: _one(parse_update(u))),
    (mutated(API_BODY, nasty_text), lambda b: _one(parse_body(b))),
]


def _collector(
    strategy: st.SearchStrategy[Any],
    parse: Callable[[Any], Batch],
    messages: list[InboundMessage],
    reports: list[DeliveryReport],
) -> Callable[[], None]:
    @settings(FUZZ, max_examples=40)
    @given(value=strategy)
    def collect(value: Any) -> None:
        found, statuses = _parsed(value, parse)
        messages.extend(sanitise_message(m) for m in found)
        reports.extend(sanitise_report(r) for r in statuses)

    return collect


def gather() -> Batch:
    """Sanitised messages and reports from every parser, deterministic."""
    messages: list[InboundMessage] = []
    reports: list[DeliveryReport] = []
    for strategy, parse in SOURCES:
        _collector(strategy, parse, messages, reports)()
    return messages, reports


async def test_sanitised_parser_output_commits(any_sessions: SessionFactory) -> None:
    messages, reports = gather()
    assert len(messages) > 20 and len(reports) > 5  # the strategies reach the parsers
    keys = set()
    for message in messages:
        await ingest(any_sessions, message)
        keys.add((str(message.channel), message.external_id))
    for report in reports:
        await record_delivery_status(
            any_sessions,
            channel=str(report.channel),
            provider_id=report.provider_id,
            status=report.status,
            error_code=report.error_code,
            occurred_at=report.occurred_at,
            raw=dict(report.raw),
        )
    async with any_sessions() as s:
        stored = await s.scalar(select(func.count()).select_from(Message))
        statuses = await s.scalar(select(func.count()).select_from(DeliveryStatus))
    assert stored == len(keys)
    assert statuses == len({(str(r.channel), r.provider_id, str(r.status)) for r in reports})
