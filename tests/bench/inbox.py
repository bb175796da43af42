"""Inbox benchmark: the staff inbox list over many complaints (README.md, "Benchmarks").

Recreates the schema of the database at ``--database-url`` (PostgreSQL: drops
and recreates its ``public`` schema, like the tests — use a scratch database;
SQLite: a new file), migrates it, seeds ``--complaints`` complaints with their
contacts, addresses, history events, read marks and a few open drafts (COPY
on PostgreSQL), runs ANALYZE, then times typical inbox queries through
:func:`gateway.queries.complaint_list.list_inbox` — each ``--runs`` times after
``--warmup`` runs, a fresh session per run as a page request has — and prints
the median and 95th percentile. Exits 1 when a p95 reaches ``--budget-ms``
(200 ms: "the inbox list answers in under 200 ms with 100,000 complaints in
PostgreSQL"). ``--explain`` prints each query's plan.

    .venv/bin/python -m tests.bench.inbox --complaints 100000 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test_a
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.queries.complaint_list import InboxFilters, VisibilityRule, list_inbox
from gateway.queries.drafts import list_in_progress
from handlers.profile import Profile, load_profile
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade
from storage.models import (
    Complaint,
    ComplaintEvent,
    ComplaintRead,
    Contact,
    ContactAddress,
    Conversation,
    Message,
    StaffUser,
)
from tests.services import POSTGRES_URL

# ------------------------------------------------------------------ the data

FIRST = (
    "Budi Siti Agus Dewi Rudi Wati Joko Sri Ahmad Nur Eko Rina Hendra Yuni Bambang Lestari "
    "Andi Fitri Dedi Ratna Heru Indah Slamet Putri Wahyu Dian Arif Maya Teguh Ayu"
).split()
LAST = (
    "Santoso Wijaya Hartono Susanti Lestari Pratama Saputra Kusuma Hidayat Nugroho Setiawan "
    "Rahmawati Gunawan Siregar Nasution Simanjuntak Harahap Wibowo Utomo Purnomo Permana "
    "Suryadi Halim Tanjung Lubis Sihombing Daulay Pohan Sinaga Manurung"
).split()
COMPANY = (
    "Sinar Jaya|Maju Bersama|Karya Baru|Tani Makmur|Sumber Air|Mitra Sejahtera|Bumi Lestari|"
    "Cahaya Abadi|Mega Teknik|Anugrah Mandiri|Sentosa Kimia|Nusantara Pangan|Indo Kalibrasi|"
    "Surya Logam|Prima Agro|Graha Farma|Delta Plastik|Harapan Baru|Samudra Ikan|Citra Tekstil"
).split("|")
FORMS = ("PT", "CV", "UD", "Koperasi")
THINGS = (
    "laporan hasil uji|sertifikat kalibrasi|sertifikat produk|hasil uji air|hasil uji tanah|"
    "laporan inspeksi|sampel pupuk|sampel pakan|timbangan digital|termometer|alat ukur tekanan|"
    "uji profisiensi|hasil uji logam|hasil uji pangan|dokumen penawaran"
).split("|")
PROBLEMS = (
    "{thing} kami terlambat {n} minggu dari jadwal yang dijanjikan",
    "{thing} salah nama perusahaan dan alamat, mohon diperbaiki",
    "biaya pengujian untuk {thing} tidak sesuai tarif resmi",
    "petugas loket tidak ramah saat kami menanyakan {thing}",
    "{thing} hilang, kami sudah menunggu {n} hari tanpa kabar",
    "hasil pada {thing} berbeda jauh dengan laboratorium lain",
    "jadwal pengambilan {thing} berubah tanpa pemberitahuan",
    "mohon penjelasan metode yang dipakai untuk {thing}",
    "nomor pada {thing} tidak terdaftar di sistem pelacakan",
    "tagihan untuk {thing} dikirim dua kali",
)
EXTRA = (
    "Mohon segera ditindaklanjuti.",
    "Terima kasih atas perhatiannya.",
    "Kami sangat dirugikan karena pengiriman ke pembeli tertunda.",
    "Sudah kami hubungi lewat telepon tetapi belum ada jawaban.",
    "",
)
#: channel → (share, address kind)
CHANNELS = {
    "whatsapp": (0.40, "phone"),
    "email": (0.20, "email"),
    "web": (0.18, "email"),
    "sms": (0.10, "phone"),
    "telegram": (0.07, "telegram"),
    "api": (0.05, "email"),
}
#: The default profile's steps, each with the transition events that lead there.
PATH = ("received", "verified", "in_follow_up", "capa_recorded", "result_verified", "closed")
MOVES = ("verify", "route", "record_capa", "verify_result", "close")
OFFICERS = [f"petugas{n:02d}" for n in range(1, 16)]
STAFF = {
    "sri": "secretariat",
    "rina": "secretariat",
    "bayu": "business_lead",
    "teguh": "technical_lead",
    "maya": "manager",
    **dict.fromkeys(OFFICERS, "officer"),
}


@dataclass
class Seed:
    """What the timed queries need to know about the seeded data."""

    tracking: str
    surname: str
    officer: str


def _weighted(rng: random.Random, table: dict[str, tuple[float, str]]) -> str:
    return rng.choices(list(table), weights=[share for share, _ in table.values()])[0]


def _status(rng: random.Random, age_days: float) -> str:
    if age_days > 14:
        return rng.choices(
            ["closed", "rejected", "in_follow_up", "capa_recorded", "received"],
            weights=[80, 10, 6, 2, 2],
        )[0]
    return rng.choices([*PATH, "rejected"], weights=[15, 10, 35, 10, 5, 20, 5])[0]


def generate(n: int, now: datetime, seed: int = 7) -> tuple[list[dict[str, Any]], ...]:
    """Rows of contacts, addresses, conversations, complaints, events, read marks and
    messages (dicts of column values)."""
    rng = random.Random(seed)
    contacts: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    pools: dict[str, list[tuple[int, str, str]]] = {"phone": [], "email": [], "telegram": []}

    def contact_for(kind: str) -> tuple[int, str, str]:
        pool = pools[kind]
        if pool and rng.random() < 0.35:  # a returning complainant
            return rng.choice(pool)
        cid = len(contacts) + 1
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if kind == "phone":
            address = f"+628{rng.randint(11, 59)}{cid:08d}"
        elif kind == "email":
            address = f"{name.split()[0].lower()}.{cid}@contoh.co.id"
        else:
            address = str(500_000_000 + cid)
        contacts.append({"id": cid, "display_name": name, "created_at": now, "updated_at": now})
        addresses.append(
            {"id": cid, "contact_id": cid, "kind": kind, "address": address, "created_at": now}
        )
        pool.append((cid, name, address))
        return cid, name, address

    complaints: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    reads: list[dict[str, Any]] = []
    conversations: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    counters: dict[int, int] = {}
    span = timedelta(days=730).total_seconds()
    for i in range(1, n + 1):
        received = now - timedelta(seconds=span * (1 - i / n) + rng.random() * 600)
        age = (now - received).total_seconds() / 86400
        channel = _weighted(rng, CHANNELS)
        contact_id, name, address = contact_for(CHANNELS[channel][1])
        year = received.year
        counters[year] = counters.get(year, 0) + 1
        status = _status(rng, age)
        steps = PATH.index(status) if status in PATH else 1
        when = received
        history: list[tuple[datetime, str, str | None, str | None]] = [
            (when, "registered", None, "received")
        ]
        for move, (before, after) in zip(MOVES[:steps], itertools.pairwise(PATH), strict=False):
            when = min(now, when + timedelta(hours=rng.expovariate(1 / 20)))
            history.append((when, move, before, after))
        if status == "rejected":
            when = min(now, when + timedelta(hours=rng.expovariate(1 / 10)))
            history.append((when, "reject", history[-1][3], "rejected"))
        if rng.random() < 0.4:
            when = min(now, when + timedelta(hours=rng.expovariate(1 / 30)))
            history.append((when, "note", None, None))
        last_activity = when
        final = status in ("closed", "rejected")
        standard = timedelta(days=3) if status == "in_follow_up" else timedelta(minutes=15)
        step_started = history[-1][0] if history[-1][1] != "note" else history[-2][0]
        assigned = PATH.index(status) >= 2 if status in PATH else False
        category = rng.choice(("administrative", "technical")) if assigned else None
        problem = " ".join(
            [
                rng.choice(PROBLEMS).format(thing=rng.choice(THINGS), n=rng.randint(2, 9)),
                rng.choice(EXTRA),
            ]
        ).strip()
        inbound = (
            received + (last_activity - received) * rng.random() if rng.random() < 0.7 else None
        )
        complaints.append(
            {
                "id": i,
                "tracking_number": f"ADU-{year}-{counters[year]:05d}",
                "contact_id": contact_id,
                "conversation_id": i,
                "channel": channel,
                "contact_address": address,
                "complainant_name": name,
                "customer_name": f"{rng.choice(FORMS)} {rng.choice(COMPANY)}",
                "problem": problem[0].upper() + problem[1:],
                "extra_fields": {},
                "received_at": received,
                "received_by": f"channel:{channel}",
                "status": status,
                "category": category,
                "language": "id",
                "created_at": received,
                "updated_at": last_activity,
                "step_started_at": step_started,
                "step_due_at": None if final else step_started + standard,
                "assignee": rng.choice(OFFICERS) if assigned else None,
                "details": {},
                "last_activity_at": last_activity,
                "last_inbound_at": inbound,
            }
        )
        for at, kind, from_status, to_status in history:
            events.append(
                {
                    "complaint_id": i,
                    "at": at,
                    "actor": "system" if kind == "registered" else "staff:sri",
                    "kind": "registered" if kind == "registered" else
                    ("note" if kind == "note" else "transition"),
                    "from_status": from_status,
                    "to_status": to_status,
                    "note": None,
                    "data": {"transition": kind} if kind not in ("registered", "note") else {},
                }
            )  # fmt: skip
        if rng.random() < 0.3:
            reads.append({"complaint_id": i, "staff_user_id": 1, "read_at": last_activity})
        # The intake conversation it came from and its first message.
        conversations.append(
            {"id": i, "contact_id": contact_id, "channel": channel, "state": "registered",
             "language": "id", "fields": {}, "suggestions": {}, "asked": [], "complaint_id": i,
             "created_at": received, "updated_at": received, "closed_at": received}
        )  # fmt: skip
        messages.append(
            {"id": i, "channel": channel, "external_id": f"bench-{i}", "direction": "in",
             "contact_id": contact_id, "conversation_id": i, "complaint_id": i,
             "sender": address, "text": complaints[-1]["problem"], "fields": {},
             "thread_refs": [], "automatic": False, "raw": {}, "received_at": received,
             "created_at": received, "processed_at": received, "process_attempts": 0}
        )  # fmt: skip
    return contacts, addresses, conversations, complaints, events, reads, messages


# ------------------------------------------------------------------- seeding

JSON_COLUMNS = {
    "extra_fields",
    "details",
    "data",
    "fields",
    "suggestions",
    "asked",
    "thread_refs",
    "raw",
}


async def _copy(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY ``rows`` into ``table`` through asyncpg (PostgreSQL)."""
    if not rows:
        return
    columns = _columns(rows)
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    records = [
        tuple(json.dumps(r.get(c)) if c in JSON_COLUMNS else r.get(c) for c in columns)
        for r in rows
    ]
    await driver.copy_records_to_table(table.name, records=records, columns=columns)


