"""Who is on the other end: the client address, scheme and host behind trusted proxies.

Behind a reverse proxy (nginx with TLS and ``proxy_pass``) the peer of every
request is the proxy: its address, plain ``http`` and the upstream ``Host``.
The proxy tells the truth in ``X-Forwarded-For``, ``X-Forwarded-Proto`` and
``X-Forwarded-Host`` — but anyone can send those headers, so they are read
only when the peer is one of ``ADUAN_TRUSTED_PROXIES`` (addresses or CIDR
networks; empty by default: never). The rule (docs/staff-access.md):

* client address: the peer when it is not trusted; otherwise the
  ``X-Forwarded-For`` list (every such header, in order) read from the right,
  skipping trusted proxies, and the first address that is not one of them is
  the client. When every entry is a trusted proxy, the leftmost is the
  client. An entry that is not an IP address ends the walk: the last trusted
  hop seen is used, never text a client could have chosen;
* scheme and host: the rightmost ``X-Forwarded-Proto`` (``http``/``https``
  only) and ``X-Forwarded-Host`` (a host name or address with an optional
  port) from a trusted peer, else the request's own.

This is what ``aiohttp-remotes`` does in its strict mode, but that answers
400 to an untrusted peer and needs the proxies per hop; here an untrusted
peer's headers are simply ignored.

Used for the Origin check and ``Secure`` cookies of the staff pages, the
sign-in throttle's address key and the address recorded with a staff
session, the public pages' per-address limits, the addresses in webhook log
lines, and the URL a Twilio webhook was signed for when ``ADUAN_PUBLIC_URL``
is unset (:func:`public_base`). Set-up: docs/deploy.md.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from gateway.app_runtime import get_runtime

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: A host name, IPv4 address or bracketed IPv6 address, with an optional port.
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$"
)


@dataclass(frozen=True, slots=True)
class Remote:
    """The client as seen through trusted proxies.

    ``address``: the client's IP address as text ("" when unknown, e.g. a
    Unix socket); ``scheme``: ``http`` or ``https``; ``host``: the ``Host``
    the client asked for, with its port when it gave one.
    """

    address: str
    scheme: str
    host: str

    @property
    def origin(self) -> str:
        """``scheme://host``, as a browser sends it in ``Origin``."""
        return f"{self.scheme}://{self.host}"


_REMOTE_KEY = web.RequestKey("aduan_remote", Remote)


def _parse(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: IPAddress | None, trusted: Sequence[IPNetwork]) -> bool:
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in trusted)


def _last(values: list[str]) -> str | None:
    """The rightmost non-empty item of comma-separated header values."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    return items[-1] if items else None


def resolve(request: web.BaseRequest, trusted: Sequence[IPNetwork]) -> Remote:
    """The :class:`Remote` of ``request`` given the ``trusted`` proxy networks (module docstring)."""
    peer_text = request.remote or ""
    peer = _parse(peer_text)
    if not _trusted(peer, trusted):
        return Remote(address=peer_text, scheme=request.scheme, host=request.host)
    assert peer is not None
    address = str(peer)
    hops = [
        item.strip()
        for value in request.headers.getall("X-Forwarded-For", [])
        for item in value.split(",")
        if item.strip()
    ]
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            break
        address = str(parsed)
        if not _trusted(parsed, trusted):
            break
    proto = (_last(request.headers.getall("X-Forwarded-Proto", [])) or "").lower()
    host = _last(request.headers.getall("X-Forwarded-Host", [])) or ""
    return Remote(
        address=address,
        scheme=proto if proto in ("http", "https") else request.scheme,
        host=host if _HOST.match(host) else request.host,
    )


def remote(request: web.Request) -> Remote:
    """The request's :class:`Remote` under ``ADUAN_TRUSTED_PROXIES`` (computed once per request)."""
    found = request.get(_REMOTE_KEY)
    if found is None:
        found = resolve(request, get_runtime(request).settings.trusted_proxy_networks)
        request[_REMOTE_KEY] = found
    return found


def client_address(request: web.Request) -> str:
    """The client's IP address as text ("" when unknown); see the module docstring."""
    return remote(request).address


def public_base(request: web.Request) -> str:
    """The base of the absolute URL the client used for ``request``.

    ``ADUAN_PUBLIC_URL`` as configured when it is set; otherwise
    ``scheme://host`` as the client sent them, through trusted proxies
    (:attr:`Remote.origin`). Append ``request.path_qs`` for the whole URL.
    """
    configured = get_runtime(request).settings.public_url
    return configured if configured else remote(request).origin
