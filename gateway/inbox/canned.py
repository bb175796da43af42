"""The canned-reply picker of the complaint page's reply box.

The profile's ready-made replies (:mod:`handlers.canned_replies`) are filled
on the server for the complaint at hand, in the complainant's language, so
the picker works without JavaScript: ``GET /inbox/complaints/{tracking}?reply=<id>``
shows the page with the reply box holding that reply's text. Each option
also carries its filled text, so the page script can insert it at once
without a reload. An unknown ``reply`` id changes nothing but says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.canned_replies import VARIABLES, fill
from handlers.canned_reply_values import complaint_values
from handlers.i18n import t
from handlers.profile import Profile
from storage.models import Complaint


@dataclass(frozen=True, slots=True)
class CannedChoice:
    """One option of the picker: ``id``, ``label`` (staff language), the
    ``text`` filled for this complaint (the complainant's language) and
    ``missing``: the sentence asking staff to write in what the complaint has
    no value for (empty when every variable was filled)."""

    id: str
    label: str
    text: str
    missing: str = ""


@dataclass(frozen=True, slots=True)
class CannedView:
    """What the reply box shows.

    ``choices``: every reply of the profile (empty: no picker); ``picked``:
    the id asked for with ``?reply=`` when it exists; ``text``: the reply
    box's starting text (empty unless one was picked); ``missing``: the
    picked reply's sentence naming (staff language) the variables the
    complaint has no value for, empty when none;
    ``error``: a sentence when ``?reply=`` named no reply of the profile.
    """

    choices: tuple[CannedChoice, ...] = ()
    picked: str | None = None
    text: str = ""
    missing: str = ""
    error: str | None = None


def canned_view(
    profile: Profile, complaint: Complaint, lang: str, requested: str | None
) -> CannedView:
    """The picker for ``complaint``, with ``requested`` (``?reply=``) filled in.

    ``lang``: the staff member's language (labels, messages); the texts are
    filled in the complaint's own language (``complaint.language``).
    """
    if not profile.canned_replies:
        return CannedView()
    language = complaint.language if complaint.language in ("id", "en") else "id"
    values = complaint_values(profile, complaint, language)
    choices = []
    picked: str | None = None
    text = ""
    missing = ""
    for reply in profile.canned_replies:
        filled = fill(reply, language, values)
        unknown = (
            t(
                lang,
                "Not known for this complaint, write it in before sending: {items}.",
                items=", ".join(VARIABLES[name].get(lang) for name in filled.missing),
            )
            if filled.missing
            else ""
        )
        choices.append(CannedChoice(reply.id, reply.label.get(lang), filled.text, unknown))
        if reply.id == requested:
            picked, text, missing = reply.id, filled.text, unknown
    error = None
    if requested and picked is None:
        error = t(
            lang,
            "There is no ready-made reply “{reply}”; choose one from the list.",
            reply=requested[:60],
        )
    return CannedView(tuple(choices), picked, text, missing, error)
