"""The intake conversation understands how people write, over signed Twilio SMS webhooks.

One conversation per kind of writing the bot must not get wrong (docs/intake.md):
an opening that only greets, a burst sent before any question, an introduction
with titles and a position, a name answer that names the organisation, a
correction in plain words at the summary, a vague opening, and "for myself".
Each ends registered with exactly the right fields, with no question for
something already said, and with the tracking number sent back. A burst of
three messages within one second, with the profile's own quiet gap, gets one
question back.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from itertools import count

from sqlalchemy import select

from channels.base import ChannelName
from channels.twilio import INBOUND_PATH
from storage.models import Complaint, Message
from tests.twilio.conftest import Gateway, GatewayFactory
from tests.twilio.test_conversation import inbound_form

TRACKING = re.compile(r"ADU-\d{4}-\d{5}")
_sids = count(1)

#: What each question is about, by a phrase of its Indonesian prompt.
ASKS = {
    "problem": "ceritakan masalah",
    "clarify": "apa yang terjadi",
    "complainant_name": "nama lengkap",
    "customer_name": "pelanggan/peserta siapa",
    "summary": "Balas YA",
}


@dataclass
class Sms:
    """One complainant's phone talking to the gateway."""

    gateway: Gateway
    sender: str
    replies: list[str] = field(default_factory=list)

    async def send(self, *texts: str) -> list[str]:
        """Post ``texts`` as signed webhooks back to back (one burst); the replies."""
        before = len(self.gateway.fake.messages)
        for text in texts:
            sid = f"SMfeed{next(_sids):028d}"
            resp = await self.gateway.post(
                INBOUND_PATH, inbound_form(ChannelName.SMS, self.sender, sid, text)
            )
            assert resp.status == 200
        await self.gateway.settle()
        new = [m["Body"] for m in self.gateway.fake.messages[before:] if m["To"] == self.sender]
        self.replies.extend(new)
        return new

    def asked(self, what: str) -> int:
        """How many replies asked about ``what`` (a key of :data:`ASKS`)."""
        return sum(ASKS[what] in reply for reply in self.replies)

    async def complaint(self) -> Complaint:
        async with self.gateway.runtime.sessions() as s:
            [row] = list(
                await s.scalars(select(Complaint).where(Complaint.contact_address == self.sender))
            )
        return row


async def registered(sms: Sms, expected: dict[str, str | None]) -> Complaint:
    """The complaint is registered with exactly ``expected``, its number sent back."""
    complaint = await sms.complaint()
    got = {
        "complainant_name": complaint.complainant_name,
        "complainant_title": complaint.complainant_title,
        "customer_name": complaint.customer_name,
        "problem": complaint.problem,
    }
    assert got == {"complainant_title": None, **expected}
    assert complaint.tracking_number in sms.replies[-1]
    return complaint


async def test_an_opening_that_only_greets_is_never_the_problem(
    make_gateway: GatewayFactory,
) -> None:
    sms = Sms(await make_gateway(), "+6281311110001")
    [reply] = await sms.send("slmt siang bu, maaf mau tanya")
    assert ASKS["problem"] in reply
    await sms.send("kartu keluarga saya sdh 3 minggu blm dicetak padahal berkas lengkap")
    await sms.send("Wagiyo")
    await sms.send("untuk saya sendiri")
    await sms.send("iya")
    await registered(
        sms,
        {
            "complainant_name": "Wagiyo",
            "customer_name": "Wagiyo",
            "problem": "kartu keluarga saya sdh 3 minggu blm dicetak padahal berkas lengkap",
        },
    )
    assert sms.asked("problem") == 1 and sms.asked("complainant_name") == 1


async def test_a_burst_before_any_question_is_read_as_one_turn(
    make_gateway: GatewayFactory,
) -> None:
    # The quiet gap is short here to keep the test fast; the next test uses the
    # profile's own gap.
    sms = Sms(await make_gateway(turn_gap_seconds=0.6), "+6281311110002")
    replies = await sms.send(
        "assalamualaikum",
        "sy mau lapor",
        "timbangan yg kami kalibrasi bulan lalu",
        "sertifikatnya salah nomor seri",
    )
    assert len(replies) == 1 and ASKS["complainant_name"] in replies[0]
    await sms.send("Dedi Kurniawan dari UD Sinar Timbang")
    await sms.send("ya")
    await registered(
        sms,
        {
            "complainant_name": "Dedi Kurniawan",
            "customer_name": "UD Sinar Timbang",
            "problem": "timbangan yg kami kalibrasi bulan lalu\nsertifikatnya salah nomor seri",
        },
    )
    assert sms.asked("customer_name") == 0 and sms.asked("problem") == 0


