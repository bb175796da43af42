"""Profile files a test writes: an office's own profile YAML that gives no
``workflow`` (README.md "SOP profiles"), and a shipped profile with one section
changed.

The first is the default profile's file without its ``workflow`` and ``roles``
sections: at load it gets the default workflow and the roles that workflow
uses, so it works exactly the default steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from handlers.profile import PROFILES_DIR


def without_workflow(**changes: Any) -> dict[str, Any]:
    """The profile data without ``workflow`` and ``roles``, with ``changes`` on top."""
    data: dict[str, Any] = yaml.safe_load(
        (PROFILES_DIR / "default.yaml").read_text(encoding="utf-8")
    )
    del data["workflow"], data["roles"]
    return {**data, "id": "kantor_sendiri", **changes}


def write_without_workflow(tmp_path: Path, **changes: Any) -> Path:
    """:func:`without_workflow` written to ``tmp_path/own-profile.yaml``; its path."""
    path = tmp_path / "own-profile.yaml"
    path.write_text(yaml.safe_dump(without_workflow(**changes), allow_unicode=True), "utf-8")
    return path


def write_with_section(
    tmp_path: Path, profile: str, section: str, change: dict[str, Any], name: str
) -> Path:
    """The shipped profile ``profile`` with ``change`` laid over its ``section``,
    written to ``tmp_path/<name>``; its path."""
    data = yaml.safe_load((PROFILES_DIR / f"{profile}.yaml").read_text(encoding="utf-8"))
    data[section].update(change)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path
