"""The hashed lock files agree with pyproject.toml (README.md, "Dependencies").

``make run`` installs exactly requirements.lock and ``make test``
requirements-test.lock (``pip install --require-hashes``), then aduan itself
without resolving anything. So each lock must pin every dependency
pyproject.toml names, within its range, with hashes; and the runtime pins
must be the same in both, so the tests run what production runs. A failure
here means: run ``make lock``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def pins(path: Path) -> dict[str, tuple[Version, int]]:
    """``{canonical name: (pinned version, number of hashes)}`` of a pip-compile lock file.

    Raises:
        AssertionError: a requirement line is not an exact ``==`` pin.
    """
    found: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
            continue
        match = _PIN.match(stripped)
        assert match, f"{path.name}: not an exact pin: {stripped!r}"
        name = canonicalize_name(match.group(1))
        found[name] = (Version(match.group(2)), 0)
    return found


def declared(extra: str | None = None) -> list[Requirement]:
    """pyproject.toml's runtime dependencies, or those of one extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def out_of_lock(
    requirements: list[Requirement], pinned: dict[str, tuple[Version, int]]
) -> list[str]:
    """What the lock fails to give: missing names, pins outside the range."""
    problems = []
    for req in requirements:
        name = canonicalize_name(req.name)
        if name not in pinned:
            problems.append(f"{req.name} is not in the lock")
        elif not req.specifier.contains(pinned[name][0], prereleases=True):
            problems.append(f"{req.name} pinned at {pinned[name][0]}, outside {req.specifier}")
    return problems


def test_runtime_lock_covers_every_dependency_within_its_range() -> None:
    assert out_of_lock(declared(), pins(LOCK)) == []


def test_test_lock_covers_runtime_and_test_dependencies() -> None:
    assert out_of_lock(declared() + declared("test"), pins(TEST_LOCK)) == []


def test_runtime_pins_are_the_same_in_both_locks() -> None:
    runtime, test = pins(LOCK), pins(TEST_LOCK)
    differing = {
        name: (version, test.get(name, (None, 0))[0])
        for name, (version, _) in runtime.items()
        if test.get(name, (None, 0))[0] != version
    }
    assert differing == {}


def test_every_pin_carries_hashes() -> None:
    for path in (LOCK, TEST_LOCK):
        unhashed = [name for name, (_, hashes) in pins(path).items() if hashes == 0]
        assert unhashed == [], f"{path.name}: pins without --hash"


def test_every_range_has_an_upper_bound() -> None:
    unbounded = [
        str(req)
        for req in declared() + declared("test")
        if not any(spec.operator in ("<", "<=", "==", "~=") for spec in req.specifier)
    ]
    assert unbounded == []


def test_out_of_lock_names_what_is_wrong() -> None:
    pinned = {"aiohttp": (Version("3.14.5"), 3)}
    assert out_of_lock([Requirement("aiohttp>=3.9,<4")], pinned) == []
    assert out_of_lock([Requirement("aiohttp>=4,<5")], pinned) == [
        "aiohttp pinned at 3.14.5, outside <5,>=4"
    ]
    assert out_of_lock([Requirement("prometheus-client>=0.20,<1")], pinned) == [
        "prometheus-client is not in the lock"
    ]
