"""The SOP traceability documents (docs/sop/) stay true.

Each shipped profile in ``handlers/profiles/`` has ``docs/sop/<profile>.md``
and each such document names an existing profile. A document's rule tables
have the columns ``Clause | Rule | Where | Test | Status``; every row must
have a clause, a rule and a status from :data:`STATUSES` (anything but
``implemented`` followed by ``: why``). Every test it names
(``tests/path/test_x.py::test_name``, ``::Class::test_name``, optionally with
a parameter id ``[bbspjikfk]``) must exist: the file, and a test function of
that name found by reading the file with :mod:`ast` (nothing is imported or
run). An ``implemented`` row must name at least one test; a row without one
says ``no test``. What the Where column names in backticks must exist too:
a profile key path (``workflow.states.in_follow_up.standard``; list items by
their ``name`` or ``key``) in that profile, a dotted Python name
(``handlers.appeals.open_appeal``) or a file path. Each document's
``Summary:`` line must give its rows' counts by status.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from channels.base import ChannelName
from handlers.profile import PROFILES_DIR, load_profile

ROOT = Path(__file__).resolve().parents[1]
SOP_DOCS = ROOT / "docs" / "sop"
INDEX = "README.md"
COLUMNS = ("Clause", "Rule", "Where", "Test", "Status")
#: Allowed statuses; all but ``implemented`` must say why after a colon.
STATUSES = ("implemented", "partly", "outside software", "missing")
NO_TEST = "no test"
#: Accepted in the Test column of an ``outside software`` row.
NOT_APPLICABLE = "—"
TEST_REF = re.compile(r"tests/[\w/]+\.py(?:::\w+)+(?:\[[^\]\s]+\])?")
CODE_PACKAGES = ("handlers", "gateway", "storage", "channels")
CHANNEL_NAMES = frozenset(c.value for c in ChannelName)
BACKTICKED = re.compile(r"`([^`]+)`")
SUMMARY = re.compile(
    r"^Summary: (\d+) rules: implemented (\d+), partly (\d+), "
    r"outside software (\d+), missing (\d+)\.$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Row:
    """One rule row of a document's table: its line number and five cells."""

    line: int
    clause: str
    rule: str
    where: str
    test: str
    status: str

    @property
    def status_word(self) -> str | None:
        """The allowed status the Status cell starts with, or ``None``."""
        for status in STATUSES:
            if self.status == status or self.status.startswith(status + ":"):
                return status
        return None


def shipped_profiles() -> set[str]:
    return {p.stem for p in PROFILES_DIR.glob("*.yaml")}


def documents() -> dict[str, Path]:
    """Profile id → its document (every ``docs/sop/*.md`` but the index)."""
    return {p.stem: p for p in sorted(SOP_DOCS.glob("*.md")) if p.name != INDEX}


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


def parse_rows(text: str) -> tuple[list[Row], list[str]]:
    """The rule rows of every ``Clause | Rule | Where | Test | Status`` table,
    and the problems found in the tables' shape (wrong number of cells)."""
    rows: list[Row] = []
    problems: list[str] = []
    lines = text.splitlines()
    in_table = False
    for number, line in enumerate(lines, start=1):
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        cells = _cells(line)
        if tuple(cells) == COLUMNS:
            in_table = True
            continue
        if not in_table or all(set(cell) <= set("-: ") for cell in cells):
            continue  # another table, or the separator line
        if len(cells) != len(COLUMNS):
            problems.append(f"line {number}: {len(cells)} cells, expected {len(COLUMNS)}")
            continue
        rows.append(Row(number, *cells))
    return rows, problems


# ------------------------------------------------------------ test references


@cache
def _module(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError):
        return None


def _member(body: Sequence[ast.stmt], name: str) -> ast.stmt | None:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return node
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                return node
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name) and node.target.id == name:
                return node
    return None


