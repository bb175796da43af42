"""The media fetcher on its own: address checks, host rules, redirects,
credentials, size and time limits, against real local HTTP servers."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from channels.media import (
    AddressRefused,
    GuardedResolver,
    MediaFetcher,
    MediaPolicy,
    MediaRefused,
    address_refusal,
    host_matches,
)
from tests.media.servers import recording_server

SECRET = {"Authorization": "Basic c2VjcmV0OnNlY3JldA=="}


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.254", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("100.127.255.254", "a shared (carrier-grade NAT) address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a private address"),
        ("255.255.255.255", "a private address"),
        ("192.0.2.10", "a private address"),
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fc00::1", "a private address"),
        ("fdff:ffff::1", "a private address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("ff02::1", "a multicast address"),
        ("ff0e::1", "a multicast address"),
        ("2001:db8::1", "a private address"),
        # IPv4 inside IPv6 is judged as the IPv4 address.
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:7f00:1", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("::ffff:169.254.169.254", "a link-local address"),
        ("::ffff:0.0.0.0", "an unspecified address"),
        ("::127.0.0.1", "a loopback address"),
        ("2002:7f00:1::1", "a loopback address"),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::", "a link-local address"),  # 6to4 of 169.254.169.254
        ("64:ff9b::a9fe:a9fe", "a link-local address"),  # NAT64 of 169.254.169.254
    ],
)
def test_non_public_addresses_are_refused(address: str, why: str) -> None:
    assert address_refusal(address) == why


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.1",
        "2001:4860:4860::8888",
        "::ffff:8.8.8.8",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(address) is None


def test_address_refusal_raises_for_text_that_is_no_address() -> None:
    with pytest.raises(ValueError):
        address_refusal("api.twilio.com")


def test_host_patterns_match_subdomains_only() -> None:
    cdn = frozenset({"*.twiliocdn.com", "api.twilio.com"})
    assert host_matches("mms.twiliocdn.com", cdn)
    assert host_matches("MMS.TwilioCDN.com.", cdn)
    assert host_matches("api.twilio.com", cdn)
    assert not host_matches("twiliocdn.com", cdn)
    assert not host_matches("eviltwiliocdn.com", cdn)
    assert not host_matches("mms.twiliocdn.com.evil.example", cdn)
    assert not host_matches("api.twilio.com.evil.example", cdn)
    assert not host_matches("xapi.twilio.com", cdn)


TWILIO = MediaPolicy(
    provider="Twilio",
    base_url="https://api.twilio.com",
    hosts=frozenset({"api.twilio.com"}),
    redirect_hosts=frozenset({"*.twiliocdn.com"}),
    credential_hosts=frozenset({"api.twilio.com"}),
)


@pytest.mark.parametrize(
    ("url", "redirect", "reason"),
    [
        ("http://127.0.0.1:8080/x", False, "refused: a file on 127.0.0.1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", False, "a link-local address"),
        ("http://[::1]:80/x", False, "refused: a file on ::1, a loopback address"),
        ("http://[::ffff:127.0.0.1]/x", False, "a loopback address"),
        ("http://0.0.0.0:80/x", False, "an unspecified address"),
        ("https://100.64.1.1/x", False, "a shared (carrier-grade NAT) address"),
        ("https://8.8.8.8/x", False, "an address, not a provider host"),
        (
            "https://evil.example/x",
            False,
            "refused: a file on evil.example, not a Twilio media host",
        ),
        ("https://api.twilio.com.evil.example/x", False, "not a Twilio media host"),
        ("https://mms.twiliocdn.com/x", False, "not a Twilio media host"),
        ("http://api.twilio.com/x", False, "refused: a file on api.twilio.com without https"),
        ("https://api.twilio.com:8443/x", False, "on port 8443"),
        ("https://user:pw@api.twilio.com/x", False, "with a user name"),
        ("file:///etc/passwd", False, "not http(s)"),
        ("gopher://api.twilio.com/x", False, "not http(s)"),
        ("http://localhost/x", True, "refused: a redirect to localhost, not a Twilio media host"),
        ("http://10.0.0.5/x", True, "refused: a redirect to 10.0.0.5, a private address"),
        ("http://mms.twiliocdn.com/x", True, "without https"),
    ],
)
def test_policy_refuses_what_is_not_a_provider_host(url: str, redirect: bool, reason: str) -> None:
    with pytest.raises(MediaRefused) as caught:
        TWILIO.check(URL(url), redirect=redirect)
    assert reason in caught.value.reason


def test_policy_allows_provider_hosts_and_cdn_only_by_redirect() -> None:
    TWILIO.check(URL("https://api.twilio.com/2010-04-01/x"), redirect=False)
    TWILIO.check(URL("https://API.twilio.com:443/x"), redirect=False)
    TWILIO.check(URL("https://mms.twiliocdn.com/x?sig=1"), redirect=True)
    assert TWILIO.gets_credentials(URL("https://api.twilio.com/x"))
    assert not TWILIO.gets_credentials(URL("https://mms.twiliocdn.com/x"))
    assert not TWILIO.gets_credentials(URL("http://api.twilio.com/x"))


def test_configured_base_is_taken_as_it_is_but_only_its_own_port() -> None:
    local = MediaPolicy("Twilio", "http://127.0.0.1:8123", hosts=frozenset({"api.twilio.com"}))
    local.check(URL("http://127.0.0.1:8123/2010-04-01/x"), redirect=False)
    assert local.gets_credentials(URL("http://127.0.0.1:8123/x"))
    with pytest.raises(MediaRefused, match="loopback"):
        local.check(URL("http://127.0.0.1:8124/x"), redirect=False)
    with pytest.raises(MediaRefused, match="loopback"):
        local.check(URL("https://127.0.0.1:8123/x"), redirect=False)


class FixedResolver(AbstractResolver):
    """Answers every name with the given addresses (a DNS server under test control)."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=a,
                port=port,
                family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_guarded_resolver_refuses_a_name_with_any_non_public_answer() -> None:
    guard = GuardedResolver(frozenset({"fake.local"}), FixedResolver("8.8.8.8", "10.0.0.7"))
    with pytest.raises(AddressRefused) as caught:
        await guard.resolve("media.example.com", 443)
    assert (caught.value.host, caught.value.why) == ("media.example.com", "a private address")
    # The configured base's host is trusted as the operator set it.
    assert [r["host"] for r in await guard.resolve("FAKE.local.", 80)] == ["8.8.8.8", "10.0.0.7"]
    public = GuardedResolver(frozenset(), FixedResolver("8.8.4.4", "2001:4860:4860::8844"))
    assert len(await public.resolve("media.example.com", 443)) == 2


