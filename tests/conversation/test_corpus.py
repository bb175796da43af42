"""The intake engine holds its level on the conversation corpus (tests/conversation/README.md).

Plays every case through the real engine (as ``make eval`` does) and fails when
the complete-and-correct rate or a per-field exact-match rate falls below
``thresholds.yaml``, or when any question asks for something already said.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conversation.evaluate import FIELDS, evaluate, load_corpus, score

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.yaml"


async def test_the_corpus_stays_at_its_level(tmp_path: Path) -> None:
    cases = load_corpus()
    assert len(cases) >= 300
    limits = yaml.safe_load(THRESHOLDS.read_text(encoding="utf-8"))
    results = await evaluate(cases, tmp_path)
    figures = score(results, cases)
    failed = [r.id for r in results if not r.correct]
    assert figures.redundant <= limits["redundant_questions"], [
        (r.id, r.redundant) for r in results if r.redundant
    ]
    assert figures.correct >= limits["complete_and_correct"], (figures.correct, failed)
    for key in FIELDS:
        assert figures.per_field[key] >= limits["per_field"][key], (key, figures.per_field[key])


def test_corpus_cases_are_well_formed() -> None:
    cases = load_corpus()
    allowed = {
        "id",
        "channel",
        "sender_name",
        "subject",
        "note",
        "prelude",
        "opening",
        "answers",
        "confirm",
        "after",
        "expect",
        "_file",
    }
    for case in cases:
        assert set(case) <= allowed, (case["id"], set(case) - allowed)
        assert case["channel"] in {"whatsapp", "sms", "telegram", "email"}, case["id"]
        expect = case["expect"]
        for key in ("complainant_name", "customer_name", "problem"):
            assert isinstance(expect.get(key), str) and expect[key].strip(), (case["id"], key)
        if case["channel"] == "email":
            assert "confirm" not in case, case["id"]
