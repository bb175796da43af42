"""The repository speaks of itself only: every citation is one a reader can open.

Code, tests and docs cite the project's own documents (``docs/*.md``,
README.md sections) and SOP clauses; never a design note kept outside the
repository, nor the number of a ticket in some tracker a reader of the
repository does not have.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Folders that are never the project's text, when git cannot list the files.
_NOT_OURS = {".git", ".venv", "var", "build", "dist", "node_modules", "__pycache__"}

#: What a reader cannot open. Built from parts so this file does not match itself.
FORBIDDEN = {
    "an outside design note": re.compile(re.escape("DESIGN" + ".md"), re.IGNORECASE),
    "a tracker's ticket number": re.compile(r"\bissues?\s*(?:#|no\.?\s*)?\d+", re.IGNORECASE),
    "a folder outside the repository": re.compile(re.escape("../" + "shared")),
}


def repository_files() -> list[Path]:
    """Every file of the working tree that git would commit (tracked or new,
    ignored ones left out); without git, every file outside ``_NOT_OURS``."""
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        listed = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout.decode("utf-8", "surrogateescape")
        return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _NOT_OURS and not d.endswith(".egg-info")]
        found.extend(Path(folder) / name for name in files)
    return found


def offending_lines(text: str) -> list[tuple[int, str, str]]:
    """``(line number, what, line)`` for each forbidden citation in ``text``."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in FORBIDDEN.items():
            if pattern.search(line):
                found.append((number, what, line.strip()))
    return found


def test_the_patterns_catch_what_they_are_for() -> None:
    caught = [
        "see " + "DESIGN" + ".md, rule 2",
        "(is" + "sue 5, item 3)",
        "Is" + "sue 3 acceptance",
        "fixes #4 and is" + "sue #12",
        "cp .." + "/shared/notes.txt",
    ]
    for line in caught:
        assert offending_lines(line), line
    fine = [
        'docs/architecture.md, "Reliability rules" 2',
        "SOP-7.9-1 item 3",
        "an issue with the mailbox",
        "tissue 5",
    ]
    for line in fine:
        assert offending_lines(line) == [], line


def test_the_listing_sees_the_repository() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in repository_files()}
    assert {"README.md", "pyproject.toml", "tests/test_docs.py"} <= names
    assert not any(name.startswith((".git/", ".venv/")) for name in names)


@pytest.mark.parametrize("kind", sorted(FORBIDDEN))
def test_no_file_cites_what_a_reader_cannot_open(kind: str) -> None:
    pattern = FORBIDDEN[kind]
    found = []
    for path in repository_files():
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary: images, fonts, archives
        text = data.decode("utf-8", errors="replace")  # recorded mail in other charsets too
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], f"{kind}; cite docs/*.md or an SOP clause instead:\n" + "\n".join(found)


#: ``docs/x.md, "Section"`` or ``README.md ("Section"``: a citation of one section.
_SECTION_CITATION = re.compile(
    r"((?:docs/[A-Za-z0-9_/.-]+\.md)|README\.md)`?,?\s*\(?\"([^\"\n]{2,60})\""
)
_CITING_SUFFIXES = {".py", ".md", ".toml", ".po", ".css", ".html", ".yaml", ".mako"}


def cited_section_exists(document: str, section: str) -> bool:
    """Whether ``document`` has a heading, or a bold term, starting with ``section``
    (case-insensitive; a heading's backticks ignored)."""
    lowered = section.lower().rstrip(".")
    headings = re.findall(r"^#+\s+(.*)$", document, re.MULTILINE)
    bold = re.findall(r"\*\*([^*]+)\*\*", document)
    return any(name.lower().strip("`").startswith(lowered) for name in [*headings, *bold])


def test_every_cited_section_exists() -> None:
    missing = []
    for path in repository_files():
        if path.suffix not in _CITING_SUFFIXES or path.name == "test_docs.py":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _SECTION_CITATION.finditer(text):
            document, section = ROOT / match.group(1), match.group(2)
            if "(" in section or section.strip(", ") == "":
                continue  # code that opens the file, not a citation
            if not document.is_file():
                missing.append(f"{path.relative_to(ROOT)}: {match.group(1)} does not exist")
            elif not cited_section_exists(document.read_text(encoding="utf-8"), section):
                missing.append(f"{path.relative_to(ROOT)}: {match.group(1)} has no {section!r}")
    assert missing == [], "\n".join(missing)


def test_section_lookup() -> None:
    document = "# Title\n\n## Answers, corrections, commands\n\n1. **Size cap** for the route\n"
    assert cited_section_exists(document, "Answers, corrections, commands")
    assert cited_section_exists(document, "answers")
    assert cited_section_exists(document, "Size cap")
    assert not cited_section_exists(document, "Size caps")
    assert not cited_section_exists(document, "Commands")
