"""The aiohttp application: public pages, webhooks, health, readiness and
metrics; one runtime per process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.access_log import install as install_access_log
from gateway.api import add_routes as add_staff_api
from gateway.app_runtime import RUNTIME, get_runtime
from gateway.config import Settings
from gateway.health import add_routes as add_health
from gateway.inbox.routes import add_routes as add_inbox
from gateway.metrics_route import add_routes as add_metrics
from gateway.readiness import add_routes as add_readiness
from gateway.runtime import Runtime, build_runtime
from gateway.web.privacy import add_routes as add_privacy_routes
from gateway.web.public import add_routes as add_public_routes
from gateway.webhooks.caps import body_caps
from gateway.webhooks.routes import add_routes as add_webhooks

log = logging.getLogger(__name__)

#: The largest request body the application reads, in bytes: the public
#: complaint form with its attachments. A reverse proxy in front allows the
#: same (deploy/nginx.conf ``client_max_body_size``, deploy/Caddyfile
#: ``max_size``; docs/deploy.md).
MAX_REQUEST_BYTES = 25 * 1024 * 1024


def create_app(
    settings: Settings, *, runtime: Runtime | None = None, run_channels: bool = True
) -> web.Application:
    """Build the application. With ``runtime`` given (tests), it is used as is and
    started/closed with the app; otherwise one is built from ``settings``.

    Every unauthenticated POST route but the public complaint form has its own
    body cap (``gateway.webhooks.caps.BODY_CAPS``, enforced by the ``body_caps``
    middleware before anything is read); the application-wide limit is for
    the form, which carries attachments.
    """
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[body_caps])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        rt = runtime or await build_runtime(settings)
        app[RUNTIME] = rt
        await rt.start(run_channels=run_channels)
        try:
            yield
        finally:
            await rt.close()

    app.cleanup_ctx.append(lifecycle)
    install_access_log(app)
    add_health(app)
    add_readiness(app)
    add_metrics(app)
    add_inbox(app)
    add_public_routes(app)
    add_privacy_routes(app)
    add_staff_api(app, get_runtime)
    add_webhooks(app)
    return app
