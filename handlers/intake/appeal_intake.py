"""The intake of a standalone appeal on chat and e-mail (BSPJI Pontianak PR-LS-8.1.4 step 1).

Under a profile whose ``appeal.standalone`` is on, someone who writes that
they want to appeal ("banding", "mau mengajukan banding", "I want to
appeal …") without a tracking number starts an appeal draft instead of a
complaint draft. The draft is a :class:`~storage.models.Conversation` marked
with :data:`APPEAL_KEY` in its ``suggestions``; it asks, one question at a
time on every channel, for the decision contested (what, by whom, when), the
reason, and the appellant's name when the channel did not give it. Then the
appeal is recorded (:func:`handlers.standalone_appeals.open_standalone_appeal`)
and acknowledged with its reference in the same conversation.

``banding <tracking number> <reason>`` on a complaint stays the command of
:mod:`handlers.intake.commands`; this module never sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.i18n import t
from handlers.standalone_appeals import DECISION_LIMITS, NAME_LIMITS, REASON_LIMITS

#: Marks a conversation as an appeal draft (``Conversation.suggestions``).
APPEAL_KEY = "_appeal"
#: What an appeal draft collects, in the order asked.
APPEAL_FIELDS = ("contested_decision", "reason", "appellant_name")
#: Limits per field (characters), from :mod:`handlers.standalone_appeals`.
LIMITS = {
    "contested_decision": DECISION_LIMITS,
    "reason": REASON_LIMITS,
    "appellant_name": NAME_LIMITS,
}

_GREETING = (
    r"(?:(?:halo|hai|hi|hello|selamat\s+(?:pagi|siang|sore|malam)|assalamu'?alaikum)[\s,.!]+)?"
)
_ID_INTENT = re.compile(
    _GREETING
    + r"(?:(?:saya|kami|sy)\s+)?(?:(?:mau|ingin|hendak|akan|bermaksud|perlu)\s+)?"
    + r"(?:(?:mengajukan|ajukan|ngajuin|minta|memohon)\s+)?banding\b(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)
_EN_INTENT = re.compile(
    _GREETING
    + r"(?:(?:i|we)\s+)?(?:(?:want|would\s+like|wish|need)\s+to\s+)?"
    + r"(?:(?:make|file|lodge|submit)\s+an\s+)?appeal\b(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)
_CONNECTOR = re.compile(
    r"^[\s,.:;-]*(?:(?:atas|terhadap|thd|untuk|against|on|about)\s+)?", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class AppealIntent:
    """Someone wants to appeal: in ``language``; ``decision`` is what the
    opening already says about the contested decision (may be empty)."""

    language: str
    decision: str


def appeal_intent(text: str, subject: str | None = None) -> AppealIntent | None:
    """Whether ``text`` (or an e-mail ``subject``) opens with the wish to appeal.

    The first non-empty line must begin with it (a greeting may come first):
    "banding", "saya mau mengajukan banding atas …", "I want to appeal …".
    What follows the words (after "atas", "terhadap", "against" …) is taken
    as the contested decision. A mail whose subject says it takes its body as
    the decision. Sentences that only mention an appeal ("kami sudah ajukan
    banding …") are not an intent. Pure.
    """
    stripped = text.strip()
    for language, pattern in (("id", _ID_INTENT), ("en", _EN_INTENT)):
        found = pattern.fullmatch(stripped)
        if found is not None:
            return AppealIntent(language, _CONNECTOR.sub("", found.group("rest")).strip())
        if subject is not None and pattern.fullmatch(subject.strip()) is not None:
            return AppealIntent(language, stripped)
    return None


def question(key: str, language: str) -> str:
    """The question for ``key`` of :data:`APPEAL_FIELDS`."""
    if key == "contested_decision":
        return t(
            language,
            "We will record your appeal. Which decision do you contest? Please say what was decided, by whom and when (for example the test report or certificate number).",
        )
    if key == "reason":
        return t(
            language, "Why do you contest this decision? Please give the reason for your appeal."
        )
    return t(language, "May we have your full name, as the person making this appeal?")


def invalid(key: str, language: str) -> str:
    """What to say when the answer for ``key`` is too short or too long."""
    low, high = LIMITS[key]
    return t(
        language,
        "Please write between {low} and {high} characters.",
        low=low,
        high=high,
    )


def next_question(fields: dict[str, object]) -> str | None:
    """The first of :data:`APPEAL_FIELDS` not yet given, or ``None`` when complete."""
    return next((key for key in APPEAL_FIELDS if not fields.get(key)), None)


def checked(key: str, text: str) -> str | None:
    """``text`` as the answer for ``key`` when within its limits, else ``None``."""
    value = " ".join(text.split()) if key == "appellant_name" else text.strip()
    low, high = LIMITS[key]
    return value if low <= len(value) <= high else None
