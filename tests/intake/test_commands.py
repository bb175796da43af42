"""Commands with the slips people make on phone keyboards (handlers/intake/commands.py)."""

from __future__ import annotations

import pytest

from handlers.intake.answers import is_yes
from handlers.intake.commands import CommandKind, parse_command


@pytest.mark.parametrize(
    ("text", "kind", "argument"),
    [
        ("batal", CommandKind.CANCEL, None),
        ("bataaal", CommandKind.CANCEL, None),
        ("BATAL!", CommandKind.CANCEL, None),
        ("btl", CommandKind.CANCEL, None),
        ("cancle", CommandKind.CANCEL, None),
        ("bantuam", CommandKind.HELP, None),
        ("BANTUAN", CommandKind.HELP, None),
        ("statsu ADU-2026-00412", CommandKind.STATUS, "ADU-2026-00412"),
        ("cek adu-2026-00412", CommandKind.STATUS, "ADU-2026-00412"),
        ("stattus ADU-2026-00412?", CommandKind.STATUS, "ADU-2026-00412"),
        ("baru", CommandKind.NEW, None),
        ("bandingg ADU-2026-00412 hasilnya tidak adil", CommandKind.APPEAL, "ADU-2026-00412"),
    ],
)
def test_commands_survive_one_slip(text: str, kind: CommandKind, argument: str | None) -> None:
    command = parse_command(text, "ADU")
    assert command is not None and command.kind is kind and command.argument == argument


@pytest.mark.parametrize(
    "text",
    [
        "saya mau batal kontrak",  # a sentence, not the command
        "bakal",  # a word one slip from "batal"
        "bantal",
        "status pesanan saya",  # no tracking number
        "sertifikat belum terbit",
    ],
)
def test_words_that_are_not_commands(text: str) -> None:
    assert parse_command(text, "ADU") is None


@pytest.mark.parametrize("text", ["ya", "YA!", "yaa", "iyaa", "iy", "ok kirim", "ya betul", "yes"])
def test_agreements_with_slips(text: str) -> None:
    assert is_yes(text)


@pytest.mark.parametrize(
    "text", ["ya tapi namanya salah", "tidak", "bukan", "no", "yaudah batal aja deh"]
)
def test_not_agreements(text: str) -> None:
    assert not is_yes(text)
