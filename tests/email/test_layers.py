"""The email channel knows nothing of the application (docs/email.md)."""

from __future__ import annotations

import ast
from pathlib import Path

EMAIL = Path(__file__).resolve().parents[2] / "channels" / "email"
ALLOWED = {"channels.addresses"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_channels_email_imports_from_gateway_only_the_address_rules() -> None:
    sources = sorted(EMAIL.glob("*.py"))
    assert len(sources) >= 10
    wrong = {
        f"{path.name}: {module}"
        for path in sources
        for module in imported_modules(path)
        if (module == "gateway" or module.startswith("gateway.")) and module not in ALLOWED
    }
    assert not wrong, sorted(wrong)
