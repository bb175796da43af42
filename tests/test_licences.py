"""Every runtime dependency's licence is one the project's GPL-3.0-or-later can combine with.

The project is GPL-3.0-or-later because two runtime dependencies are GPL-3.0
(aioimaplib, html2text): docs/licence.md. What ``aduan`` installs at run time
is the closure of its ``dependencies`` (test extras left out), computed from
the installed distributions' metadata; pip-licenses (a test extra) reports
each one's licence (``--from=mixed``: the trove classifiers, else the
``License``/``License-Expression`` field). A licence outside the allow-list
fails the test with the package's name, so someone decides: compatible ones
join :data:`COMPATIBLE`, vague metadata that a person checked goes into
:data:`REVIEWED` with the reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "aduan"

#: Licence families GPL-3.0 can be combined with (FSF's list of GPL-compatible
#: licences), as SPDX identifiers and as the trove classifiers' words.
COMPATIBLE: dict[str, re.Pattern[str]] = {
    family: re.compile(pattern, re.IGNORECASE)
    for family, pattern in {
        "MIT": r"MIT( License)?|MIT-0|MIT-CMU|MIT No Attribution",
        "BSD": r"BSD( License)?|BSD-[23]-Clause[-A-Za-z]*|0BSD",
        "Apache-2.0": r"Apache-2\.0|Apache Software License|Apache License,? (Version )?2\.0",
        "ISC": r"ISC( License)?( \(ISCL\))?",
        "PSF": r"PSF-2\.0|Python-2\.0(\.1)?|Python Software Foundation License",
        "MPL-2.0": r"MPL-2\.0|Mozilla Public License 2\.0( \(MPL 2\.0\))?",
        "LGPL": r"LGPL-(2\.0|2\.1|3\.0)(-only|-or-later|\+)?"
        r"|GNU Lesser General Public License v[23]( or later)? \(LGPLv[23]\+?\)"
        r"|GNU Library or Lesser General Public License \(LGPL\)",
        "GPL-2.0-or-later": r"GPL-2\.0(-or-later|\+)|GNU General Public License v2 or later \(GPLv2\+\)",
        "GPL-3.0": r"GPL-3\.0(-only|-or-later|\+)?"
        r"|GNU General Public License v3( or later)? \(GPLv3\+?\)",
        "Unlicense": r"Unlicense|The Unlicense \(Unlicense\)",
        "CC0": r"CC0-1\.0|CC0 1\.0 Universal \(CC0 1\.0\) Public Domain Dedication",
        "Zlib": r"Zlib|zlib/libpng License",
        "HPND": r"HPND|Historical Permission Notice and Disclaimer \(HPND\)",
        "BSL-1.0": r"BSL-1\.0|Boost Software License 1\.0 \(BSL-1\.0\)",
        "Public domain": r"Public Domain",
    }.items()
}

#: Licences known not to combine with GPL-3.0: a dependency under one must go.
INCOMPATIBLE = re.compile(
    r"GPL-2\.0(-only)?|GPLv2|GNU General Public License v2 \(GPLv2\)|GPL-1\.0"
    r"|SSPL|Commons Clause|Proprietary|CC-BY-NC|BSD-4-Clause|EPL-1\.0|CDDL",
    re.IGNORECASE,
)

#: Packages whose licence metadata is vague or contested, checked by a person:
#: name -> (the exact licence string reported, why it is compatible).
REVIEWED: dict[str, tuple[str, str]] = {
    "regex": (
        "Apache-2.0 AND CNRI-Python",
        "The CNRI part is code taken from CPython's own regular-expression "
        "engine, which Python distributes under its licence stack (PSF-2.0 over "
        "CNRI); the FSF lists the Python licence of 2.0.1 and later as "
        "GPL-compatible. The rest is Apache-2.0.",
    ),
}


def runtime_closure(root: str = PROJECT) -> dict[str, metadata.Distribution]:
    """Installed distributions ``root`` needs at run time, by canonical name, root excluded.

    Follows ``Requires-Dist`` recursively, evaluating markers for this
    interpreter: a requirement counts when its marker holds with no extra, or
    with one of the extras asked for it (``sqlalchemy[asyncio]`` brings
    ``greenlet``). The root's own extras (``test``) are never asked for.

    Raises:
        AssertionError: a required distribution is not installed.
    """
    found: dict[str, metadata.Distribution] = {}
    pending: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        key = (canonicalize_name(name), extras)
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise AssertionError(
                f"{name} is required but not installed (make .venv/.installed-test)"
            ) from None
        if key[0] != canonicalize_name(root):
            found[key[0]] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or any(
                req.marker.evaluate({"extra": extra}) for extra in ("", *extras)
            ):
                pending.append((req.name, frozenset(req.extras)))
    return found


def licence_atoms(expression: str) -> tuple[str, list[str]]:
    """Split a reported licence into ``("any", atoms)`` or ``("all", atoms)``.

    pip-licenses joins several trove classifiers with ``"; "``; a package that
    lists more than one offers them as alternatives (``"Apache Software
    License; BSD License"``). An SPDX expression's ``OR`` offers alternatives
    too; ``AND`` needs every part. With parentheses, every part is needed (the
    strict reading).
    """
    text = expression.strip()
    if ";" in text:
        return "any", [p.strip() for p in text.split(";") if p.strip()]
    if "(" in text and family(text) is None:
        parts = re.split(r"\s+(?:AND|OR|WITH)\s+|[()]", text)
        return "all", [p.strip() for p in parts if p.strip()]
    if re.search(r"\s+OR\s+", text):
        return "any", [p.strip() for p in re.split(r"\s+OR\s+", text)]
    return "all", [p.strip() for p in re.split(r"\s+AND\s+", text)]


def family(atom: str) -> str | None:
    """The compatible family ``atom`` belongs to, or ``None``."""
    for name, pattern in COMPATIBLE.items():
        if pattern.fullmatch(atom):
            return name
    return None


def verdict(name: str, expression: str) -> str | None:
    """``None`` when ``name`` under ``expression`` may be combined with GPL-3.0,
    else the reason it fails (incompatible, or unknown: to be decided)."""
    reviewed = REVIEWED.get(canonicalize_name(name))
    if reviewed is not None and reviewed[0] == expression:
        return None
    how, atoms = licence_atoms(expression)
    ok = [family(atom) is not None for atom in atoms]
    if (how == "any" and any(ok)) or (how == "all" and ok and all(ok)):
        return None
    bad = [atom for atom, good in zip(atoms, ok, strict=True) if not good]
    if any(INCOMPATIBLE.search(atom) for atom in bad):
        return f"{name}: {expression!r} is not compatible with GPL-3.0"
    return (
        f"{name}: licence {expression!r} is unknown; decide and add it to COMPATIBLE, "
        "or to REVIEWED with the reason"
    )


def reported_licences(names: list[str]) -> dict[str, tuple[str, str]]:
    """pip-licenses' report for ``names``: canonical name -> (version, licence)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "piplicenses",
            "--format=json",
            "--from=mixed",
            "--packages",
            *names,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {
        canonicalize_name(row["Name"]): (row["Version"], row["License"]) for row in json.loads(out)
    }


def test_every_runtime_licence_is_compatible() -> None:
    closure = runtime_closure()
    names = sorted(dist.metadata["Name"] for dist in closure.values())
    report = reported_licences(names)
    assert set(closure) - set(report) == set(), "pip-licenses did not report these"
    failures = [
        reason
        for name in sorted(closure)
        if (reason := verdict(closure[name].metadata["Name"], report[name][1])) is not None
    ]
    assert failures == [], "\n".join(failures)


def test_the_closure_is_the_runtime_one() -> None:
    closure = runtime_closure()
    # Direct dependencies, one brought by an extra, a dependency of a dependency.
    for name in ("aiohttp", "aioimaplib", "html2text", "greenlet", "multidict"):
        assert name in closure, name
    # Test extras and their own dependencies are not what aduan runs with.
    for name in ("pytest", "mypy", "playwright", "hypothesis", "pip-licenses", "pip-tools"):
        assert name not in closure, name
    assert PROJECT not in closure


def test_verdicts() -> None:
    assert verdict("a", "MIT License") is None
    assert verdict("a", "Apache-2.0 AND MIT") is None
    assert verdict("a", "Apache Software License; BSD License") is None
    assert verdict("a", "MIT OR Apache-2.0") is None
    assert verdict("a", "GPL-3.0-only") is None
    assert verdict("a", "LGPL-3.0-only") is None
    assert verdict("a", "Mozilla Public License 2.0 (MPL 2.0)") is None
    assert verdict("a", "GNU General Public License v2 or later (GPLv2+)") is None
    assert "not compatible" in (verdict("a", "GPL-2.0-only") or "")
    assert "not compatible" in (verdict("a", "GNU General Public License v2 (GPLv2)") or "")
    assert "not compatible" in (verdict("a", "MIT AND GPL-2.0-only") or "")
    assert "not compatible" in (verdict("a", "Other/Proprietary License") or "")
    assert "unknown" in (verdict("left-pad", "UNKNOWN") or "")
    assert "left-pad" in (verdict("left-pad", "UNKNOWN") or "")
    assert "unknown" in (verdict("a", "(MIT AND Foo-1.0) OR Apache-2.0") or "")
    assert "unknown" in (verdict("regex", "Apache-2.0 AND CNRI-Python-Other") or "")
    assert verdict("regex", "Apache-2.0 AND CNRI-Python") is None


def test_the_project_says_gpl_3_or_later_everywhere() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "GPL-3.0-or-later"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "GNU GENERAL PUBLIC LICENSE" in text.splitlines()[0]
    assert "Version 3, 29 June 2007" in text
    assert "END OF TERMS AND CONDITIONS" in text
