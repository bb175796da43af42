"""The ``aduan`` command line: db upgrade, user add, check-config, complaints export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from channels.base import ChannelName
from gateway.cli import main
from gateway.config import load_settings
from gateway.reports.register import REPORT_COLUMNS
from gateway.runtime import build_runtime
from tests.fakes import inbound


@pytest.fixture
def env(cli_env: Path) -> Path:
    return cli_env


def file_complaint(tmp_path: Path) -> None:
    async def run() -> None:
        runtime = await build_runtime(load_settings(data_dir=tmp_path / "var"), use_redis=False)
        await runtime.accept(
            inbound(
                ChannelName.API,
                "p1",
                "budi@example.com",
                "Nama: Budi Santoso\nPelanggan: PT Sinar Jaya\nMasalah: laporan hasil uji terlambat",
            )
        )
        assert runtime.processor is not None
        await runtime.processor.process_contact(1)
        await runtime.engine.dispose()

    asyncio.run(run())


def test_upgrade_then_export_every_format(
    env: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["db", "upgrade"]) == 0
    file_complaint(env)
    capsysbinary.readouterr()

    assert main(["complaints", "export", "--format", "json"]) == 0
    [row] = json.loads(capsysbinary.readouterr().out)
    assert list(row) == list(REPORT_COLUMNS)  # the default profile asks no further field
    assert row["complainant_name"] == "Budi Santoso"
    assert row["customer_name"] == "PT Sinar Jaya"
    assert row["problem"] == "laporan hasil uji terlambat"
    assert row["contact"] == "budi@example.com"
    assert row["received_at"].endswith("+07:00") and row["status"] == "Diterima"

    assert main(["complaints", "export", "--format", "csv", "--output", "r.csv"]) == 0
    rows = list(csv.reader(io.StringIO((env / "r.csv").read_text("utf-8-sig"))))
    assert rows[0][:2] == ["Nomor pengaduan", "Kanal"] and rows[1][0] == row["tracking_number"]
    assert len(rows[0]) == len(REPORT_COLUMNS)

    assert main(["complaints", "export", "--format", "xlsx", "--output", "r.xlsx"]) == 0
    sheet = load_workbook(env / "r.xlsx").active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Nomor pengaduan" and values[1][2] == "Budi Santoso"


def test_user_add_hashes_the_password(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["db", "upgrade"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    assert (
        main(
            [
                "user",
                "add",
                "sri",
                "--name",
                "Sri Wahyuni",
                "--role",
                "secretariat",
                "--password-stdin",
            ]
        )
        == 0
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    assert main(["user", "add", "sri", "--password-stdin"]) == 1  # exists

    import sqlite3

    [(username, role, password_hash)] = sqlite3.connect(env / "var" / "aduan.sqlite3").execute(
        "select username, role, password_hash from staff_users"
    )
    assert (username, role) == ("sri", "secretariat")
    assert password_hash.startswith("$argon2id$") and "horse" not in password_hash

    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["user", "add", "x", "--password-stdin"]) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("long enough pw\n"))
    assert main(["user", "add", "y", "--role", "king", "--password-stdin"]) == 2


def test_token_create_list_revoke(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    assert main(["user", "add", "sri", "--role", "secretariat", "--password-stdin"]) == 0
    capsys.readouterr()

    assert (
        main(["token", "create", "sri", "--name", "laporan bulanan", "--expires-days", "30"]) == 0
    )
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("adu_") and "\n" not in token  # stdout: the token alone
    assert "shown only now" in out.err and "/api/v1/me" in out.err

    assert main(["token", "list"]) == 0
    listing = capsys.readouterr().out
    assert token[:12] in listing and "laporan bulanan" in listing and "active" in listing
    assert token not in listing

    assert main(["token", "create", "nobody", "--name", "x"]) == 1
    assert "no active staff user 'nobody'" in capsys.readouterr().err
    assert main(["token", "create", "sri", "--name", "x", "--expires-days", "0"]) == 2

    assert main(["token", "revoke", token[:12]]) == 0
    assert main(["token", "list", "--user", "sri"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["token", "revoke", token[:12]]) == 1


def test_first_run_link_until_an_account_exists(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import _first_run_url

    assert main(["db", "upgrade"]) == 0
    settings = load_settings()
    url = asyncio.run(_first_run_url(settings, "http://127.0.0.1:8080"))
    assert url is not None and url.startswith("http://127.0.0.1:8080/inbox/setup?token=")
    token = (env / "var" / "setup-token").read_text(encoding="utf-8")
    assert url.endswith(token)
    # Asking again (a restart) gives the same link.
    assert asyncio.run(_first_run_url(settings, "http://127.0.0.1:8080")) == url
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    assert main(["user", "add", "sri", "--role", "secretariat", "--password-stdin"]) == 0
    assert asyncio.run(_first_run_url(settings, "http://127.0.0.1:8080")) is None


def test_set_password_and_deactivate_end_sessions(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    assert main(["db", "upgrade"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    assert main(["user", "add", "sri", "--role", "secretariat", "--password-stdin"]) == 0
    db = sqlite3.connect(env / "var" / "aduan.sqlite3")
    [(user_id, old_hash)] = db.execute("select id, password_hash from staff_users")
    db.execute(
        "insert into staff_sessions (token_hash, staff_user_id, csrf_token, created_at,"
        " last_seen_at, expires_at) values ('h', ?, 'c', '2026-01-01 00:00:00+00:00',"
        " '2026-01-01 00:00:00+00:00', '2099-01-01 00:00:00+00:00')",
        (user_id,),
    )
    db.commit()
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO("another long password\n"))
    assert main(["user", "set-password", "sri", "--password-stdin"]) == 0
    assert "1 signed-in session ended" in capsys.readouterr().out
    [(new_hash,)] = db.execute("select password_hash from staff_users")
    assert new_hash != old_hash and new_hash.startswith("$argon2id$")
    assert main(["user", "deactivate", "sri"]) == 0
    assert [(0,)] == list(db.execute("select active from staff_users"))
    assert main(["user", "activate", "sri"]) == 0
    assert [(1,)] == list(db.execute("select active from staff_users"))
    assert main(["user", "deactivate", "nobody"]) == 1


def test_check_config_names_channels_and_hides_secrets(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADUAN_IMAP_HOST", "imap.example.go.id")
    monkeypatch.setenv("ADUAN_IMAP_USER", "pengaduan@example.go.id")
    monkeypatch.setenv("ADUAN_IMAP_PASSWORD", "imap-pass-XYZ")
    monkeypatch.setenv("ADUAN_SMTP_HOST", "smtp.example.go.id")
    monkeypatch.setenv("ADUAN_SMTP_PASSWORD", "smtp-pass-XYZ")
    monkeypatch.setenv("ADUAN_EMAIL_FROM", "pengaduan@example.go.id")
    monkeypatch.setenv("ADUAN_WEBHOOK_SECRET", "hook-secret-XYZ")
    monkeypatch.setenv("ADUAN_DATABASE_URL", "postgresql://aduan:db-pass-XYZ@db/aduan")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "channel email: on" in out and "channel api: on" in out and "channel web: on" in out
    assert "metrics: /metrics is open to anyone who can reach it" in out
    assert "XYZ" not in out

    monkeypatch.delenv("ADUAN_IMAP_PASSWORD")
    monkeypatch.delenv("ADUAN_WEBHOOK_SECRET")
    monkeypatch.setenv("ADUAN_METRICS_TOKEN", "metrics-token-XYZ-0123456789")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "metrics: /metrics asks for the bearer token" in out and "XYZ" not in out
    assert "channel email: off — missing ADUAN_IMAP_PASSWORD" in out
    assert "channel api: off — missing ADUAN_WEBHOOK_SECRET" in out


def test_bad_configuration_names_the_variable(env: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "check-config"],
        env={"ADUAN_HTTP_PORT": "eighty", "ADUAN_IMAP_SECURITY": "maybe", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        cwd=env,
        check=False,
    )
    assert result.returncode == 2
    assert "ADUAN_HTTP_PORT" in result.stderr and "ADUAN_IMAP_SECURITY" in result.stderr


def test_serve_refuses_an_unmigrated_database(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", "18099"]) == 2
    assert "run 'aduan db upgrade' first" in capsys.readouterr().err


def test_unknown_profile_is_a_clear_error(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADUAN_SOP_PROFILE", "nope")
    assert main(["serve"]) == 2
    assert "unknown SOP profile 'nope'" in capsys.readouterr().err


def test_logs_mask_secrets_from_settings(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from gateway.config import load_settings
    from gateway.logs import configure_logging

    settings = load_settings(
        smtp_password="from-dotenv-XYZ", database_url="postgresql://a:db-XYZ-pw@h/d"
    )
    configure_logging("INFO", secrets=settings.secret_values())
    logging.getLogger("test").warning("login with from-dotenv-XYZ to postgresql://a:db-XYZ-pw@h/d")
    err = capsys.readouterr().err
    assert "from-dotenv-XYZ" not in err and "db-XYZ-pw" not in err and "***" in err
    logging.getLogger().handlers.clear()


def test_telegram_set_webhook_needs_settings(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["telegram", "set-webhook"]) == 2
    assert "aduan:" in capsys.readouterr().err
