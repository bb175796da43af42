"""Small value types shared by SOP profiles: bilingual texts and time standards."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from handlers.i18n import tn
from handlers.timestandards import WorkingCalendar, due_at


class Text(BaseModel):
    """A text in Indonesian (``id``, required) and English (``en``, optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    en: str | None = None

    def get(self, language: str) -> str:
        """The text in ``language`` (``"id"``/``"en"``), Indonesian as fallback."""
        if language == "en" and self.en:
            return self.en
        return self.id


class Duration(BaseModel):
    """A time standard: an amount of minutes, hours, days, working days or calendar days.

    Minutes and hours are office time; days follow the office's
    ``day_count``; working days end at the end of the last one; calendar
    days are elapsed time
    (:func:`handlers.timestandards.due_at`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: int = Field(ge=0)
    unit: str = Field(pattern=r"^(minutes|hours|days|working_days|calendar_days)$")

    def due(self, start: datetime, calendar: WorkingCalendar) -> datetime:
        """When a step started at ``start`` under this standard is due (:func:`due_at`).

        ``start`` must be aware; the result is aware, in the office zone.
        Raises ``ValueError`` for a naive ``start``.
        """
        return due_at(start, self.amount, self.unit, calendar)

    def describe(self, language: str) -> str:
        """Human text such as ``3 hari kerja`` / ``3 working days`` (plural forms
        of the catalogue, docs/translations.md "Calling it")."""
        n = self.amount
        if self.unit == "minutes":
            return tn(language, "{n} minute", "{n} minutes", n)
        if self.unit == "hours":
            return tn(language, "{n} hour", "{n} hours", n)
        if self.unit == "working_days":
            return tn(language, "{n} working day", "{n} working days", n)
        return tn(language, "{n} day", "{n} days", n)  # days, calendar_days