def _strings(tree: ast.AST) -> set[str]:
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def check_test_reference(reference: str, root: Path = ROOT) -> str | None:
    """Why ``reference`` (``tests/x.py::[Class::]test_name[param]``) names no
    existing test, or ``None`` when it does. A parameter id must be made of
    string constants of the test module (``bbspjikfk``, ``name-kind``)."""
    path_text, _, rest = reference.partition("::")
    param = None
    if rest.endswith("]") and "[" in rest:
        rest, _, param = rest[:-1].partition("[")
    path = root / path_text
    if not path.is_file():
        return f"{reference}: no file {path_text}"
    tree = _module(path)
    if tree is None:
        return f"{reference}: {path_text} cannot be read as Python"
    *classes, name = rest.split("::")
    body: Sequence[ast.stmt] = tree.body
    for class_name in classes:
        found = _member(body, class_name)
        if not isinstance(found, ast.ClassDef):
            return f"{reference}: no class {class_name} in {path_text}"
        body = found.body
    function = _member(body, name)
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return f"{reference}: no function {name} in {path_text}"
    if not name.startswith("test"):
        return f"{reference}: {name} is not a test (pytest collects test* only)"
    if param is not None:
        known = _strings(tree)
        if param not in known and not all(part in known for part in param.split("-")):
            return f"{reference}: parameter id [{param}] is not a value of the module"
    return None


def named_tests(cell: str) -> list[str]:
    """The test references in a Test cell."""
    return TEST_REF.findall(cell)


# ------------------------------------------------------------- where column


@cache
def _profile_data(profile_id: str) -> Mapping[str, Any]:
    data: Mapping[str, Any] = load_profile(profile_id).model_dump()
    return data


def resolve_profile_key(data: Mapping[str, Any], path: str) -> bool:
    """Whether ``path`` (``workflow.transitions.close.notify``) names a set
    value of the profile: mapping keys (``from`` also as ``from_``), list
    items by their ``name`` or ``key``, or a list's plain value."""
    node: Any = data
    for segment in path.split("."):
        if isinstance(node, Mapping):
            for key in (segment, segment + "_"):
                if key in node:
                    node = node[key]
                    break
            else:
                return False
        elif isinstance(node, list | tuple):
            match = [
                item
                for item in node
                if item == segment
                or (isinstance(item, Mapping) and segment in (item.get("name"), item.get("key")))
            ]
            if not match:
                return False
            node = match[0]
        else:
            return False
        if node is None:
            return False
    return True


