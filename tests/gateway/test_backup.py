"""``aduan backup`` / ``aduan restore`` (docs/backup.md): a backup taken while the
gateway runs, restored into a fresh directory, gives the same complaint register
and the same attachment bytes; restores that would lose data are refused."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.api import SIGNATURE_HEADER, sign
from channels.base import Attachment as InboundAttachment
from channels.base import ChannelName, InboundMessage
from gateway.app import create_app
from gateway.backup import backup_target, prune
from gateway.cli import main
from gateway.ingest import ingest
from storage.backup import inspect
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Complaint
from tests.runtime_fixtures import Harness, make_harness

SECRET = "s3cret-for-backup-tests"
PHOTO = bytes(range(256)) * 40  # 10 KiB that a text round trip would damage


def _env(monkeypatch: pytest.MonkeyPatch, data_dir: Path, database_url: str | None) -> None:
    for name in ("ADUAN_REDIS_URL", "ADUAN_IMAP_HOST", "ADUAN_SMTP_HOST", "ADUAN_SOP_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADUAN_DATA_DIR", str(data_dir))
    if database_url is None:
        monkeypatch.delenv("ADUAN_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("ADUAN_DATABASE_URL", database_url)


async def _cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def _register(path: Path) -> list[dict[str, Any]]:
    assert await _cli("complaints", "export", "--format", "json", "--output", str(path)) == 0
    rows: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))
    return rows


def _attachments(database: Path) -> list[tuple[str, bytes]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT filename, content FROM attachments ORDER BY id"
        ).fetchall()
    return [(str(name), bytes(content)) for name, content in rows]


async def _intake(aiohttp_client: Any, h: Harness) -> None:
    """Three complaints through the signed webhook, one email with a photo."""
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    for n, name in enumerate(("Budi Santoso", "Sri Wahyuni", "Agus Salim")):
        raw = json.dumps(
            {
                "id": f"portal-{n}",
                "from": {"email": f"warga{n}@example.com", "name": name},
                "text": f"Laporan hasil uji nomor {n} terlambat dua minggu",
                "fields": {"customer_name": f"PT Contoh {n}"},
            }
        ).encode()
        resp = await client.post(
            "/webhooks/api", data=raw, headers={SIGNATURE_HEADER: sign(SECRET, raw)}
        )
        assert resp.status == 200
    await ingest(
        h.runtime.sessions,
        InboundMessage(
            channel=ChannelName.EMAIL,
            external_id="foto@example.com",
            sender="warga0@example.com",
            text="foto sampel terlampir",
            received_at=datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC),
            attachments=(InboundAttachment("sampel.jpg", "image/jpeg", PHOTO, len(PHOTO)),),
        ),
    )
    await h.settle()
    async with h.runtime.sessions() as s:
        assert len(list(await s.scalars(select(Complaint)))) == 3


async def test_backup_while_running_then_restore_into_a_fresh_directory(
    aiohttp_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = tmp_path / "live"
    h = await make_harness(live, webhook_secret=SECRET)
    try:
        await _intake(aiohttp_client, h)
        url = h.runtime.settings.effective_database_url
        database = live / "h.sqlite3"
        _env(monkeypatch, live, url)
        before = await _register(tmp_path / "before.json")
        assert len(before) == 3

        # The gateway is running (its engine open, the embedded lock held, the
        # last commits still in the WAL) while the backup is taken.
        assert h.runtime.embedded_lock is not None
        assert Path(f"{database}-wal").exists()
        copy = tmp_path / "backups" / "b.sqlite3"
        assert await _cli("backup", str(copy)) == 0
        out = capsys.readouterr().out
        assert "integrity ok" in out and "3 complaints" in out
        assert f"1 attachments ({len(PHOTO)} bytes)" in out
        assert not Path(f"{copy}-wal").exists()  # one self-contained file
        assert copy.stat().st_mode & 0o777 == 0o600

        # An existing file is not overwritten without --force.
        assert await _cli("backup", str(copy)) == 2
        assert "exists" in capsys.readouterr().err

        # Restoring over the running gateway's database is refused, changing nothing.
        assert await _cli("restore", str(copy)) == 2
        assert "running on" in capsys.readouterr().err
        assert await _register(tmp_path / "still.json") == before

        # Restore into a fresh directory (the default embedded location there).
        fresh = tmp_path / "fresh"
        _env(monkeypatch, fresh, None)
        assert await _cli("restore", str(copy)) == 0
        assert "3 complaints" in capsys.readouterr().out
        after = await _register(tmp_path / "after.json")
        assert after == before
        restored_db = fresh / "aduan.sqlite3"
        assert _attachments(restored_db) == [("sampel.jpg", PHOTO)] == _attachments(database)

        # A second restore would replace data: refused without --force.
        assert await _cli("restore", str(copy)) == 2
        assert "--force" in capsys.readouterr().err
        assert await _cli("restore", "--force", str(copy)) == 0
        assert await _register(tmp_path / "again.json") == before

        # A backup taken while messages keep arriving is whole: some of them or
        # all, each with its contact, and the file passes its checks.
        _env(monkeypatch, live, url)
        first = inspect(copy)
        arriving = [
            ingest(
                h.runtime.sessions,
                InboundMessage(
                    channel=ChannelName.EMAIL,
                    external_id=f"lagi-{n}@example.com",
                    sender=f"lagi{n}@example.com",
                    text=f"pesan tambahan {n}",
                    received_at=datetime(2026, 11, 21, 2, 0, n, tzinfo=UTC),
                ),
            )
            for n in range(30)
        ]
        during = tmp_path / "backups" / "during.sqlite3"
        code, *_ = await asyncio.gather(_cli("backup", str(during)), *arriving)
        assert code == 0
        taken = inspect(during)
        assert first.messages <= taken.messages <= first.messages + 30
        assert inspect(database).messages >= first.messages + 30
    finally:
        await h.runtime.close()


async def test_an_older_backup_is_migrated_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{old}")
    await upgrade(engine, "0016")
    await engine.dispose()
    _env(monkeypatch, tmp_path / "old-data", f"sqlite+aiosqlite:///{old}")
    assert await _cli("backup", str(tmp_path / "b16.sqlite3")) == 0
    assert "revision 0016" in capsys.readouterr().out

    # A directory (as the nightly timer gives): a dated name, older ones pruned.
    nightly = tmp_path / "nightly"
    nightly.mkdir()
    (nightly / "aduan-20000101-000000.sqlite3").write_bytes(b"")
    assert await _cli("backup", "--keep", "1", f"{nightly}/") == 0
    assert "removed old backup" in capsys.readouterr().out
    [written] = list(nightly.iterdir())
    assert written.name.startswith("aduan-") and written.name != "aduan-20000101-000000.sqlite3"
    assert await _cli("backup", "--keep", "1", str(tmp_path / "one.sqlite3")) == 2
    assert "--keep needs a directory" in capsys.readouterr().err

    _env(monkeypatch, tmp_path / "fresh", None)
    assert await _cli("restore", str(tmp_path / "b16.sqlite3")) == 0
    out = capsys.readouterr().out
    assert "revision 0016" in out and "brought forward from 0016" in out
    with sqlite3.connect(tmp_path / "fresh" / "aduan.sqlite3") as connection:
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert revision != "0016" and "staff_notifications" in tables


async def test_bad_backups_are_refused_and_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = tmp_path / "fresh"
    _env(monkeypatch, fresh, None)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    assert await _cli("restore", str(garbage)) == 2
    assert "not a readable SQLite database" in capsys.readouterr().err
    assert await _cli("restore", str(tmp_path / "missing.sqlite3")) == 2
    assert "does not exist" in capsys.readouterr().err

    unrelated = tmp_path / "unrelated.sqlite3"
    with sqlite3.connect(unrelated) as connection:
        connection.execute("CREATE TABLE t (x)")
    assert await _cli("restore", str(unrelated)) == 2
    assert "not an aduan backup" in capsys.readouterr().err

    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("INSERT INTO alembic_version VALUES ('9999')")
    assert await _cli("restore", str(newer)) == 2
    assert "does not know" in capsys.readouterr().err
    assert not (fresh / "aduan.sqlite3").exists()

    # No database yet: nothing to back up, and no file is left behind.
    assert await _cli("backup", str(tmp_path / "out.sqlite3")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out.sqlite3").exists()


async def test_postgresql_gets_the_pg_dump_command_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, tmp_path, "postgresql+asyncpg://aduan:hunter2-secret@db.internal:5433/aduan")
    assert await _cli("backup", "/backups/aduan.dump") == 2
    err = capsys.readouterr().err
    assert (
        "pg_dump --format=custom --no-owner --host=db.internal --port=5433 "
        "--username=aduan --dbname=aduan --file=/backups/aduan.dump"
    ) in err
    assert "PGPASSWORD" in err and "hunter2" not in err
    assert await _cli("restore", "/backups/aduan.dump") == 2
    err = capsys.readouterr().err
    assert "pg_restore --clean --if-exists --no-owner --host=db.internal" in err
    assert "aduan db upgrade" in err and "hunter2" not in err


def test_a_directory_gets_dated_names_and_keep_prunes_the_oldest(tmp_path: Path) -> None:
    when = datetime(2026, 12, 6, 1, 30, 0, tzinfo=UTC)
    name = "aduan-20261206-013000.sqlite3"
    assert backup_target(str(tmp_path), when) == tmp_path / name
    assert backup_target(f"{tmp_path}/new/", when) == tmp_path / "new" / name
    assert backup_target(str(tmp_path / "x.sqlite3"), when) == tmp_path / "x.sqlite3"
    for day in range(1, 6):
        (tmp_path / f"aduan-202612{day:02d}-013000.sqlite3").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("kept")
    removed = prune(tmp_path, 2)
    assert sorted(p.name for p in removed) == [
        f"aduan-202612{day:02d}-013000.sqlite3" for day in (1, 2, 3)
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "aduan-20261204-013000.sqlite3",
        "aduan-20261205-013000.sqlite3",
        "notes.txt",
    ]