async def test_three_messages_within_a_second_get_one_question_back(
    make_gateway: GatewayFactory,
) -> None:
    # turn_gap_seconds=None: the SOP profile's own quiet gap (2.5 s by default).
    gateway = await make_gateway(turn_gap_seconds=None)
    sms = Sms(gateway, "+6281311110003")
    started = asyncio.get_running_loop().time()
    replies = await sms.send("halo", "mau komplain", "hasil uji air sumur kami belum keluar")
    assert asyncio.get_running_loop().time() - started >= 2.0  # it waited for the gap
    assert len(replies) == 1, replies
    assert ASKS["complainant_name"] in replies[0]
    async with gateway.runtime.sessions() as s:
        stored = list(await s.scalars(select(Message).where(Message.direction == "in")))
    # All three were stored (and acknowledged) and are part of one draft.
    assert len(stored) == 3 and len({m.conversation_id for m in stored}) == 1


async def test_titles_and_a_position_are_read_out_of_an_introduction(
    make_gateway: GatewayFactory,
) -> None:
    sms = Sms(await make_gateway(), "+6281311110004")
    replies = await sms.send(
        "Selamat pagi. Perkenalkan, saya Dr. Ir. Hj. Ratna Sari Dewi, M.Si., kepala "
        "Laboratorium Kesehatan Daerah Kabupaten Semarang. Tagihan uji profisiensi kami "
        "sudah dibayar tanggal 3 Mei tapi di sistem masih tertulis belum lunas."
    )
    assert ASKS["summary"] in replies[0]
    await sms.send("ya")
    await registered(
        sms,
        {
            "complainant_name": "Ratna Sari Dewi",
            "complainant_title": "Dr. Ir. Hj., M.Si.",
            "customer_name": "Laboratorium Kesehatan Daerah Kabupaten Semarang",
            "problem": "Tagihan uji profisiensi kami sudah dibayar tanggal 3 Mei tapi di sistem "
            "masih tertulis belum lunas.",
        },
    )


async def test_a_name_answer_that_names_the_organisation_fills_both(
    make_gateway: GatewayFactory,
) -> None:
    sms = Sms(await make_gateway(), "+6281311110005")
    await sms.send("vaksin di lemari pendingin kami rusak krn termometernya salah kalibrasi")
    await sms.send("Rina Marlina, dari Puskesmas Sukamaju")
    await sms.send("betul")
    await registered(
        sms,
        {
            "complainant_name": "Rina Marlina",
            "customer_name": "Puskesmas Sukamaju",
            "problem": "vaksin di lemari pendingin kami rusak krn termometernya salah kalibrasi",
        },
    )
    assert sms.asked("customer_name") == 0


async def test_a_correction_in_plain_words_at_the_summary_is_understood(
    make_gateway: GatewayFactory,
) -> None:
    sms = Sms(await make_gateway(), "+6281311110006")
    await sms.send(
        "sy Yohanes dari CV Tenun Ikat Sikka, sertifikat SNI kain kami blm terbit sdh 2 bulan"
    )
    [summary] = await sms.send("nama perusahaannya keliru, seharusnya CV Tenun Ikat Sikka Indah")
    assert "CV Tenun Ikat Sikka Indah" in summary and ASKS["summary"] in summary
    await sms.send("ya")
    await registered(
        sms,
        {
            "complainant_name": "Yohanes",
            "customer_name": "CV Tenun Ikat Sikka Indah",
            "problem": "sertifikat SNI kain kami blm terbit sdh 2 bulan",
        },
    )


async def test_a_vague_opening_gets_one_question_about_what_happened(
    make_gateway: GatewayFactory,
) -> None:
    sms = Sms(await make_gateway(), "+6281311110007")
    [reply] = await sms.send("pelayanan di loket parah bgt")
    assert ASKS["clarify"] in reply
    await sms.send("sy disuruh bolak balik 4x cuma buat legalisir 1 lembar ijazah")
    await sms.send("Fajar Nugroho")
    await sms.send("untuk diri sendiri")
    await sms.send("ya")
    await registered(
        sms,
        {
            "complainant_name": "Fajar Nugroho",
            "customer_name": "Fajar Nugroho",
            "problem": "pelayanan di loket parah bgt\n"
            "sy disuruh bolak balik 4x cuma buat legalisir 1 lembar ijazah",
        },
    )
    assert sms.asked("clarify") == 1 and sms.asked("problem") == 0


async def test_for_myself_makes_the_complainant_the_customer_and_leaves_no_fragments(
    make_gateway: GatewayFactory,
) -> None:
    sms = Sms(await make_gateway(), "+6281311110008")
    await sms.send(
        "halo, nama saya Sri Rahayu, untuk diri sendiri, mau komplain: akta kelahiran "
        "anak saya salah tulis tanggal lahir"
    )
    await sms.send("ya")
    complaint = await registered(
        sms,
        {
            "complainant_name": "Sri Rahayu",
            "customer_name": "Sri Rahayu",
            "problem": "akta kelahiran anak saya salah tulis tanggal lahir",
        },
    )
    assert sms.asked("customer_name") == 0
    # Nothing typed is lost: the thread keeps the raw messages as sent.
    async with sms.gateway.runtime.sessions() as s:
        texts = list(
            await s.scalars(
                select(Message.text)
                .where(Message.complaint_id == complaint.id, Message.direction == "in")
                .order_by(Message.id)
            )
        )
    assert texts[0].startswith("halo, nama saya Sri Rahayu, untuk diri sendiri")
    assert texts[1] == "ya"