def resolve_code(dotted: str, root: Path = ROOT) -> bool:
    """Whether ``dotted`` (``handlers.appeals.open_appeal``,
    ``handlers.manual_intake.Source.SUGGESTION_BOX``) is a module, or a name
    defined at the top of a module, or a member of such a class."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = root.joinpath(*parts[:cut])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                tree = _module(candidate)
                if tree is None:
                    return False
                body: Sequence[ast.stmt] = tree.body
                for name in parts[cut:]:
                    found = _member(body, name)
                    if found is None:
                        return False
                    body = found.body if isinstance(found, ast.ClassDef) else []
                return True
    return False


def _is_code(token: str, root: Path) -> bool:
    first, _, rest = token.partition(".")
    if first not in CODE_PACKAGES or not rest:
        return False
    if first != "channels":
        return True
    # "channels" is also a profile key: `channels.email` names the profile's
    # channel list entry, `channels.twilio.send` the module's function.
    second = rest.split(".")[0]
    if second in CHANNEL_NAMES:
        return False
    return (root / first / f"{second}.py").is_file() or (root / first / second).is_dir()


def check_where(cell: str, profile: Mapping[str, Any], root: Path = ROOT) -> Iterator[str]:
    """What the Where cell names in backticks that does not exist."""
    for token in BACKTICKED.findall(cell):
        token = token.strip().removesuffix("()")
        if "/" in token or token.endswith((".py", ".md", ".yaml")):
            if not (root / token.split("::")[0].split("#")[0]).exists():
                yield f"no file {token}"
        elif _is_code(token, root):
            if not resolve_code(token, root):
                yield f"no Python name {token}"
        elif re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)*", token) and token.split(".")[0] in profile:
            if not resolve_profile_key(profile, token):
                yield f"no profile key {token}"


# --------------------------------------------------------------- one document


def check_document(text: str, profile: Mapping[str, Any] | None, root: Path = ROOT) -> list[str]:
    """Every problem of one document: shape, clause, rule, status, test
    references, the Where column (when ``profile`` is given) and the
    summary line."""
    rows, problems = parse_rows(text)
    if not rows:
        problems.append("no rule table (columns: " + " | ".join(COLUMNS) + ")")
    counts: Counter[str] = Counter()
    for row in rows:
        at = f"line {row.line}"
        if not row.clause:
            problems.append(f"{at}: no clause")
        if not row.rule:
            problems.append(f"{at}: no rule")
        status = row.status_word
        if status is None:
            problems.append(f"{at}: status {row.status!r} is not one of {', '.join(STATUSES)}")
            continue
        counts[status] += 1
        if status != "implemented" and not row.status.partition(":")[2].strip():
            problems.append(f"{at}: status {status!r} must say why after a colon")
        references = named_tests(row.test)
        leftover = TEST_REF.sub("", row.test)
        leftover = re.sub(r"<br\s*/?>|[`,;\s]", "", leftover)
        if leftover and leftover not in (NO_TEST.replace(" ", ""), NOT_APPLICABLE):
            problems.append(f"{at}: test cell holds {row.test!r}, not test references")
        if status == "implemented" and not references:
            problems.append(f"{at}: implemented but no test named (say 'no test', status partly)")
        if status == "implemented" and not row.where.strip():
            problems.append(f"{at}: implemented but nowhere (Where is empty)")
        for reference in references:
            why = check_test_reference(reference, root)
            if why is not None:
                problems.append(f"{at}: {why}")
        if profile is not None:
            problems.extend(f"{at}: {why}" for why in check_where(row.where, profile, root))
    summary = SUMMARY.search(text)
    if summary is None:
        problems.append("no 'Summary: N rules: implemented A, partly B, ...' line")
    else:
        stated = tuple(int(n) for n in summary.groups())
        actual = (sum(counts.values()), *(counts[s] for s in STATUSES))
        if stated != actual:
            problems.append(f"summary says {stated}, the rows give {actual}")
    return problems


# ---------------------------------------------------------------------- tests


def test_every_shipped_profile_has_a_document_and_every_document_a_profile() -> None:
    assert set(documents()) == shipped_profiles()


@pytest.mark.parametrize("profile_id", sorted(shipped_profiles()))
def test_each_document_traces_its_profile(profile_id: str) -> None:
    path = SOP_DOCS / f"{profile_id}.md"
    text = path.read_text(encoding="utf-8")
    assert f"handlers/profiles/{profile_id}.yaml" in text, "the document names its profile"
    assert check_document(text, _profile_data(profile_id)) == []


def test_the_index_links_every_document_and_is_linked() -> None:
    index = (SOP_DOCS / INDEX).read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w.-]+\.md)\)", index))
    assert {p.name for p in documents().values()} <= linked
    assert {name for name in linked if not (SOP_DOCS / name).is_file()} == set()
    for doc in ("README.md", "docs/architecture.md"):
        assert "sop/README.md" in (ROOT / doc).read_text(encoding="utf-8"), doc


FAKE_DOC = """# Fake office

Profile: `handlers/profiles/default.yaml`.

