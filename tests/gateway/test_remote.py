"""The client address, scheme and host through trusted proxies (gateway/remote.py)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from gateway.config import ConfigError, load_settings
from gateway.remote import IPNetwork, Remote, resolve

PROXIES: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("10.0.0.0/24"),
    ipaddress.ip_network("fd00::/64"),
)


def _request(peer: str, *headers: tuple[str, str], host: str = "127.0.0.1:8080") -> Remote:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default
    )
    request = make_mocked_request(
        "POST", "/inbox/login", headers=CIMultiDict([("Host", host), *headers]), transport=transport
    )
    return resolve(request, PROXIES)


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # One proxy: the address it saw.
        ("10.0.0.5", ["203.0.113.7"], "203.0.113.7"),
        # A client's own X-Forwarded-For is kept by nginx on the left: never believed.
        ("10.0.0.5", ["6.6.6.6, 203.0.113.7"], "203.0.113.7"),
        # Two proxies in a row: the rightmost address that is not a proxy.
        ("10.0.0.5", ["6.6.6.6, 203.0.113.7, 10.0.0.9"], "203.0.113.7"),
        # Several header lines are one list, in order.
        ("10.0.0.5", ["6.6.6.6", "203.0.113.7, 10.0.0.9"], "203.0.113.7"),
        # Only proxies: the leftmost.
        ("10.0.0.5", ["10.0.0.8, 10.0.0.9"], "10.0.0.8"),
        # Text that is not an address ends the walk at the last proxy seen.
        ("10.0.0.5", ["203.0.113.7, unknown"], "10.0.0.5"),
        ("10.0.0.5", ["203.0.113.7, 10.0.0.9, 1.2.3.4:80"], "10.0.0.5"),
        # No header: the proxy itself.
        ("10.0.0.5", [], "10.0.0.5"),
        # IPv6 proxy, IPv4-mapped peer address.
        ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
        ("::ffff:10.0.0.5", ["203.0.113.7"], "203.0.113.7"),
        # An untrusted peer: its headers are ignored.
        ("198.51.100.1", ["203.0.113.7"], "198.51.100.1"),
        ("10.0.1.5", ["203.0.113.7"], "10.0.1.5"),
    ],
)
def test_the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy(
    peer: str, forwarded_for: list[str], client: str
) -> None:
    remote = _request(peer, *(("X-Forwarded-For", v) for v in forwarded_for))
    assert remote.address == client


def test_scheme_and_host_come_from_a_trusted_proxy_only() -> None:
    headers = (("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "aduan.example.go.id"))
    trusted = _request("10.0.0.5", *headers)
    assert trusted.origin == "https://aduan.example.go.id"
    untrusted = _request("198.51.100.1", *headers)
    assert untrusted.origin == "http://127.0.0.1:8080"
    # Two proxies: the nearest one's word (rightmost); nonsense is ignored.
    chained = _request(
        "10.0.0.5",
        ("X-Forwarded-Proto", "http, https"),
        ("X-Forwarded-Host", "a.example, aduan.example.go.id:8443"),
    )
    assert chained.origin == "https://aduan.example.go.id:8443"
    odd = _request(
        "10.0.0.5", ("X-Forwarded-Proto", "gopher"), ("X-Forwarded-Host", "evil.example/x@y")
    )
    assert odd.origin == "http://127.0.0.1:8080"


def test_the_setting_takes_addresses_and_networks_and_names_a_bad_one() -> None:
    settings = load_settings(trusted_proxies=" 10.0.0.5, 192.168.0.0/24,::1 ")
    assert settings.trusted_proxies == "10.0.0.5/32,192.168.0.0/24,::1/128"
    assert [str(n) for n in settings.trusted_proxy_networks] == [
        "10.0.0.5/32",
        "192.168.0.0/24",
        "::1/128",
    ]
    assert load_settings().trusted_proxy_networks == ()
    with pytest.raises(ConfigError, match=r"ADUAN_TRUSTED_PROXIES: .*'nginx' is not an IP address"):
        load_settings(trusted_proxies="10.0.0.5, nginx")


def test_only_gateway_remote_reads_who_the_peer_is() -> None:
    # Everything else asks gateway/remote.py, so trusted proxies apply everywhere.
    root = Path(__file__).resolve().parents[2] / "gateway"
    peer = re.compile(r"\brequest\.(remote|host|scheme|secure|url|forwarded|transport)\b")
    readers = {
        str(path.relative_to(root.parent))
        for path in root.rglob("*.py")
        if peer.search(path.read_text(encoding="utf-8"))
    }
    assert readers == {"gateway/remote.py"}
