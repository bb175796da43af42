"""deploy/nginx.conf and deploy/Caddyfile agree with the application (docs/deploy.md).

The nginx file is also run for real (tests/deploy/test_nginx.py); Caddy is not
installed here, so its file is checked for the same values as text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.app import MAX_REQUEST_BYTES
from gateway.config import Settings
from gateway.inbox.live import HEARTBEAT

ROOT = Path(__file__).resolve().parents[2]
NGINX = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
CADDY = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")

#: ADUAN_WEBHOOK_DEADLINE's default, in seconds.
DEADLINE: float = Settings.model_fields["webhook_deadline"].default
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_CADDY_UNITS = {"kib": 1024, "mib": 1024**2, "gib": 1024**3}


def _directives(text: str, name: str) -> list[str]:
    """The values of every ``name`` directive (comments left out)."""
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return [
        found.group(1).strip()
        for line in lines
        if (found := re.match(rf"\s*{re.escape(name)}\s+(.+?);?\s*$", line))
    ]


def _seconds(value: str) -> float:
    found = re.fullmatch(r"(\d+)(s|m)?", value)
    assert found is not None, value
    return int(found.group(1)) * (60 if found.group(2) == "m" else 1)


def test_nginx_takes_the_largest_body_the_application_reads() -> None:
    [size] = _directives(NGINX, "client_max_body_size")
    found = re.fullmatch(r"(\d+)([kmg]?)", size.lower())
    assert found is not None, size
    assert int(found.group(1)) * _UNITS[found.group(2)] == MAX_REQUEST_BYTES


def test_caddy_takes_the_largest_body_the_application_reads() -> None:
    [size] = _directives(CADDY, "max_size")
    found = re.fullmatch(r"(\d+)(kib|mib|gib)", size.lower())
    assert found is not None, size
    assert int(found.group(1)) * _CADDY_UNITS[found.group(2)] == MAX_REQUEST_BYTES


def test_nginx_waits_longer_than_the_webhook_deadline_and_the_event_heartbeat() -> None:
    deadline = DEADLINE
    [read] = _directives(NGINX, "proxy_read_timeout")
    [send] = _directives(NGINX, "proxy_send_timeout")
    assert _seconds(read) > max(deadline, HEARTBEAT)
    assert _seconds(send) > deadline


def test_caddy_waits_longer_than_the_webhook_deadline() -> None:
    [wait] = _directives(CADDY, "response_header_timeout")
    assert _seconds(wait) > DEADLINE


def test_nginx_forwards_the_client_address_scheme_and_host() -> None:
    headers = dict(value.split(None, 1) for value in _directives(NGINX, "proxy_set_header"))
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    # $http_host keeps the port the browser sent, which its Origin header names.
    assert headers["X-Forwarded-Host"] == "$http_host"
    assert headers["Host"] == "$http_host"


@pytest.mark.parametrize("name", ["deploy/nginx.conf", "deploy/Caddyfile", "docs/deploy.md"])
def test_the_settings_named_are_real(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    named = set(re.findall(r"\bADUAN_([A-Z0-9_]+)", text))
    assert {"TRUSTED_PROXIES", "PUBLIC_URL"} <= named
    assert {n.lower() for n in named} - set(Settings.model_fields) == set()