| Clause | Rule | Where | Test | Status |
|---|---|---|---|---|
| Step 1 | Good row | `workflow.states.received.standard` | `tests/test_sop_traceability.py::test_a_bad_document_is_caught` | implemented |
| Step 2 | No such file | `handlers.appeals.open_appeal` | `tests/nowhere/test_gone.py::test_x` | implemented |
| Step 3 | No such test | `handlers.appeals.no_such_function` | `tests/test_sop_traceability.py::test_that_does_not_exist` | partly: x |
| | No clause | `workflow.states.nowhere` | no test | partly: y |
| Step 5 | Bad status | `roles.secretariat` | no test | done |
| Step 6 | Implemented without test | `roles.secretariat` | no test | implemented |
| Step 7 | Missing without why | — | no test | missing |
| Step 8 | Class member | `handlers.manual_intake.Source.FAX` | `tests/intake/test_profiles.py::Walks::test_x` | partly: z |
| Step 9 | Bad parameter | — | `tests/intake/test_profiles.py::test_happy_path_from_intake_to_closing[atlantis]` | partly: w |
| Step 10 | Too few cells | x | partly: v |

Summary: 8 rules: implemented 3, partly 4, outside software 0, missing 1.
"""


def test_a_bad_document_is_caught() -> None:
    """The checks fail on bad references, an empty clause, an unknown
    status and a wrong summary, each named by its line."""
    problems = check_document(FAKE_DOC, _profile_data("default"))
    expected = [
        "line 8: tests/nowhere/test_gone.py::test_x: no file tests/nowhere/test_gone.py",
        "line 9: tests/test_sop_traceability.py::test_that_does_not_exist: "
        "no function test_that_does_not_exist in tests/test_sop_traceability.py",
        "line 9: no Python name handlers.appeals.no_such_function",
        "line 10: no clause",
        "line 10: no profile key workflow.states.nowhere",
        "line 11: status 'done' is not one of implemented, partly, outside software, missing",
        "line 12: implemented but no test named (say 'no test', status partly)",
        "line 13: status 'missing' must say why after a colon",
        "line 14: tests/intake/test_profiles.py::Walks::test_x: "
        "no class Walks in tests/intake/test_profiles.py",
        "line 14: no Python name handlers.manual_intake.Source.FAX",
        "line 15: tests/intake/test_profiles.py::test_happy_path_from_intake_to_closing[atlantis]: "
        "parameter id [atlantis] is not a value of the module",
        "line 16: 4 cells, expected 5",
    ]
    assert sorted(problems) == sorted(expected)
    assert not any(p.startswith("summary") for p in problems)  # the counts do match
    assert not any(p.startswith("line 7") for p in problems)  # the good row is good
    wrong_summary = FAKE_DOC.replace("Summary: 8 rules", "Summary: 9 rules")
    assert "summary says (9, 3, 4, 0, 1), the rows give (8, 3, 4, 0, 1)" in check_document(
        wrong_summary, _profile_data("default")
    )


def test_a_good_reference_passes_and_the_helpers_agree() -> None:
    assert (
        check_test_reference("tests/test_sop_traceability.py::test_a_bad_document_is_caught")
        is None
    )
    assert (
        check_test_reference(
            "tests/intake/test_profiles.py::test_happy_path_from_intake_to_closing[bbspjikfk]"
        )
        is None
    )
    data = _profile_data("bbspjikfk")
    assert resolve_profile_key(data, "workflow.transitions.close.notify")
    assert resolve_profile_key(data, "intake.fields.customer_name.source")
    assert resolve_profile_key(data, "channels.api")
    assert not resolve_profile_key(data, "channels.telegram")
    assert list(check_where("`channels.telegram`", data)) == ["no profile key channels.telegram"]
    assert list(check_where("`channels.twilio.TwilioConfig`", data)) == []
    assert list(check_where("`channels.twilio.Nothing`", data)) == [
        "no Python name channels.twilio.Nothing"
    ]
    assert not resolve_profile_key(data, "acceptance_window")  # not set: None
    assert resolve_code("handlers.appeals.open_appeal")
    assert resolve_code("handlers.manual_intake.Source.SUGGESTION_BOX")
    assert resolve_code("gateway.reports.recap")
    assert not resolve_code("handlers.nowhere.thing")
