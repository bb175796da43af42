"""One SSRF-safe fetcher for the files citizens send through a provider.

Twilio, the WhatsApp Cloud API and the Telegram Bot API hand the gateway a
*reference* to a file (a ``MediaUrl``, a media id, a ``file_id``) that the
gateway then fetches itself, with the provider's credentials, and stores as an
attachment staff can open. A crafted reference must never make the gateway
fetch an internal address (``http://127.0.0.1:…``, ``169.254.169.254``), carry
the credentials elsewhere, or read without bound. Every media download goes
through :class:`MediaFetcher`, under a :class:`MediaPolicy` built by the
channel module (the rules are written down in ``docs/attachments.md``):

* a fetch starts only at https on the default port of a host on the provider's
  allow-list (``hosts``), or at the *configured* API base (``base_url``, from
  ``ADUAN_*_API_BASE``), which is taken as the operator set it — a local fake
  in tests, any scheme or address;
* redirects are followed by hand, at most :data:`MAX_REDIRECTS`, each hop
  checked again by the same rules (a redirect may also lead to the provider's
  CDN hosts, ``redirect_hosts``);
* host names are resolved inside the connector by :class:`GuardedResolver`: a
  name that resolves to a loopback, private, link-local, shared (100.64/10),
  multicast, reserved or unspecified address (IPv4, IPv6, and IPv4 inside
  IPv6) is refused. The addresses checked are the addresses connected to, so
  DNS rebinding between a check and the connection cannot slip through. IP
  literals, which aiohttp does not resolve, are checked before the request;
* credentials (request headers such as ``Authorization``) go only to the
  configured base and to ``credential_hosts``, and never along a redirect to
  another origin;
* no proxy from the environment, no cookies, no content decoding; the body is
  streamed and the download stops as soon as it passes ``max_bytes``; the
  whole fetch, redirects included, has ``timeout`` seconds.

A refused or failed fetch is never an exception to the webhook:
:meth:`MediaFetcher.attachment` returns an :class:`~channels.base.Attachment`
with ``skipped_reason`` set, stored with the message and shown to staff
("not stored: …"). Reasons name hosts and addresses, never URLs: a Telegram
file URL carries the bot token.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from channels.base import Attachment

__all__ = [
    "MAX_REDIRECTS",
    "AddressRefused",
    "Fetched",
    "GuardedResolver",
    "MediaFetcher",
    "MediaPolicy",
    "MediaRefused",
    "address_refusal",
    "host_matches",
    "skipped",
]

log = logging.getLogger(__name__)

#: Redirects followed for one file (Twilio needs one: api.twilio.com → its CDN).
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
#: ``attachments.skipped_reason`` is a String(300) (storage/models.py).
REASON_MAX = 300
#: Largest JSON answer of a lookup (WhatsApp media info, Telegram getFile), bytes.
LOOKUP_MAX_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Well-known NAT64 prefix (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: Shared address space for carrier-grade NAT (RFC 6598).
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
#: IPv4-compatible IPv6 addresses (RFC 4291 2.5.5.1, deprecated): ``::a.b.c.d``.
_COMPATIBLE = ipaddress.IPv6Network("::/96")


class MediaRefused(Exception):
    """A fetch that was refused, or failed, before the file was complete.

    Attributes:
        reason: what ``skipped_reason`` says (English, at most :data:`REASON_MAX`
            characters, no URL).
        size: bytes announced or read when it stopped (0 when unknown).
    """

    def __init__(self, reason: str, size: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason[:REASON_MAX]
        self.size = size


class AddressRefused(OSError):
    """Raised by :class:`GuardedResolver` when a name resolves to a refused address."""

    def __init__(self, host: str, why: str) -> None:
        super().__init__(f"{host} resolves to {why}")
        self.host = host
        self.why = why


def address_refusal(address: str | IPAddress) -> str | None:
    """Why the gateway must not connect to ``address``; ``None`` for a public one.

    ``address`` is an IPv4 or IPv6 address (text may carry an IPv6 ``%scope``).
    An IPv4 address carried inside IPv6 (mapped ``::ffff:a.b.c.d``, compatible
    ``::a.b.c.d``, 6to4 ``2002::/16``, Teredo, NAT64 ``64:ff9b::/96``) is
    judged as that IPv4 address. Refused: unspecified (``0.0.0.0``, ``::``),
    loopback, link-local (``169.254/16``, ``fe80::/10``), multicast, private
    (RFC 1918, ``fc00::/7`` and the other special-purpose blocks Python's
    :mod:`ipaddress` lists), shared ``100.64/10``, reserved, and anything else
    that is not globally reachable.

    Returns:
        A phrase such as ``"a loopback address"``, or ``None``.

    Raises:
        ValueError: ``address`` is not an IP address.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # the socket connects to the IPv4 address itself
            return address_refusal(ip.ipv4_mapped)
        inner: ipaddress.IPv4Address | None = ip.sixtofour
        if inner is None and ip.teredo is not None:
            inner = ip.teredo[1]
        if inner is None and (ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1)):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            why = address_refusal(inner)
            if why is not None:
                return why
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def _norm_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def host_matches(host: str, patterns: frozenset[str]) -> bool:
    """True when ``host`` is one of ``patterns``; ``"*.example.com"`` matches any
    subdomain of ``example.com`` (not ``example.com`` itself). Case-insensitive;
    a trailing dot is ignored."""
    name = _norm_host(host)
    for pattern in patterns:
        pattern = _norm_host(pattern)
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]) and len(name) > len(pattern) - 1:
                return True
        elif name == pattern:
            return True
    return False


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


