"""Placeholder: the whatsapp_cloud channel is being written (issue 3)."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Register this channel's webhook routes (none yet)."""