async def test_a_name_resolving_to_loopback_is_never_connected() -> None:
    """DNS that answers 127.0.0.1 for an allowed host name: the connector's own
    resolution is checked, so nothing reaches the local service."""
    async with recording_server() as victim:
        port = URL(victim.url).port
        policy = MediaPolicy(
            "Test", "https://api.provider.test", hosts=frozenset({"cdn.provider.test"})
        )
        resolver = FixedResolver("127.0.0.1")
        async with MediaFetcher(policy, resolver=resolver) as fetcher:
            # Through the port check too: the allowed host on the victim's port is refused.
            with pytest.raises(MediaRefused, match=f"port {port}"):
                await fetcher.get(f"https://cdn.provider.test:{port}/x", credentials=SECRET)
            with pytest.raises(MediaRefused) as caught:
                await fetcher.get("https://cdn.provider.test/x", credentials=SECRET)
        assert caught.value.reason == "refused: cdn.provider.test resolves to a loopback address"
        assert resolver.asked == ["cdn.provider.test"]
        assert victim.requests == []


async def test_credentials_stay_with_the_provider_origin_across_a_redirect() -> None:
    async with recording_server() as cdn:

        async def provider(request: web.Request) -> web.StreamResponse:
            if request.path == "/media/one":
                # Same origin first (credentials kept), then the CDN (dropped).
                raise web.HTTPFound("/media/two")
            raise web.HTTPFound(f"{cdn.url}/signed/file.jpg?sig=abc")

        async with recording_server(provider) as api:
            policy = MediaPolicy(
                "Test", api.url, hosts=frozenset(), trusted_origins=(cdn.url,), max_bytes=1000
            )
            async with MediaFetcher(policy) as fetcher:
                fetched = await fetcher.get(f"{api.url}/media/one", credentials=SECRET)
    assert fetched.content == b'{"secret": "internal metadata"}'
    assert [r.headers.get("Authorization") for r in api.requests] == [
        SECRET["Authorization"],
        SECRET["Authorization"],
    ]
    [at_cdn] = cdn.requests
    assert at_cdn.path == "/signed/file.jpg?sig=abc"
    assert "Authorization" not in at_cdn.headers


