"""Canned replies: an office's ready-made answers to complainants, with variables.

A profile lists them under ``canned_replies:`` (each ``{id, label {id, en},
text {id, en}}``); staff pick one in the reply box of a complaint and the
text arrives filled in, ready to edit and send. The texts follow what the
SOPs have the office tell the complainant: that the complaint was received
and recorded (SOP-7.9-1 item 2, BBSPJIKFK 5.1.11 step 1, PR-LS-8.1.4 step 1,
KEC_BANDUNGAN/WMM/03 step 3, PM-BAPKM.AP.1-24 step a), a request for more
data when the complaint is not clear (KEC_BANDUNGAN/WMM/03 step 5,
PM-BAPKM.AP.1-24 step b) and that the result was sent (SOP-7.9-1 item 10,
BBSPJIKFK 5.1.11 step 6, PR-LS-8.1.4 step 5, KEC_BANDUNGAN/WMM/03 step 7).

Variables are written ``{name}`` and only those of :data:`VARIABLES` exist;
a text using any other (or a malformed brace) is refused when the profile
loads, naming the reply (:class:`handlers.profile.ProfileError`). A literal
brace is written doubled (``{{``/``}}``), as in :meth:`str.format`.
:func:`fill` is pure: values come in, text comes out; the values of one
complaint come from :func:`handlers.canned_reply_values.complaint_values`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from handlers.texts import Text

#: The variables a canned reply may use, with the label shown in its place
#: (``[tanggal tenggat]``) when the complaint has no value for it.
VARIABLES: dict[str, Text] = {
    "tracking_number": Text(id="nomor pengaduan", en="tracking number"),
    "name": Text(id="nama pengadu", en="complainant's name"),
    "due_date": Text(id="tanggal tenggat", en="due date"),
    "office": Text(id="nama kantor", en="office name"),
    "status": Text(id="status", en="status"),
}


def variables_in(text: str) -> tuple[str, ...]:
    """The variable names ``text`` uses, in order of appearance (repeats kept).

    Raises:
        ValueError: for a malformed brace (``{`` never closed, a lone ``}``),
            an unknown variable, or a variable with a format spec or
            conversion (``{name!r}``, ``{due_date:>10}``).
    """
    found: list[str] = []
    for _literal, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if field not in VARIABLES:
            raise ValueError(
                f"unknown variable {{{field}}}; known: " + ", ".join(f"{{{v}}}" for v in VARIABLES)
            )
        if spec or conversion:
            raise ValueError(f"variable {{{field}}} takes no format or conversion")
        found.append(field)
    return tuple(found)


class CannedReply(BaseModel):
    """One ready-made reply: ``id`` (used in ``?reply=<id>``), the ``label``
    staff pick it by, the ``text`` sent (Indonesian required, English
    optional; see :data:`VARIABLES`) and the SOP clause it serves (``source``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=60)
    label: Text
    text: Text
    source: str | None = None

    @model_validator(mode="after")
    def _known_variables(self) -> CannedReply:
        for language, text in (("id", self.text.id), ("en", self.text.en)):
            if text is None:
                continue
            try:
                variables_in(text)
            except ValueError as exc:
                raise ValueError(f"canned reply {self.id!r} (text.{language}): {exc}") from None
        return self


def _unique(replies: tuple[CannedReply, ...]) -> tuple[CannedReply, ...]:
    seen: set[str] = set()
    for reply in replies:
        if reply.id in seen:
            raise ValueError(f"canned reply {reply.id!r} is listed twice")
        seen.add(reply.id)
    return replies


#: The profile key ``canned_replies``: replies with distinct ids, in picker order.
CannedReplies = Annotated[tuple[CannedReply, ...], AfterValidator(_unique)]


@dataclass(frozen=True, slots=True)
class FilledReply:
    """A reply's text with its variables filled (``text``), and the variables
    that had no value (``missing``; their label stands in brackets instead)."""

    text: str
    missing: tuple[str, ...]


def fill(reply: CannedReply, language: str, values: Mapping[str, str | None]) -> FilledReply:
    """``reply``'s text in ``language`` (``"id"``/``"en"``, Indonesian as
    fallback) with each ``{variable}`` replaced by ``values[variable]``.

    A variable whose value is ``None``, empty or absent is replaced by its
    label in brackets (``[tanggal tenggat]``) and listed in ``missing``, so
    staff see what to write before sending. Values are inserted as they are
    (braces in a value are not read as variables).
    """
    text = reply.text.get(language)
    missing: list[str] = []
    out: dict[str, str] = {}
    for name in variables_in(text):
        value = values.get(name)
        if value:
            out[name] = value
        else:
            out[name] = f"[{VARIABLES[name].get(language)}]"
            if name not in missing:
                missing.append(name)
    return FilledReply(text.format_map(out), tuple(missing))
