"""Settings for a channel test: the gateway on a SQLite file in the test's folder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.config import Settings, load_settings


def channel_settings(
    tmp_path: Path, channel: Mapping[str, Any], overrides: Mapping[str, Any]
) -> Settings:
    """Settings with the database in ``tmp_path/t.sqlite3``, data in ``tmp_path``,
    the ``channel``'s settings, then ``overrides`` (setting name → value)."""
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 't.sqlite3'}",
        "data_dir": tmp_path,
        **channel,
    }
    values.update(overrides)
    return load_settings(**values)