async def _insert(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Multi-row INSERTs of ``rows`` into ``table`` (SQLite)."""
    columns = _columns(rows)
    for start in range(0, len(rows), 5000):
        batch = [{c: r.get(c) for c in columns} for r in rows[start : start + 5000]]
        await conn.execute(insert(table), batch)


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every column any of ``rows`` sets, in first-seen order (the others are NULL)."""
    return list(dict.fromkeys(c for r in rows for c in r))


async def fresh_engine(url: str) -> AsyncEngine:
    """A migrated, empty database at ``url`` (see the module docstring)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if path.exists():
            raise SystemExit(f"{path} exists; give a new SQLite file")
        engine = create_engine(url)
    else:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    return engine


async def seed(engine: AsyncEngine, n: int, now: datetime) -> Seed:
    """Seed ``n`` complaints and return what the queries look for."""
    contacts, addresses, conversations, complaints, events, reads, messages = generate(n, now)
    postgres = engine.dialect.name == "postgresql"
    write: Callable[[AsyncConnection, Table, Sequence[dict[str, Any]]], Awaitable[None]] = (
        _copy if postgres else _insert
    )
    users = [
        {"id": i, "username": u, "full_name": u.title(), "role": r, "password_hash": "x",
         "active": True, "created_at": now}
        for i, (u, r) in enumerate(STAFF.items(), start=1)
    ]  # fmt: skip
    for i in range(n + 1, n + 201):
        contact = contacts[i - n - 1]
        conversations.append(
            {"id": i, "contact_id": contact["id"], "channel": "whatsapp", "state": "collecting",
             "language": "id", "fields": {"complainant_name": contact["display_name"]},
             "suggestions": {}, "asked": ["customer_name"], "created_at": now - timedelta(hours=i - n),
             "updated_at": now - timedelta(minutes=i - n), "expires_at": now + timedelta(hours=24)}
        )  # fmt: skip
        messages.append(
            {"id": i, "channel": "whatsapp", "external_id": f"wamid.bench{i}", "direction": "in",
             "contact_id": contact["id"], "conversation_id": i, "sender": f"+62811{i:08d}",
             "text": "Selamat siang, saya mau mengadukan sertifikat kalibrasi yang terlambat",
             "fields": {}, "thread_refs": [], "automatic": False, "raw": {}, "received_at": now,
             "created_at": now, "processed_at": now, "process_attempts": 0}
        )  # fmt: skip
    async with engine.begin() as conn:
        for model, rows in (
            (StaffUser, users),
            (Contact, contacts),
            (ContactAddress, addresses),
            (Conversation, conversations),
            (Complaint, complaints),
            (ComplaintEvent, events),
            (ComplaintRead, reads),
            (Message, messages),
        ):
            await write(conn, cast(Table, model.__table__), rows)
        if postgres:
            for table in ("staff_users", "contacts", "contact_addresses", "complaints",
                          "complaint_events", "conversations", "messages"):  # fmt: skip
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))
    middle = complaints[len(complaints) // 2]
    return Seed(
        tracking=middle["tracking_number"],
        surname=middle["complainant_name"].split()[-1],
        officer=OFFICERS[3],
    )


# ------------------------------------------------------------------- timing


@dataclass
class Case:
    """One timed query: a label and the call that makes it."""

    label: str
    run: Callable[[], Awaitable[int]]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def cases(
    sessions: SessionFactory, profile: Profile, found: Seed, deep_cursor: str
) -> Iterator[Case]:
    """The inbox queries of the acceptance benchmark, as the secretariat (sri) sees them."""

    def listing(
        viewer: str = "sri",
        cursor: str | None = None,
        visible: VisibilityRule | None = None,
        **filters: Any,
    ) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            async with sessions() as s:
                page = await list_inbox(
                    s,
                    filters=InboxFilters(**filters),
                    profile=profile,
                    viewer_username=viewer,
                    viewer_role=STAFF[viewer],
                    visible=visible,
                    limit=50,
                    cursor=cursor,
                )
            return len(page.rows)

        return run

    async def drafts() -> int:
        async with sessions() as s:
            return len(await list_in_progress(s, filters=InboxFilters(), visible=None))

    today = datetime.now(UTC).date()
    yield Case("first page (default)", listing())
    yield Case("page 50 (cursor chain)", listing(cursor=deep_cursor))
    yield Case("channel = whatsapp", listing(channel="whatsapp"))
    yield Case("status = in_follow_up", listing(status="in_follow_up"))
    yield Case("overdue", listing(overdue=True))
    yield Case(f"assignee = {found.officer}", listing(assignee=found.officer))
    yield Case(
        "received in one month",
        listing(received_from=today - timedelta(days=400), received_to=today - timedelta(days=370)),
    )
    yield Case("search word 'kalibrasi'", listing(q="kalibrasi"))
    yield Case(f"search name '{found.surname}'", listing(q=found.surname))
    yield Case(f"search {found.tracking}", listing(q=found.tracking))
    yield Case("search, no hit 'zzzqqq'", listing(q="zzzqqq"))
    yield Case(f"mine ({found.officer})", listing(viewer=found.officer, mine=True))
    yield Case(
        "officer's view (visible)",
        listing(viewer=found.officer, visible=VisibilityRule(frozenset({found.officer}))),
    )
    yield Case("in progress (200 drafts)", drafts)


async def walk_cursor(sessions: SessionFactory, profile: Profile, pages: int) -> str:
    """The cursor of page ``pages + 1``, walking the default list page by page."""
    cursor: str | None = None
    for _ in range(pages):
        async with sessions() as s:
            page = await list_inbox(
                s,
                filters=InboxFilters(),
                profile=profile,
                viewer_username="sri",
                viewer_role="secretariat",
                visible=None,
                limit=50,
                cursor=cursor,
            )
        assert page.next_cursor is not None, "fewer complaints than pages"
        cursor = page.next_cursor
    assert cursor is not None
    return cursor


async def explain(engine: AsyncEngine, case: Case) -> None:
    """Print the plan of the first statement ``case`` runs."""
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        await case.run()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    statement, parameters = captured[0]
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(prefix + statement, parameters)
        lines = [str(r[-1]) for r in result]
    print(f"\n--- {case.label}\n" + "\n".join(lines))


async def bench(args: argparse.Namespace) -> int:
    profile = load_profile("default")
    now = datetime.now(UTC)
    started = time.perf_counter()
    engine = await fresh_engine(args.database_url)
    try:
        found = await seed(engine, args.complaints, now)
        seeded = time.perf_counter() - started
        sessions = session_factory(engine)
        deep = await walk_cursor(sessions, profile, 49)
        results: list[tuple[str, float, float, int]] = []
        for case in cases(sessions, profile, found, deep):
            if args.explain:
                await explain(engine, case)
            for _ in range(args.warmup):
                await case.run()
            timings: list[float] = []
            rows = 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                rows = await case.run()
                timings.append((time.perf_counter() - t0) * 1000)
            results.append((case.label, statistics.median(timings), percentile(timings, 95), rows))
    finally:
        await engine.dispose()

    print(
        f"\n{args.complaints:,} complaints on {make_url(args.database_url).get_backend_name()}"
        f" (seeded in {seeded:.0f} s); {args.runs} runs each after {args.warmup} warm-up runs\n"
    )
    width = max(len(label) for label, *_ in results)
    print(f"{'query':<{width}}  {'rows':>4}  {'median ms':>9}  {'p95 ms':>7}")
    for label, median, p95, rows in results:
        flag = "  OVER BUDGET" if p95 >= args.budget_ms else ""
        print(f"{label:<{width}}  {rows:>4}  {median:>9.1f}  {p95:>7.1f}{flag}")
    over = [label for label, _, p95, _ in results if p95 >= args.budget_ms]
    print(
        f"\nbudget: p95 < {args.budget_ms:g} ms — {'FAILED: ' + ', '.join(over) if over else 'met'}"
    )
    return 1 if over else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        default=POSTGRES_URL,
        help="scratch database: its public schema is dropped (default: the test database)",
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget-ms", type=float, default=200.0)
    parser.add_argument("--explain", action="store_true", help="print each query's plan")
    args = parser.parse_args()
    if args.complaints < 2500:
        parser.error("--complaints must be at least 2500 (page 50 of 50 rows)")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