async def test_credentials_are_not_sent_where_a_fetch_starts_off_the_provider() -> None:
    async with recording_server() as other, recording_server() as api:
        policy = MediaPolicy("Test", api.url, hosts=frozenset(), trusted_origins=(other.url,))
        async with MediaFetcher(policy) as fetcher:
            await fetcher.get(f"{other.url}/file", credentials=SECRET)
    [request] = other.requests
    assert "Authorization" not in request.headers


async def test_a_redirect_to_a_private_address_is_refused_before_any_request() -> None:
    async with recording_server() as victim:

        async def provider(request: web.Request) -> web.StreamResponse:
            raise web.HTTPTemporaryRedirect(f"{victim.url}/admin")

        async with recording_server(provider) as api:
            policy = MediaPolicy("Test", api.url, hosts=frozenset())
            async with MediaFetcher(policy) as fetcher:
                with pytest.raises(MediaRefused) as caught:
                    await fetcher.get(f"{api.url}/media", credentials=SECRET)
    assert caught.value.reason == "refused: a redirect to 127.0.0.1, a loopback address"
    assert victim.requests == []


async def test_redirects_are_bounded() -> None:
    async def loop(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"/again{len(request.path)}")

    async with recording_server(loop) as api:
        async with MediaFetcher(MediaPolicy("Test", api.url, hosts=frozenset())) as fetcher:
            with pytest.raises(MediaRefused, match="more than 3 redirects"):
                await fetcher.get(f"{api.url}/start")
    assert len(api.requests) == 4


async def test_size_limit_stops_the_download_while_streaming() -> None:
    """No Content-Length: the fetcher reads until it passes the limit, then hangs up;
    the server never gets to send most of its 64 MiB."""
    total = 64 * 1024 * 1024
    chunk = b"x" * (64 * 1024)
    sent = 0
    finished = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            while sent < total:
                await resp.write(chunk)
                sent += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            finished.set()
        return resp

    async with recording_server(endless) as api:
        policy = MediaPolicy("Test", api.url, hosts=frozenset(), max_bytes=256 * 1024)
        async with MediaFetcher(policy) as fetcher:
            attachment = await fetcher.attachment(
                f"{api.url}/big", filename="big.bin", content_type="application/octet-stream"
            )
        await asyncio.wait_for(finished.wait(), timeout=10)
    assert attachment.content == b""
    assert attachment.skipped_reason == "too large: over 262144 bytes"
    assert 256 * 1024 < attachment.size <= 256 * 1024 + len(chunk)
    assert sent < total // 2


async def test_announced_size_over_the_limit_is_not_read() -> None:
    async def big(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"y" * 5000)

    async with recording_server(big) as api:
        policy = MediaPolicy("Test", api.url, hosts=frozenset(), max_bytes=1000)
        async with MediaFetcher(policy) as fetcher:
            attachment = await fetcher.attachment(
                f"{api.url}/f", filename="f.bin", content_type="application/pdf"
            )
    assert (attachment.content, attachment.size) == (b"", 5000)
    assert attachment.skipped_reason == "too large: 5000 bytes, limit 1000 bytes"


async def test_a_slow_server_is_given_up_after_the_time_limit() -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(body=b"late")

    async with recording_server(slow) as api:
        policy = MediaPolicy("Test", api.url, hosts=frozenset(), timeout=0.3)
        async with MediaFetcher(policy) as fetcher:
            started = time.monotonic()
            attachment = await fetcher.attachment(
                f"{api.url}/f", filename="f.bin", content_type="image/png"
            )
            elapsed = time.monotonic() - started
    assert attachment.skipped_reason == "download failed: no answer within 0.3 s"
    assert elapsed < 4


async def test_error_answers_and_json_lookups() -> None:
    async def answers(request: web.Request) -> web.StreamResponse:
        if request.path == "/missing":
            return web.Response(status=404)
        if request.path == "/json":
            return web.json_response({"url": "x"})
        return web.Response(text="<html>not json</html>")

    async with recording_server(answers) as api:
        async with MediaFetcher(MediaPolicy("Test", api.url, hosts=frozenset())) as fetcher:
            with pytest.raises(MediaRefused, match=r"^media lookup failed: HTTP 404$"):
                await fetcher.get(f"{api.url}/missing", what="media lookup")
            assert await fetcher.get_json(f"{api.url}/json") == {"url": "x"}
            with pytest.raises(MediaRefused, match="not JSON"):
                await fetcher.get_json(f"{api.url}/page")
            with pytest.raises(MediaRefused, match="not an absolute URL"):
                await fetcher.get("/relative/only")
