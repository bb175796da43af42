"""Request ids, the access log and JSON logs: one object per line, the request id on
every line of a request, no personal data, secrets masked (docs/observability.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.api import SIGNATURE_HEADER, sign
from gateway.access_log import request_id_for
from gateway.app import create_app
from gateway.logs import configure_logging
from tests.runtime_fixtures import make_harness

SECRET = "s3cret-for-tests-webhook"
EMAIL = "Budi.Santoso@Example.com"
PHONE = "+6281234567890"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {
        name: logging.getLogger(name).level for name in ("twilio", "fontTools", "aduan.access")
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def personal_body(external_id: str) -> bytes:
    return json.dumps(
        {
            "id": external_id,
            "from": {"email": EMAIL, "name": "Budi Santoso"},
            "text": f"Hubungi saya di {PHONE}",
            "fields": {"customer_name": "PT Sinar Jaya"},
        }
    ).encode()


def test_request_ids_are_kept_when_sane_and_replaced_otherwise() -> None:
    assert request_id_for("lb-7f3a:01.x_y") == "lb-7f3a:01.x_y"
    for bad in (None, "", "a" * 65, "with space", "x\r\nSet-Cookie: y", "ünï"):
        new = request_id_for(bad)
        assert len(new) == 32 and int(new, 16) >= 0


async def test_json_lines_carry_the_request_id_and_no_personal_data(
    aiohttp_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    h = await make_harness(tmp_path, webhook_secret=SECRET, log_format="json")
    configure_logging("INFO", secrets=h.runtime.settings.secret_values(), fmt="json")
    client = await aiohttp_client(create_app(h.runtime.settings, runtime=h.runtime))
    capsys.readouterr()
    raw = personal_body("logs-1")
    resp = await client.post(
        "/webhooks/api",
        data=raw,
        headers={SIGNATURE_HEADER: sign(SECRET, raw), "X-Request-ID": "req-abc-123"},
    )
    assert resp.status == 200
    assert resp.headers["X-Request-ID"] == "req-abc-123"
    # Quarantined (no phone or email) while answering: a warning inside the request.
    odd = json.dumps({"id": "logs-2", "from": {"phone": "12"}}).encode()
    resp = await client.post(
        "/webhooks/api", data=odd, headers={SIGNATURE_HEADER: sign(SECRET, odd)}
    )
    generated = resp.headers["X-Request-ID"]
    assert len(generated) == 32
    resp = await client.get("/track", params={"number": "ADU-2026-000123"})
    tracked = resp.headers["X-Request-ID"]
    resp = await client.get(f"/submitted/token-{PHONE}")
    await h.settle()
    logging.getLogger("gateway.test").warning("a secret in a line: %s", SECRET)
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert lines, err
    for line in lines:
        assert {"event", "level", "timestamp", "logger"} <= line.keys()
    for needle in (EMAIL, EMAIL.lower(), PHONE, "ADU-2026-000123", SECRET, "token-"):
        assert needle not in err, needle
    assert any("***" in line["event"] for line in lines)  # the secret was masked
    access = [line for line in lines if line["logger"] == "aduan.access"]
    first = next(line for line in access if line["request_id"] == "req-abc-123")
    assert first["method"] == "POST" and first["route"] == "/webhooks/api"
    assert first["status"] == 200 and first["client"] == "127.0.0.1"
    assert isinstance(first["duration_ms"], float)
    quarantined = [line for line in lines if line.get("request_id") == generated]
    assert {line["logger"] for line in quarantined} >= {"aduan.access", "gateway.inbound.store"}
    track = next(line for line in access if line["request_id"] == tracked)
    assert track["route"] == "/track"
    assert any(line["route"] == "/submitted/{token}" for line in access)
    await h.runtime.close()


async def test_probes_are_quiet_and_errors_carry_the_id(
    aiohttp_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = await make_harness(tmp_path)
    client = await aiohttp_client(create_app(h.runtime.settings, runtime=h.runtime))
    with caplog.at_level(logging.INFO, logger="aduan.access"):
        assert (await client.get("/healthz")).status == 200
        resp = await client.get("/no/such/page/0812345678")
        assert resp.status == 404 and len(resp.headers["X-Request-ID"]) == 32
    records = [r for r in caplog.records if r.name == "aduan.access"]
    assert [(r.route, r.status) for r in records] == [("-", 404)]  # type: ignore[attr-defined]
    assert "0812345678" not in caplog.text
    await h.runtime.close()


def test_noisy_libraries_are_quiet_unless_debug(restore_logging: None) -> None:
    configure_logging("INFO")
    assert logging.getLogger("twilio.http_client").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("fontTools.subset").getEffectiveLevel() == logging.WARNING
    configure_logging("DEBUG")
    assert logging.getLogger("twilio.http_client").getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger("fontTools.subset").getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger("telegram").getEffectiveLevel() == logging.WARNING  # URLs with tokens
    with pytest.raises(ValueError, match="console or json"):
        configure_logging("INFO", fmt="yaml")


async def test_an_unhandled_error_is_a_500_quoting_the_request_id_and_logged_without_its_text(
    aiohttp_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in a handler: the clerk gets a short bilingual page with a code to
    quote, the API client a problem document, and the log the same code, the
    exception's type and where it was raised, never its text."""
    h = await make_harness(tmp_path)
    app = create_app(h.runtime.settings, runtime=h.runtime)

    async def broken(request: Any) -> Any:
        raise RuntimeError(f"could not reach {PHONE}")

    app.router.add_get("/broken", broken)
    app.router.add_get("/api/v1/broken", broken)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.INFO):
        page = await client.get("/broken", headers={"X-Request-ID": "req-page-1"})
        api = await client.get("/api/v1/broken")
    assert page.status == 500 and page.headers["X-Request-ID"] == "req-page-1"
    assert page.content_type == "text/plain"
    text = await page.text()
    assert "Terjadi kesalahan di pihak kami" in text and "Something went wrong" in text
    assert text.count("req-page-1") == 2 and PHONE not in text
    assert api.status == 500 and api.content_type == "application/problem+json"
    problem = await api.json()
    assert problem["code"] == "internal_error"
    assert problem["request_id"] == api.headers["X-Request-ID"]
    assert problem["request_id"] in problem["detail"]
    errors = [r for r in caplog.records if r.name == "aduan.errors"]
    assert len(errors) == 2
    assert (
        "RuntimeError" in errors[0].getMessage() and "test_access_log.py" in errors[0].getMessage()
    )
    access = [r for r in caplog.records if r.name == "aduan.access"]
    assert [(r.route, r.status) for r in access] == [  # type: ignore[attr-defined]
        ("/broken", 500),
        ("/api/v1/broken", 500),
    ]
    assert PHONE not in caplog.text
    await h.runtime.close()


async def test_a_client_gone_is_499_and_a_timeout_504_and_only_the_timeout_is_an_error(
    aiohttp_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken connection is not a fault to report (499, as proxies log it); a
    handler that timed out is 504 with the code to quote, as before."""
    h = await make_harness(tmp_path)
    app = create_app(h.runtime.settings, runtime=h.runtime)

    async def gone(request: Any) -> Any:
        raise ConnectionResetError("Cannot write to closing transport")

    async def slow(request: Any) -> Any:
        raise TimeoutError

    app.router.add_get("/gone", gone)
    app.router.add_get("/slow", slow)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.INFO):
        assert (await client.get("/gone")).status == 499
        slow_page = await client.get("/slow", headers={"X-Request-ID": "req-slow-1"})
    assert slow_page.status == 504 and "req-slow-1" in await slow_page.text()
    errors = [r for r in caplog.records if r.name == "aduan.errors"]
    assert len(errors) == 1 and "TimeoutError" in errors[0].getMessage()
    access = [r for r in caplog.records if r.name == "aduan.access"]
    assert [(r.route, r.status) for r in access] == [("/gone", 499), ("/slow", 504)]  # type: ignore[attr-defined]
    await h.runtime.close()
