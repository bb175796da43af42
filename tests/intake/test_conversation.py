"""The intake conversation end to end over recording channels (docs/intake.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from channels.base import ChannelName
from storage.models import Complaint, ComplaintEvent, Conversation, ConversationState, Message
from storage.types import utcnow
from tests.fakes import inbound
from tests.runtime_fixtures import COMPLETE_COMPLAINT, Harness

TRACKING = re.compile(r"ADU-\d{4}-\d{5}")
BUDI = "budi@example.com"


async def complaints(h: Harness) -> list[Complaint]:
    async with h.runtime.sessions() as s:
        return list(await s.scalars(select(Complaint).order_by(Complaint.id)))


async def test_email_missing_customer_gets_one_reply_then_registers(harness: Harness) -> None:
    h = harness
    first = inbound(
        ChannelName.EMAIL,
        "m1@example.com",
        BUDI,
        "Saya mau komplain, laporan hasil uji kami terlambat dua minggu",
        sender_name="Budi Santoso",
        subject="Keluhan laporan",
    )
    await h.runtime.accept(first)
    await h.settle()
    assert len(h.email.sent) == 1
    ask = h.email.sent[0]
    assert "Nama pelanggan/peserta" in ask.text
    assert "Nama pengadu" not in ask.text and "Masalah yang diadukan" not in ask.text
    assert ask.subject == "Re: Keluhan laporan"
    assert ask.thread_refs == ("m1@example.com",)
    assert await complaints(h) == []

    reply = inbound(
        ChannelName.EMAIL,
        "m2@example.com",
        BUDI,
        "PT Sinar Jaya",
        subject="Re: Keluhan laporan",
        thread_refs=("ours-1@aduan", "m1@example.com"),
    )
    await h.runtime.accept(reply)
    await h.settle()
    [complaint] = await complaints(h)
    assert complaint.complainant_name == "Budi Santoso"
    assert complaint.customer_name == "PT Sinar Jaya"
    # The intent phrase ("Saya mau komplain,") is not part of the problem.
    assert complaint.problem == "laporan hasil uji kami terlambat dua minggu"
    assert complaint.received_by == "channel:email"
    assert complaint.contact_address == BUDI
    assert len(h.email.sent) == 2
    ack = h.email.sent[1]
    assert complaint.tracking_number in ack.text
    assert f"[{complaint.tracking_number}]" in (ack.subject or "")
    assert "3 hari kerja" in ack.text
    # ... and the date that standard falls on, in Indonesian, counted in working days.
    from babel.dates import format_date

    from handlers.timestandards import WorkingCalendar

    local_day = complaint.received_at.astimezone(ZoneInfo("Asia/Jakarta")).date()
    due_day = WorkingCalendar().working_days_after(local_day, 3)
    assert f"yaitu {format_date(due_day, format='full', locale='id')}" in ack.text
    assert ack.thread_refs[0] == "m2@example.com"
    async with h.runtime.sessions() as s:
        linked = await s.scalars(select(Message.complaint_id).where(Message.direction == "in"))
        assert set(linked) == {complaint.id}
        events = list(await s.scalars(select(ComplaintEvent.kind)))
        assert events == ["registered"]


async def test_email_with_everything_missing_lists_every_field_once(harness: Harness) -> None:
    h = harness
    await h.runtime.accept(inbound(ChannelName.EMAIL, "e1@x", BUDI, "Halo"))
    await h.settle()
    [ask] = h.email.sent
    for label in ("Nama pengadu", "Nama pelanggan/peserta", "Masalah yang diadukan"):
        assert label in ask.text
    # A labelled answer fills them all at once.
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "e2@x",
            BUDI,
            "Nama pengadu: Budi Santoso\nNama pelanggan/peserta: PT Sinar Jaya\n"
            "Masalah yang diadukan: sertifikat belum terbit\nsudah tiga minggu",
            thread_refs=("e1@x",),
        )
    )
    await h.settle()
    [complaint] = await complaints(h)
    assert complaint.problem == "sertifikat belum terbit\nsudah tiga minggu"


async def test_chat_asks_one_question_at_a_time_and_confirms(harness: Harness) -> None:
    h = harness
    phone = "+6281234567890"
    answers = ["Selamat pagi", "laporan hasil uji terlambat dua minggu", "Budi", "PT Sinar Jaya"]
    for i, text in enumerate(answers):
        await h.runtime.accept(inbound(ChannelName.SMS, f"s{i}", phone, text))
        await h.settle()
    texts = h.sms.texts()
    assert len(texts) == 4
    # A greeting is not the problem: the problem is asked first, then who complains.
    assert "Terima kasih telah menghubungi" in texts[0] and "ceritakan masalah" in texts[0]
    assert "nama lengkap" in texts[1]
    assert "pelanggan/peserta" in texts[2]
    assert "1. Nama pengadu: Budi" in texts[3] and "Balas YA" in texts[3]
    assert await complaints(h) == []

    await h.runtime.accept(inbound(ChannelName.SMS, "s9", phone, "Ya"))
    await h.settle()
    [complaint] = await complaints(h)
    assert (complaint.complainant_name, complaint.customer_name) == ("Budi", "PT Sinar Jaya")
    assert complaint.tracking_number in h.sms.texts()[-1]


async def test_chat_edit_by_number_before_confirming(harness: Harness) -> None:
    h = harness
    phone = "+6281234567891"
    msgs = [
        "nama saya Budi dari PT Sinar Jaya, laporan hasil uji kami terlambat dua minggu",
        "2",
        "CV Maju",
        "ya",
    ]
    for i, text in enumerate(msgs):
        await h.runtime.accept(inbound(ChannelName.SMS, f"e{i}", phone, text))
        await h.settle()
    [complaint] = await complaints(h)
    assert complaint.customer_name == "CV Maju"
    assert complaint.problem == "laporan hasil uji kami terlambat dua minggu"


async def test_answers_sent_before_the_question_arrived_are_read_not_assigned(
    harness: Harness,
) -> None:
    h = harness
    phone = "+6281234567892"
    await h.runtime.accept(inbound(ChannelName.SMS, "q0", phone, "halo"))
    await h.settle()
    # Three messages stored back to back, before any is processed (the quiet gap
    # is off in this harness, so each is a turn of its own): only the first can
    # answer the question the bot had asked (the problem); the others were typed
    # before any next question existed and are read for what they say — a name,
    # an organisation — never put in the slot of a question not yet seen.
    for i, text in enumerate(
        ["pupuk bersubsidi tidak sampai ke kelompok kami", "Siti Aminah", "Koperasi Tani Makmur"]
    ):
        await h.runtime.accept(inbound(ChannelName.SMS, f"q{i + 1}", phone, text))
    await h.settle()
    async with h.runtime.sessions() as s:
        conv = await s.scalar(select(Conversation))
        assert conv is not None
        assert conv.fields == {
            "problem": "pupuk bersubsidi tidak sampai ke kelompok kami",
            "complainant_name": "Siti Aminah",
            "customer_name": "Koperasi Tani Makmur",
        }
        assert conv.state == ConversationState.CONFIRMING
    # Each question went out at most once (with the gap off the next one is sent
    # while the later messages wait), and none of them was answered by a message
    # typed before it.
    texts = h.sms.texts()
    assert sum("nama lengkap" in t for t in texts) == 1
    assert sum("pelanggan/peserta siapa" in t for t in texts) <= 1
    assert "1. Nama pengadu: Siti Aminah" in texts[-1]


async def test_invalid_answer_is_explained_and_asked_again(harness: Harness) -> None:
    h = harness
    phone = "+6281234567893"
    for i, text in enumerate(["halo", "Budi", "PT X", "rusak"]):
        await h.runtime.accept(inbound(ChannelName.SMS, f"i{i}", phone, text))
        await h.settle()
    assert "minimal 10 huruf" in h.sms.texts()[-1]
    assert "ceritakan masalah" in h.sms.texts()[-1]


async def test_english_complainant_gets_english_replies(harness: Harness) -> None:
    h = harness
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "en1@x",
            "john@example.com",
            "Hello, my test report from your lab is two weeks late and I have not received it",
            sender_name="John Smith",
        )
    )
    await h.settle()
    [ask] = h.email.sent
    assert ask.language == "en"
    assert "Customer or participant name" in ask.text and "Please reply" in ask.text


async def test_status_only_for_the_contact_who_filed(harness: Harness) -> None:
    h = harness
    complaint = await h.file("st1@x", BUDI)
    assert [c.id for c in await complaints(h)] == [complaint.id]
    number = complaint.tracking_number

    await h.runtime.accept(inbound(ChannelName.EMAIL, "st2@x", BUDI, f"status {number.lower()}"))
    await h.runtime.accept(
        inbound(ChannelName.EMAIL, "st3@x", "eve@example.com", f"STATUS {number}")
    )
    await h.settle()
    own = next(m for m in h.email.sent if m.recipient == BUDI and "Diterima" in m.text)
    assert number in own.text
    other = next(m for m in h.email.sent if m.recipient == "eve@example.com")
    assert "tidak ditemukan" in other.text and "Diterima" not in other.text
    # The stranger's status request opened no draft.
    async with h.runtime.sessions() as s:
        assert (
            await s.scalar(
                select(Conversation).where(Conversation.contact_id != complaint.contact_id)
            )
        ) is None


async def test_cancel_and_help(harness: Harness) -> None:
    h = harness
    phone = "+6281234567894"
    script = ["halo", "laporan hasil uji terlambat dua minggu", "Budi", "batal", "bantuan", "help"]
    for i, text in enumerate(script):
        await h.runtime.accept(inbound(ChannelName.SMS, f"c{i}", phone, text))
        await h.settle()
    texts = h.sms.texts()
    assert "dibatalkan" in texts[3]
    assert "STATUS <nomor pengaduan>" in texts[4]
    assert "STATUS <tracking number>" in texts[5]
    async with h.runtime.sessions() as s:
        conv = await s.scalar(select(Conversation))
        assert conv is not None and conv.state == ConversationState.CANCELLED
        # kept, not dropped
        assert conv.fields == {
            "problem": "laporan hasil uji terlambat dua minggu",
            "complainant_name": "Budi",
        }


async def test_automatic_mail_is_stored_but_never_answered(harness: Harness) -> None:
    h = harness
    await h.runtime.accept(
        inbound(ChannelName.EMAIL, "auto@x", BUDI, "I am out of the office", automatic=True)
    )
    await h.settle()
    assert h.email.sent == []
    async with h.runtime.sessions() as s:
        msg = await s.scalar(select(Message))
        assert msg is not None and msg.processed_at is not None


async def test_follow_up_on_registered_complaint_by_tracking_number(harness: Harness) -> None:
    h = harness
    complaint = await h.file("f1@x", BUDI)
    assert [c.id for c in await complaints(h)] == [complaint.id]
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "f2@x",
            BUDI,
            "Tambahan: nomor order kami 123",
            subject=f"Tambahan [{complaint.tracking_number}]",
        )
    )
    await h.settle()
    assert [c.id for c in await complaints(h)] == [complaint.id]
    async with h.runtime.sessions() as s:
        msg = await s.scalar(select(Message).where(Message.external_id == "f2@x"))
        assert msg is not None and msg.complaint_id == complaint.id
        kinds = list(await s.scalars(select(ComplaintEvent.kind).order_by(ComplaintEvent.id)))
        assert kinds == ["registered", "complainant_message"]
    assert "ditambahkan" in h.email.sent[-1].text


async def test_expired_draft_is_kept_and_the_complainant_told_once(harness: Harness) -> None:
    h = harness
    phone = "+6281234567895"
    await h.runtime.accept(inbound(ChannelName.SMS, "x1", phone, "halo"))
    await h.settle()
    async with h.runtime.sessions() as s, s.begin():
        await s.execute(update(Conversation).values(expires_at=utcnow() - timedelta(minutes=1)))
    processor = h.runtime.processor
    assert processor is not None
    assert await processor.expire_conversations() == 1
    assert await processor.expire_conversations() == 0
    await h.settle()
    assert "tidak ada balasan selama 72 jam" in h.sms.texts()[-1]
    assert sum("tidak ada balasan" in t for t in h.sms.texts()) == 1
    async with h.runtime.sessions() as s:
        conv = await s.scalar(select(Conversation))
        assert conv is not None and conv.state == ConversationState.EXPIRED
    # A new message starts a new draft.
    await h.runtime.accept(inbound(ChannelName.SMS, "x2", phone, "halo lagi"))
    await h.settle()
    async with h.runtime.sessions() as s:
        assert len(list(await s.scalars(select(Conversation)))) == 2


async def test_tracking_numbers_are_sequential(harness: Harness) -> None:
    h = harness
    for i in range(3):
        await h.runtime.accept(
            inbound(
                ChannelName.EMAIL,
                f"t{i}@x",
                f"user{i}@example.com",
                COMPLETE_COMPLAINT,
            )
        )
    await h.settle()
    numbers = [c.tracking_number for c in await complaints(h)]
    year = utcnow().astimezone(ZoneInfo("Asia/Jakarta")).year
    assert numbers == [f"ADU-{year}-00001", f"ADU-{year}-00002", f"ADU-{year}-00003"]
    assert all(TRACKING.fullmatch(n) for n in numbers)


async def test_old_mail_is_recorded_but_not_answered(harness: Harness) -> None:
    from dataclasses import replace

    h = harness
    old = replace(
        inbound(
            ChannelName.EMAIL,
            "old@x",
            BUDI,
            "Nama: Budi\nPelanggan: PT A\nMasalah: laporan hasil uji terlambat",
        ),
        received_at=utcnow() - timedelta(days=30),
    )
    await h.runtime.accept(old)
    await h.settle()
    assert h.email.sent == []
    [complaint] = await complaints(h)  # recorded all the same, for staff to follow up
    assert complaint.received_at == old.received_at


async def test_chat_number_with_an_open_complaint_continues_its_thread(harness: Harness) -> None:
    h = harness
    phone = "+6281234567896"
    script = ["halo", "laporan hasil uji terlambat dua minggu", "Budi", "PT Sinar Jaya", "ya"]
    for i, text in enumerate(script):
        await h.runtime.accept(inbound(ChannelName.SMS, f"o{i}", phone, text))
        await h.settle()
    [complaint] = await complaints(h)
    # A later message from the same number is part of that complaint, not a new draft.
    await h.runtime.accept(inbound(ChannelName.SMS, "o9", phone, "sudah ada kabar?"))
    await h.settle()
    assert "ditambahkan ke pengaduan " + complaint.tracking_number in h.sms.texts()[-1]
    assert "kirim BARU" in h.sms.texts()[-1]
    async with h.runtime.sessions() as s:
        msg = await s.scalar(select(Message).where(Message.external_id == "o9"))
        assert msg is not None and msg.complaint_id == complaint.id and msg.conversation_id is None
    # "baru" starts a second complaint.
    for i, text in enumerate(
        ["baru", "sertifikat belum terbit sampai sekarang", "Budi", "CV Lain", "ya"]
    ):
        await h.runtime.accept(inbound(ChannelName.SMS, f"n{i}", phone, text))
        await h.settle()
    assert len(await complaints(h)) == 2
    assert "Terima kasih telah menghubungi" in h.sms.texts()[-5]


async def test_chat_profile_name_is_offered_not_assumed(harness: Harness) -> None:
    h = harness
    phone = "+6281234567897"
    problem = "laporan hasil uji terlambat dua minggu"
    for i, text in enumerate(["halo", problem]):
        await h.runtime.accept(inbound(ChannelName.SMS, f"p{i}", phone, text, sender_name="Budi S"))
        await h.settle()
    assert "Apakah Budi S? Balas YA" in h.sms.texts()[-1]
    await h.runtime.accept(inbound(ChannelName.SMS, "p9", phone, "iya"))
    await h.settle()
    async with h.runtime.sessions() as s:
        conv = await s.scalar(select(Conversation))
        assert conv is not None and conv.fields == {
            "problem": problem,
            "complainant_name": "Budi S",
        }
    # Another contact types a different name instead; a phone's name is never offered.
    other = "+6281234567898"
    for i, text in enumerate(["halo", problem, "Siti Aminah"]):
        await h.runtime.accept(
            inbound(ChannelName.SMS, f"q{i}", other, text, sender_name="HP Samsung")
        )
        await h.settle()
    assert not any("Samsung" in t for t in h.sms.texts())
    async with h.runtime.sessions() as s:
        names = sorted(
            (c.fields or {}).get("complainant_name", "")
            for c in await s.scalars(select(Conversation))
        )
    assert names == ["Budi S", "Siti Aminah"]


async def test_a_sticker_gets_a_polite_prompt(harness: Harness) -> None:
    h = harness
    phone = "+6281234567899"
    await h.runtime.accept(inbound(ChannelName.SMS, "k0", phone, "halo"))
    await h.runtime.accept(inbound(ChannelName.SMS, "k1", phone, ""))  # sticker, location …
    await h.settle()
    assert "hanya dapat membaca pesan teks" in h.sms.texts()[-1]
    assert "ceritakan masalah" in h.sms.texts()[-1]
    async with h.runtime.sessions() as s:
        conv = await s.scalar(select(Conversation))
        assert conv is not None and conv.fields == {}


async def _to_confirming(h: Harness, phone: str) -> None:
    for i, text in enumerate(
        ["halo", "pupuk bersubsidi tidak sampai ke kelompok kami", "Siti Aminah", "Koperasi Tani"]
    ):
        await h.runtime.accept(inbound(ChannelName.SMS, f"{phone}-{i}", phone, text))
        await h.settle()
    assert "1. Nama pengadu: Siti Aminah" in h.sms.texts()[-1]


async def test_yes_crossing_a_summary_in_flight_waits_for_it_to_settle(harness: Harness) -> None:
    """The summary was handed to the provider (maybe already on the phone) but its
    ``sent`` record is not committed yet when "ya" arrives: the turn waits for the
    record instead of reading "ya" as more of the story, then registers."""
    from gateway.ingest import ingest_batch
    from storage.models import OutboxMessage, OutboxStatus

    h = harness
    phone = "+6281234567899"
    await _to_confirming(h, phone)
    async with h.runtime.sessions() as s, s.begin():
        summary = await s.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
        assert summary is not None and summary.status == OutboxStatus.SENT
        sent_at = summary.sent_at
        summary.status = OutboxStatus.SENDING.value
        summary.sent_at = None
        summary.lease_until = utcnow() + timedelta(seconds=30)
    [stored] = await ingest_batch(
        h.runtime.sessions, [inbound(ChannelName.SMS, "ya-1", phone, "ya")]
    )
    processor = h.runtime.processor
    assert processor is not None
    deferred: list[tuple[int, float]] = []
    processor.defer = lambda contact, seconds: deferred.append((contact, seconds))

    assert await processor.process_contact(stored.contact_id) == 0
    assert deferred and deferred[0][0] == stored.contact_id and 0 < deferred[0][1] <= 1.0
    assert await complaints(h) == []
    async with h.runtime.sessions() as s:
        ya = await s.scalar(select(Message).where(Message.external_id == "ya-1"))
        assert ya is not None and ya.processed_at is None  # rolled back, not consumed
        conv = await s.scalar(select(Conversation))
        assert conv is not None and conv.state == ConversationState.CONFIRMING

    # The provider had accepted it before "ya" was typed: the record lands.
    async with h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == summary.id)
            .values(status=OutboxStatus.SENT.value, sent_at=sent_at, lease_until=None)
        )
    assert await processor.process_contact(stored.contact_id) == 1
    [complaint] = await complaints(h)
    assert complaint.complainant_name == "Siti Aminah"


async def test_yes_after_a_summary_stuck_in_flight_counts_as_seen(harness: Harness) -> None:
    """A summary left ``sending`` by a sender that died does not hold the turn for
    ever: past the settle limit the complainant's "ya" is taken as an answer."""
    from gateway.ingest import ingest_batch
    from handlers.intake.turns import QUESTION_SETTLE_SECONDS
    from storage.models import OutboxMessage, OutboxStatus

    h = harness
    phone = "+6281234567898"
    await _to_confirming(h, phone)
    async with h.runtime.sessions() as s, s.begin():
        summary = await s.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
        assert summary is not None
        summary.status = OutboxStatus.SENDING.value
        summary.sent_at = None
        summary.lease_until = utcnow() + timedelta(seconds=30)
    [stored] = await ingest_batch(
        h.runtime.sessions, [inbound(ChannelName.SMS, "ya-2", phone, "ya")]
    )
    async with h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(Message)
            .where(Message.external_id == "ya-2")
            .values(created_at=utcnow() - timedelta(seconds=QUESTION_SETTLE_SECONDS + 1))
        )
    processor = h.runtime.processor
    assert processor is not None
    assert await processor.process_contact(stored.contact_id) == 1
    assert len(await complaints(h)) == 1
