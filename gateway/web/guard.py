"""What keeps the public pages from being abused: form tokens and per-address limits.

docs/web-form.md ("Form token", "Limits"): every public form carries a token
signed by the server (:mod:`gateway.web.token`); submissions and tracking
lookups are counted per client address in the database
(:mod:`storage.limits`), so the limits hold across processes and restarts.

:func:`client_address` is the one place the pages learn who is asking.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web

from gateway import remote
from gateway.app_runtime import RUNTIME
from gateway.config import Settings
from gateway.web.token import FormTokens, load_form_secret
from storage import limits
from storage.db import SessionFactory
from storage.limits import Limit, Verdict
from storage.types import utcnow

log = logging.getLogger(__name__)

#: Rate-limit kinds (the prefix of :func:`storage.limits.limit_key`).
FORM_KIND = "form-address"
TRACK_KIND = "track-address"
#: Expired limit rows and nonces are removed at most this often per process.
PRUNE_EVERY_SECONDS = 600.0

_GUARD_KEY = web.AppKey("public_guard", dict)


def client_address(request: web.Request) -> str:
    """The address of the client sending ``request``, read through trusted
    proxies (:func:`gateway.remote.client_address`, ``ADUAN_TRUSTED_PROXIES``).

    ``"unknown"`` when the transport does not say (a Unix socket).
    """
    return remote.client_address(request) or "unknown"


def address_bucket(address: str) -> str:
    """What one client address is counted as: an IPv4 address as is, an IPv6
    address as its ``/64`` network (one subscriber line usually holds a whole
    ``/64``), anything else as given."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


@dataclass
class PublicGuard:
    """Form tokens and per-address limits for one process's public pages.

    Attributes:
        tokens: issues and checks form tokens.
        form_limits: limits on form submissions per client address.
        track_limits: limits on tracking lookups per client address.
    """

    tokens: FormTokens
    form_limits: tuple[Limit, ...]
    track_limits: tuple[Limit, ...]
    _last_prune: float = field(default=0.0, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> PublicGuard:
        """The guard configured by the ``ADUAN_FORM_*`` and ``ADUAN_TRACK_*`` settings.

        Raises:
            OSError: when the generated form secret cannot be read or written.
        """
        secret = settings.form_secret.get_secret_value() if settings.form_secret else None
        tokens = FormTokens(
            load_form_secret(secret, settings.data_dir),
            min_age=timedelta(seconds=settings.form_min_seconds),
            max_age=timedelta(minutes=settings.form_token_max_age_minutes),
        )
        return cls(
            tokens=tokens,
            form_limits=(
                Limit(settings.form_address_per_10_minutes, timedelta(minutes=10)),
                Limit(settings.form_address_per_day, timedelta(days=1)),
            ),
            track_limits=(Limit(settings.track_address_per_10_minutes, timedelta(minutes=10)),),
        )

    async def count(
        self, sessions: SessionFactory, kind: str, address: str, rules: tuple[Limit, ...]
    ) -> Verdict:
        """Count one request of ``kind`` from ``address`` against ``rules``; committed.

        Returns the verdict; a refused request records nothing. Also removes
        expired rows now and then (:data:`PRUNE_EVERY_SECONDS`).
        """
        key = limits.limit_key(kind, address_bucket(address))
        now = utcnow()
        async with sessions() as session, session.begin():
            verdict = await limits.hit(session, key, rules, now=now)
        if time.monotonic() - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._last_prune = time.monotonic()
            async with sessions() as session, session.begin():
                removed = await limits.prune(session, now=now)
            if removed:
                log.debug("pruned %s expired rate-limit rows and form nonces", removed)
        return verdict


def install(app: web.Application) -> None:
    """Give ``app`` its :class:`PublicGuard`, built when the app starts (before start).

    Building it at start reads or creates the form secret, so an unwritable
    data directory stops ``aduan serve`` at once instead of failing the form.
    """
    app[_GUARD_KEY] = {}

    async def build(started: web.Application) -> None:
        runtime = started.get(RUNTIME)
        if runtime is not None:
            started[_GUARD_KEY]["guard"] = PublicGuard.from_settings(runtime.settings)

    app.on_startup.append(build)


def public_guard(request: web.Request, settings: Settings) -> PublicGuard:
    """The app's :class:`PublicGuard`, built from ``settings`` on first use."""
    holder = request.app[_GUARD_KEY]
    guard = holder.get("guard")
    if not isinstance(guard, PublicGuard):
        guard = PublicGuard.from_settings(settings)
        holder["guard"] = guard
    return guard
