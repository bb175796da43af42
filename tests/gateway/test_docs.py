"""Every setting is documented: README's configuration table and the example env file."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def variables() -> set[str]:
    return {f"ADUAN_{name.upper()}" for name in Settings.model_fields}


def test_readme_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(ADUAN_[A-Z0-9_]+)` \|", readme, re.MULTILINE))
    assert variables() - documented == set()


def test_example_env_lists_every_variable() -> None:
    example = (ROOT / "deploy" / "aduan.env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#?(ADUAN_[A-Z0-9_]+)=", example, re.MULTILINE))
    assert variables() - listed == set()
    assert listed - variables() == set(), "the example names a variable the code does not read"
