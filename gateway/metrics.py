"""The metrics a process records as things happen (Prometheus, docs/observability.md).

Counters and histograms live in :data:`REGISTRY`; in a process that called
:func:`gateway.metrics_dir.enable_multiprocess` they are also written to the
host's shared metric files, and :func:`process_exposition` adds up every
process's files. Values read from the database (backlogs, ages, breaches) are
not recorded here: :mod:`gateway.db_gauges` reads them when ``/metrics`` is
scraped.

Labels never carry personal data: channel names, route patterns, error
classes and sweep names only.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.metrics_dir import shared_directory

# The ``*_created`` series differ per process and are not kept in multiprocess
# mode; leaving them out makes one process and several look the same.
disable_created_metrics()

REGISTRY = CollectorRegistry(auto_describe=True)

INBOUND = Counter(
    "aduan_inbound_messages",
    "Inbound messages stored for the first time, by channel.",
    ["channel"],
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "aduan_inbound_duplicates",
    "Inbound messages delivered again and absorbed (already stored), by channel.",
    ["channel"],
    registry=REGISTRY,
)
WEBHOOK_SECONDS = Histogram(
    "aduan_webhook_duration_seconds",
    "Seconds from a provider webhook's arrival to its answer, by route pattern and channel.",
    ["route", "channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0),
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "aduan_http_requests",
    "HTTP requests answered, by route pattern, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
SEND_FAILURES = Counter(
    "aduan_send_failures",
    "Failed send attempts of outbox rows, by channel and error class "
    "(RateLimited, TemporaryError, PermanentError, Timeout, Unexpected).",
    ["channel", "error_class"],
    registry=REGISTRY,
)
SWEEPS = Counter(
    "aduan_sweeps",
    "Periodic sweeps run, by sweep (time_standards, expire_conversations, retention).",
    ["sweep"],
    registry=REGISTRY,
)


def count_inbound(channel: str, *, duplicate: bool) -> None:
    """Count one inbound message of ``channel``: new, or a ``duplicate`` absorbed."""
    (DUPLICATES if duplicate else INBOUND).labels(channel=channel).inc()


def count_send_failure(channel: str, error_class: str) -> None:
    """Count one failed send attempt on ``channel``; ``error_class`` names the
    :mod:`channels.errors` class (or ``Timeout`` / ``Unexpected``)."""
    SEND_FAILURES.labels(channel=channel, error_class=error_class).inc()


def count_sweep(sweep: str) -> None:
    """Count one run of the periodic sweep ``sweep``."""
    SWEEPS.labels(sweep=sweep).inc()


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Record one answered request: ``route`` is the pattern (``/track/{number}``),
    never the raw path; requests under ``/webhooks/`` also feed the webhook
    latency histogram, labelled with the provider segment as the channel."""
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    if route.startswith("/webhooks/"):
        channel = route.split("/")[2] or "unknown"
        WEBHOOK_SECONDS.labels(route=route, channel=channel).observe(seconds)


def process_exposition() -> bytes:
    """The recorded metrics in the Prometheus text format: of every process
    sharing this host's metric directory, or of this process alone."""
    directory = shared_directory()
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return generate_latest(registry)
