"""The import contracts of pyproject.toml catch what they are for (docs/architecture.md, "Layers").

``lint-imports`` is run on a copy of the four packages with one import added
that closes a cycle: the cycle contract, and only it, must break. The copy
holds the Python files alone, so a run takes about a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "handlers", "channels", "storage")
CYCLE_CONTRACT = "No import cycles inside any package"


def _copy_sources(target: Path) -> None:
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            copy = target / source.relative_to(ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
    shutil.copyfile(ROOT / "pyproject.toml", target / "pyproject.toml")


def _lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(script), "--no-cache"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _statuses(output: str) -> dict[str, str]:
    """Contract name → ``KEPT`` or ``BROKEN``, from lint-imports' summary."""
    found = {}
    for line in output.splitlines():
        for status in ("KEPT", "BROKEN"):
            if line.endswith(" " + status):
                found[line.removesuffix(" " + status)] = status
    return found


@pytest.mark.parametrize(
    ("module", "added"),
    [
        # Two modules of gateway/: the core would import the service built on it.
        ("gateway/core.py", "import gateway.staff"),
        # Two modules of a subpackage, inside a function: the email settings
        # would import the poller that reads them.
        ("channels/email/config.py", "def _late() -> None:\n    import channels.email.imap\n"),
    ],
)
def test_an_import_that_closes_a_cycle_breaks_the_cycle_contract(
    tmp_path: Path, module: str, added: str
) -> None:
    _copy_sources(tmp_path)
    clean = _lint_imports(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert set(_statuses(clean.stdout).values()) == {"KEPT"}
    assert CYCLE_CONTRACT in _statuses(clean.stdout)

    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + "\n" + added + "\n", encoding="utf-8")
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0
    statuses = _statuses(broken.stdout)
    assert statuses.pop(CYCLE_CONTRACT) == "BROKEN", broken.stdout
    assert set(statuses.values()) == {"KEPT"}, broken.stdout
