"""Logging setup: structlog rendering for stdlib loggers, secrets masked.

Every record passes through :func:`mask_secrets`, which replaces the values of
the configured secret settings (passwords, tokens) wherever they appear, so a
library that logs a URL or a header cannot leak them.
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


def configure_logging(level: str = "INFO", secrets: list[str] | None = None) -> None:
    """Route stdlib logging through structlog's console renderer at ``level``.

    ``secrets`` (from :meth:`gateway.config.Settings.secret_values`, which also
    covers values read from ``.env``) are masked in every line, as are secret
    ``ADUAN_*`` environment variables.
    """
    _configured_secrets[:] = secrets or []
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_secrets,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Client libraries log request URLs, which for Telegram contain the token.
    for noisy in ("httpx", "httpcore", "telegram", "aioimaplib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
