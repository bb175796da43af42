"""``GET /metrics``: the Prometheus text exposition (docs/observability.md).

The recorded counters and histograms of every process on this host
(:func:`gateway.metrics.process_exposition`), then the gauges read from the
database at scrape time (:mod:`gateway.db_gauges`), bounded by
``ADUAN_HEALTHZ_TIMEOUT``: a database that does not answer in time gives
``aduan_database_up 0`` and the recorded metrics still come.

With ``ADUAN_METRICS_TOKEN`` set, the request must carry
``Authorization: Bearer <token>`` (compared in constant time); otherwise
401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from gateway.app_runtime import get_runtime
from gateway.db_gauges import GaugeCollector, read_gauges
from gateway.metrics import process_exposition
from gateway.probes import PROBES, install

PATH = "/metrics"


def authorised(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header value carries ``Bearer <token>``
    (scheme case-insensitive; the token compared in constant time)."""
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: 200 with the exposition, or 401 without the token."""
    runtime = get_runtime(request)
    settings = runtime.settings
    if settings.metrics_token is not None and not authorised(
        request.headers.get("Authorization"), settings.metrics_token.get_secret_value()
    ):
        return web.json_response(
            {"error": "a bearer token is required"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    outcome = await request.app[PROBES].run(
        "gauges", lambda: read_gauges(runtime.sessions), settings.healthz_timeout
    )
    gauges = CollectorRegistry()
    gauges.register(GaugeCollector(outcome.value if outcome.ok else None))
    body = process_exposition() + generate_latest(gauges)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    """Register ``GET /metrics`` on ``app``."""
    install(app)
    app.router.add_get(PATH, metrics)
