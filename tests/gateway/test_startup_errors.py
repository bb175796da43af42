"""Start-up problems: the real ``aduan`` command ends with one line naming the
setting, exit code 2 and no traceback (docs/startup.md, "One line, exit code 2")."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gateway.config import ConfigError, load_settings
from gateway.startup_errors import config_problem
from tests.gateway.startup_cli import aduan_command, clean_env, run_aduan
from tests.services import POSTGRES_URL, free_port, unavailable


def assert_one_line(ran_code: int, err_lines: list[str], err: str, setting: str) -> str:
    """Exit 2, exactly one line on stderr, naming ``setting``, no traceback."""
    assert ran_code == 2, err
    assert "Traceback" not in err
    assert len(err_lines) == 1, err
    assert err_lines[0].startswith(f"aduan: {setting}: "), err
    return err_lines[0]


BAD_SETTINGS = [
    ({"ADUAN_REDIS_URL": "http://127.0.0.1:6379/0"}, "ADUAN_REDIS_URL", "redis://"),
    ({"ADUAN_LOG_LEVEL": "LOUD"}, "ADUAN_LOG_LEVEL", "DEBUG, INFO"),
    ({"ADUAN_TELEGRAM_TOKEN": "notatoken"}, "ADUAN_TELEGRAM_TOKEN", "BotFather"),
    ({"ADUAN_TWILIO_ACCOUNT_SID": "SK123"}, "ADUAN_TWILIO_ACCOUNT_SID", "AC followed by"),
    ({"ADUAN_TWILIO_SMS_FROM": "0812345678"}, "ADUAN_TWILIO_SMS_FROM", "E.164"),
    ({"ADUAN_EMAIL_FROM": "pengaduan"}, "ADUAN_EMAIL_FROM", "email address"),
    ({"ADUAN_HTTP_PORT": "80800"}, "ADUAN_HTTP_PORT", "65535"),
    (
        {"ADUAN_DATABASE_URL": "postgresql+psycopg2://u@h/db"},
        "ADUAN_DATABASE_URL",
        "postgresql+asyncpg://",
    ),
    ({"ADUAN_DATABASE_URL": "sqlite:///x.db"}, "ADUAN_DATABASE_URL", "sqlite+aiosqlite:///"),
    ({"ADUAN_WHATSAPP_PHONE_NUMBER_ID": "+62 812"}, "ADUAN_WHATSAPP_PHONE_NUMBER_ID", "digits"),
]


@pytest.mark.parametrize(("settings", "setting", "hint"), BAD_SETTINGS[:3])
def test_a_bad_setting_is_one_line_for_check_config(
    tmp_path: Path, settings: dict[str, str], setting: str, hint: str
) -> None:
    ran = run_aduan(tmp_path, clean_env(tmp_path, **settings), "check-config")
    line = assert_one_line(ran.code, ran.err_lines(), ran.err, setting)
    assert hint in line
    assert ran.out == ""


@pytest.mark.parametrize(("settings", "setting", "hint"), BAD_SETTINGS)
def test_a_bad_setting_gives_its_line(settings: dict[str, str], setting: str, hint: str) -> None:
    values = {key.removeprefix("ADUAN_").lower(): value for key, value in settings.items()}
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, **values)
    line = config_problem(info.value).line()
    assert line.startswith(f"aduan: {setting}: ")
    assert hint in line
    assert "\n" not in line


@pytest.mark.parametrize("command", [("serve",), ("worker",), ("db", "upgrade")])
def test_every_command_reports_a_bad_setting_the_same_way(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = clean_env(tmp_path, ADUAN_REDIS_URL="http://localhost:6379", ADUAN_LOG_LEVEL="LOUD")
    ran = run_aduan(tmp_path, env, *command)
    line = assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_REDIS_URL")
    assert "ADUAN_LOG_LEVEL" in line  # the other problem is on the same line
    assert ran.out == ""


def test_a_refused_database_names_the_url(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://aduan:secret-pw@127.0.0.1:{free_port()}/aduan"
    for command in (("serve",), ("db", "upgrade"), ("user", "deactivate", "someone")):
        ran = run_aduan(tmp_path, clean_env(tmp_path, ADUAN_DATABASE_URL=url), *command)
        line = assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_DATABASE_URL")
        assert "nothing accepts connections" in line
        assert "secret-pw" not in ran.err
        assert ran.out == ""


def test_an_unknown_database_host_is_named(tmp_path: Path) -> None:
    env = clean_env(tmp_path, ADUAN_DATABASE_URL="postgresql+asyncpg://aduan@db.invalid:5432/aduan")
    ran = run_aduan(tmp_path, env, "serve")
    line = assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_DATABASE_URL")
    assert "db.invalid is unknown" in line


def _postgres_or_skip() -> str:
    url = make_url(POSTGRES_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), 2):
            pass
    except OSError as exc:
        unavailable("PostgreSQL", str(exc))
    return POSTGRES_URL


def test_a_missing_postgres_database_is_named(tmp_path: Path) -> None:
    url = make_url(_postgres_or_skip()).set(database="aduan_no_such_database")
    env = clean_env(tmp_path, ADUAN_DATABASE_URL=url.render_as_string(hide_password=False))
    ran = run_aduan(tmp_path, env, "db", "upgrade")
    line = assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_DATABASE_URL")
    assert "'aduan_no_such_database' does not exist" in line
    assert "createdb" in line


def test_an_unmigrated_database_says_to_upgrade(tmp_path: Path) -> None:
    ran = run_aduan(tmp_path, clean_env(tmp_path), "serve")
    line = assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_DATA_DIR")
    assert "run 'aduan db upgrade' first" in line
    # Any command touching tables says the same (here: a staff account change).
    ran = run_aduan(tmp_path, clean_env(tmp_path), "user", "deactivate", "someone")
    line = assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_DATA_DIR")
    assert "not migrated" in line


def test_an_unusable_data_dir_is_named(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    ran = run_aduan(tmp_path, clean_env(not_a_dir / "data"), "serve")
    line = assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_DATA_DIR")
    assert "cannot write" in line


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    assert run_aduan(tmp_path, clean_env(tmp_path), "db", "upgrade").code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(tmp_path, ADUAN_HTTP_PORT=str(port))
        ran = run_aduan(tmp_path, env, "serve")
    line = assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_HTTP_PORT")
    assert f"port {port}" in line and "already in use" in line
    assert ran.out == ""


def test_an_address_not_of_this_machine_is_named(tmp_path: Path) -> None:
    assert run_aduan(tmp_path, clean_env(tmp_path), "db", "upgrade").code == 0
    env = clean_env(tmp_path, ADUAN_HTTP_HOST="192.0.2.1", ADUAN_HTTP_PORT=str(free_port()))
    ran = run_aduan(tmp_path, env, "serve")
    assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_HTTP_HOST")


def test_debug_adds_the_traceback_before_the_line(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://aduan@127.0.0.1:{free_port()}/aduan"
    env = clean_env(tmp_path, ADUAN_DATABASE_URL=url, ADUAN_LOG_LEVEL="DEBUG")
    ran = run_aduan(tmp_path, env, "serve")
    assert ran.code == 2
    assert "Traceback" in ran.err
    assert ran.err_lines()[-1].startswith("aduan: ADUAN_DATABASE_URL: nothing accepts")


def test_a_second_embedded_process_is_one_line_before_any_banner(tmp_path: Path) -> None:
    assert run_aduan(tmp_path, clean_env(tmp_path), "db", "upgrade").code == 0
    port = free_port()
    first = subprocess.Popen(
        [*aduan_command(), "serve"],
        cwd=tmp_path,
        env=clean_env(tmp_path, ADUAN_HTTP_PORT=str(port)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first server did not start"
            time.sleep(0.2)
        env = clean_env(tmp_path, ADUAN_HTTP_PORT=str(free_port()))
        ran = run_aduan(tmp_path, env, "serve")
        line = assert_one_line(ran.code, ran.err_lines(), ran.err, "ADUAN_DATA_DIR")
        assert "another aduan process is already running" in line
        assert ran.out == ""  # no banner, no first-run setup link
        # The first one still serves: its lock was taken before its banner and
        # handed to its runtime.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
    finally:
        first.terminate()
        out, _err = first.communicate(timeout=30)
    assert "first run" in out  # the first printed its banner and setup link


# -- the validators themselves --------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("redis_url", "redis://127.0.0.1:6379/0"),
        ("redis_url", "rediss://:pw@redis.example:6380/1"),
        ("redis_url", "unix:///run/redis.sock"),
        ("log_level", "warning"),
        ("telegram_token", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"),
        ("twilio_account_sid", "AC" + "a1" * 16),
        ("twilio_sms_from", "MG" + "0" * 32),
        ("twilio_whatsapp_from", "whatsapp:+62211234567"),
        ("email_from", "Layanan Pengaduan <pengaduan@kantor.go.id>"),
        ("database_url", "postgresql://aduan@db:5432/aduan"),
        ("whatsapp_api_version", "v22.0"),
    ],
)
def test_good_values_pass(field: str, value: str) -> None:
    settings = load_settings(_env_file=None, **{field: value})
    assert getattr(settings, field) is not None


def test_postgres_urls_are_read_as_asyncpg() -> None:
    settings = load_settings(_env_file=None, database_url="postgres://aduan@db/aduan")
    assert settings.effective_database_url == "postgresql+asyncpg://aduan@db/aduan"


def test_log_level_is_normalised() -> None:
    assert load_settings(_env_file=None, log_level=" debug ").log_level == "DEBUG"


def test_every_problem_is_listed_with_its_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, redis_url="http://x", whatsapp_api_version="21")
    names = [name for name, _problem in info.value.problems]
    assert names == ["ADUAN_REDIS_URL", "ADUAN_WHATSAPP_API_VERSION"]
    assert "Value error" not in str(info.value)
