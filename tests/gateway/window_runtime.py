"""A runtime on SQLite with recording channels and the default profile, with or
without a WhatsApp template (docs/channels.md "WhatsApp's 24-hour window"), for
the tests of the window and of the route a reply takes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from gateway.config import load_settings
from gateway.runtime import Runtime, build_runtime
from handlers.profile import PROFILES_DIR
from storage.migrate import upgrade
from tests.fakes import RecordingChannel

#: The profile's ``whatsapp_template`` section the tests use.
WHATSAPP_TEMPLATE: dict[str, object] = {
    "name": "aduan_pembaruan",
    "languages": {"id": "id", "en": "en_US"},
    "variables": ["tracking_number", "text"],
}


async def runtime_with_template(
    tmp_path: Path,
    *,
    template: Mapping[str, object] | None,
    channels: Mapping[str, RecordingChannel],
) -> Runtime:
    """A migrated embedded runtime (no Redis) whose profile is the default one with
    ``template`` as its ``whatsapp_template`` (none when ``None``), sending through
    ``channels`` (name to recording channel)."""
    data = yaml.safe_load((PROFILES_DIR / "default.yaml").read_text())
    if template is not None:
        data["whatsapp_template"] = dict(template)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'window.sqlite3'}",
        data_dir=tmp_path,
        sop_profile=str(path),
    )
    runtime = await build_runtime(settings, use_redis=False, extra_channels=dict(channels))  # type: ignore[arg-type]
    await upgrade(runtime.engine)
    return runtime