Origin = tuple[str, str, int]


def _origin(url: URL) -> Origin:
    scheme = (url.scheme or "").lower()
    return (
        scheme,
        _norm_host(url.raw_host or ""),
        url.explicit_port or _DEFAULT_PORTS.get(scheme, 0),
    )


class GuardedResolver(AbstractResolver):
    """aiohttp's default resolver, refusing non-public answers (see :func:`address_refusal`).

    Every address a name resolves to must be public, or the whole name is
    refused with :class:`AddressRefused` (an ``OSError``, which aiohttp's
    connector reports as a connection error). Names in ``trusted_hosts`` (the
    configured API bases) are returned as resolved.
    """

    def __init__(self, trusted_hosts: frozenset[str], inner: AbstractResolver | None = None):
        self._trusted = frozenset(_norm_host(h) for h in trusted_hosts)
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host``; raises :class:`AddressRefused` for a refused answer."""
        results = await self._inner.resolve(host, port, family)
        if _norm_host(host) in self._trusted:
            return results
        for result in results:
            try:
                why = address_refusal(result["host"])
            except ValueError:
                why = "an unreadable address"
            if why is not None:
                raise AddressRefused(_norm_host(host), why)
        return results

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


@dataclass(frozen=True, slots=True)
class MediaPolicy:
    """Where a provider's files may be fetched from, and within which limits.

    Attributes:
        provider: the provider's name for reasons ("Twilio").
        base_url: the configured API base (``ADUAN_*_API_BASE``); its origin
            (scheme, host, port) is trusted as it is and gets the credentials.
        hosts: https hosts a fetch may start at (``"*.x.com"``: subdomains).
        redirect_hosts: further https hosts only a redirect may lead to.
        credential_hosts: https hosts besides the base that get the credentials
            on a request that starts there (not on a redirect to them from
            another origin).
        trusted_origins: further origins (``scheme://host:port``) reached as
            they are, like the base, but without credentials (local fakes).
        max_bytes: largest file kept, bytes (``ADUAN_ATTACHMENT_MAX_BYTES``).
        timeout: seconds for one whole fetch, redirects included.
    """

    provider: str
    base_url: str
    hosts: frozenset[str]
    redirect_hosts: frozenset[str] = frozenset()
    credential_hosts: frozenset[str] = frozenset()
    trusted_origins: tuple[str, ...] = ()
    max_bytes: int = 10 * 1024 * 1024
    timeout: float = 10.0

    def trusted(self) -> frozenset[Origin]:
        """The origins taken as they are: the base's and ``trusted_origins``."""
        return frozenset(_origin(URL(u)) for u in (self.base_url, *self.trusted_origins))

    def check(self, url: URL, *, redirect: bool) -> None:
        """Refuse ``url`` unless this policy allows fetching it.

        Raises:
            MediaRefused: with the reason (``"refused: …"``).
        """
        scheme = (url.scheme or "").lower()
        host = _norm_host(url.raw_host or "")
        hop = "a redirect to" if redirect else "a file on"
        if scheme not in _DEFAULT_PORTS or not host:
            raise MediaRefused(f"refused: {hop} a URL that is not http(s)")
        if url.raw_user is not None or url.raw_password is not None:
            raise MediaRefused(f"refused: {hop} a URL with a user name ({host})")
        if _origin(url) in self.trusted():
            return
        literal = _ip_literal(host)
        if literal is not None:
            why = address_refusal(literal) or "an address, not a provider host"
            raise MediaRefused(f"refused: {hop} {literal}, {why}")
        allowed = self.hosts | self.redirect_hosts if redirect else self.hosts
        if not host_matches(host, allowed):
            raise MediaRefused(f"refused: {hop} {host}, not a {self.provider} media host")
        if scheme != "https":
            raise MediaRefused(f"refused: {hop} {host} without https")
        if url.explicit_port not in (None, 443):
            raise MediaRefused(f"refused: {hop} {host} on port {url.explicit_port}")

    def gets_credentials(self, url: URL) -> bool:
        """True when a request that starts at ``url`` may carry the credentials."""
        if _origin(url) == _origin(URL(self.base_url)):
            return True
        return (
            (url.scheme or "").lower() == "https"
            and url.explicit_port in (None, 443)
            and host_matches(url.raw_host or "", self.credential_hosts)
        )


@dataclass(frozen=True, slots=True)
class Fetched:
    """A complete answer: ``content`` (at most the limit asked), its ``Content-Type``."""

    content: bytes
    content_type: str | None


def _parse_url(text: str) -> URL:
    try:
        url = URL(text.strip())
    except (ValueError, TypeError):
        raise MediaRefused("refused: not a URL") from None
    if url.scheme and url.scheme.lower() not in _DEFAULT_PORTS:
        raise MediaRefused("refused: a file on a URL that is not http(s)")
    if not url.is_absolute():
        raise MediaRefused("refused: not an absolute URL")
    return url


class MediaFetcher:
    """Fetches files under one :class:`MediaPolicy`; an async context manager.

    ``async with MediaFetcher(policy) as fetcher:`` opens one HTTP session (own
    connector with :class:`GuardedResolver`, no environment proxies, no cookie
    jar) and closes it on exit. ``resolver`` replaces the system resolver under
    the guard (tests).
    """

    def __init__(self, policy: MediaPolicy, *, resolver: AbstractResolver | None = None):
        self.policy = policy
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        trusted = frozenset(host for _scheme, host, _port in self.policy.trusted())
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(trusted, self._resolver), limit=10
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, connect=5, sock_read=self.policy.timeout),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def get(
        self,
        url: str,
        *,
        credentials: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        what: str = "download",
    ) -> Fetched:
        """GET ``url`` under the policy; the whole body, at most ``max_bytes``.

        Args:
            url: absolute URL of the file.
            credentials: headers sent only where :meth:`MediaPolicy.gets_credentials`
                allows, and dropped on a redirect to another origin.
            max_bytes: size limit in bytes (default: the policy's).
            what: names the request in reasons (``"media lookup failed: HTTP 400"``).

        Raises:
            MediaRefused: refused by the policy, an answer other than 200, too
                large, no answer within the policy's timeout, or a network error.
        """
        limit = self.policy.max_bytes if max_bytes is None else max_bytes
        try:
            async with asyncio.timeout(self.policy.timeout):
                return await self._get(_parse_url(url), credentials or {}, limit, what)
        except TimeoutError:
            raise MediaRefused(
                f"{what} failed: no answer within {self.policy.timeout:g} s"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            refused = exc.os_error if isinstance(exc.os_error, AddressRefused) else None
            if refused is None and isinstance(exc.__cause__, AddressRefused):
                refused = exc.__cause__
            if refused is not None:
                raise MediaRefused(f"refused: {refused.host} resolves to {refused.why}") from None
            raise MediaRefused(f"{what} failed: cannot connect to {exc.host}") from None
        except aiohttp.ClientError as exc:
            raise MediaRefused(f"{what} failed: {type(exc).__name__}") from None

    async def _get(
        self, url: URL, credentials: Mapping[str, str], limit: int, what: str
    ) -> Fetched:
        session = self._session
        if session is None:
            raise RuntimeError("MediaFetcher used outside 'async with'")
        self.policy.check(url, redirect=False)
        headers = dict(credentials) if self.policy.gets_credentials(url) else {}
        for _hop in range(MAX_REDIRECTS + 1):
            async with session.get(
                url,
                headers={**headers, "Accept-Encoding": "identity"},
                allow_redirects=False,
            ) as resp:
                if resp.status in _REDIRECTS:
                    location = resp.headers.get("Location", "").strip()
                    if not location:
                        raise MediaRefused(f"{what} failed: HTTP {resp.status} without Location")
                    try:
                        target = url.join(URL(location))
                    except (ValueError, TypeError):
                        raise MediaRefused("refused: a redirect to something not a URL") from None
                    self.policy.check(target, redirect=True)
                    if _origin(target) != _origin(url):
                        headers = {}
                    url = target
                    continue
                if resp.status != 200:
                    raise MediaRefused(f"{what} failed: HTTP {resp.status}")
                declared = resp.content_length
                if declared is not None and declared > limit:
                    raise MediaRefused(
                        f"too large: {declared} bytes, limit {limit} bytes", declared
                    )
                data = bytearray()
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    data.extend(chunk)
                    if len(data) > limit:
                        raise MediaRefused(f"too large: over {limit} bytes", len(data))
                return Fetched(bytes(data), resp.headers.get("Content-Type"))
        raise MediaRefused(f"refused: more than {MAX_REDIRECTS} redirects")

    async def get_json(
        self, url: str, *, credentials: Mapping[str, str] | None = None, what: str = "lookup"
    ) -> Any:
        """GET a small JSON document (at most :data:`LOOKUP_MAX_BYTES`), decoded.

        Raises:
            MediaRefused: as :meth:`get`, or the answer is not JSON.
        """
        fetched = await self.get(
            url, credentials=credentials, max_bytes=LOOKUP_MAX_BYTES, what=what
        )
        try:
            return json.loads(fetched.content)
        except (ValueError, UnicodeDecodeError):
            raise MediaRefused(f"{what} failed: the answer is not JSON") from None

    async def attachment(
        self,
        url: str,
        *,
        filename: str,
        content_type: str,
        credentials: Mapping[str, str] | None = None,
    ) -> Attachment:
        """The file at ``url`` as an :class:`Attachment`; never raises for the fetch.

        ``content_type`` is what the provider announced and is kept as the
        attachment's type. A refused or failed fetch gives an attachment with
        no content, ``skipped_reason`` set and ``size`` as far as known.
        """
        try:
            fetched = await self.get(url, credentials=credentials)
        except MediaRefused as exc:
            return skipped(self.policy.provider, filename, content_type, exc)
        return Attachment(
            filename, content_type, content=fetched.content, size=len(fetched.content)
        )


def skipped(provider: str, filename: str, content_type: str, refusal: MediaRefused) -> Attachment:
    """The attachment recorded for a refused or failed fetch.

    Logs one warning with the provider and the reason only: no URL (it may
    carry a token) and no file name (it may carry personal data).
    """
    log.warning("%s media not stored: %s", provider, refusal.reason)
    return Attachment(filename, content_type, size=refusal.size, skipped_reason=refusal.reason)
