"""Logging setup: structlog rendering for stdlib loggers, secrets masked.

Every record passes through :func:`mask_secrets`, which replaces the values of
the configured secret settings (passwords, tokens) wherever they appear, so a
library that logs a URL or a header cannot leak them. Lines are rendered for a
console or, with ``ADUAN_LOG_FORMAT=json``, as one JSON object per line; the
context variables bound with :mod:`structlog.contextvars` (the request id of
:mod:`gateway.access_log`) are added to every line (docs/observability.md).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_ENV = re.compile(r"^ADUAN_.*(PASSWORD|TOKEN|SECRET).*$")


_configured_secrets: list[str] = []


def _secret_values() -> list[str]:
    from_env = [v for k, v in os.environ.items() if _SECRET_ENV.match(k) and len(v) >= 4]
    return [*_configured_secrets, *from_env]


def mask_secrets(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace secret setting values with ``***``."""
    secrets = _secret_values()
    if not secrets:
        return event_dict
    for key, value in list(event_dict.items()):
        if isinstance(value, str):
            for secret in secrets:
                if secret in value:
                    value = value.replace(secret, "***")
            event_dict[key] = value
    return event_dict


#: Libraries that log every request or every glyph at INFO (the Twilio client
#: about a dozen lines per SMS, fontTools some 75 per PDF): WARNING and above
#: only, unless the level is DEBUG.
QUIET_LIBRARIES = ("twilio", "fontTools", "fpdf", "aiosqlite", "urllib3", "PIL")
#: The ``extra`` fields of the access line (:mod:`gateway.access_log`) kept as
#: keys of their own; no other ``extra`` is copied into a line.
ACCESS_FIELDS = ("method", "route", "status", "duration_ms", "client")
#: Client libraries that log request URLs, which for Telegram contain the
#: token: WARNING and above even at DEBUG.
URL_LOGGING_LIBRARIES = ("httpx", "httpcore", "telegram", "aioimaplib")


def configure_logging(
    level: str = "INFO", secrets: list[str] | None = None, *, fmt: str = "console"
) -> None:
    """Route stdlib logging through structlog at ``level``, rendered as ``fmt``.

    ``fmt`` is ``"console"`` (key=value lines) or ``"json"`` (one JSON object
    per line with ``timestamp``, ``level``, ``logger``, ``event`` and the bound
    context such as ``request_id``). ``secrets`` (from
    :meth:`gateway.config.Settings.secret_values`, which also covers values read
    from ``.env``) are masked in every line, as are secret ``ADUAN_*``
    environment variables. The libraries in :data:`QUIET_LIBRARIES` are set to
    WARNING unless ``level`` is DEBUG.

    Raises:
        ValueError: ``fmt`` is neither ``console`` nor ``json``.
    """
    if fmt not in ("console", "json"):
        raise ValueError(f"log format must be console or json, not {fmt!r}")
    _configured_secrets[:] = secrets or []
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.ExtraAdder(allow=ACCESS_FIELDS),
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_secrets,
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for noisy in URL_LOGGING_LIBRARIES:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    debug = root.level <= logging.DEBUG
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
