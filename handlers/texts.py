"""Small value types shared by SOP profiles: bilingual texts and time standards."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

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
        """Human text such as ``3 hari kerja`` / ``3 working days``."""
        words = {
            "id": {
                "minutes": "menit",
                "hours": "jam",
                "days": "hari",
                "working_days": "hari kerja",
                "calendar_days": "hari",
            },
            "en": {
                "minutes": "minutes",
                "hours": "hours",
                "days": "days",
                "working_days": "working days",
                "calendar_days": "days",
            },
        }
        lang = "en" if language == "en" else "id"
        return f"{self.amount} {words[lang][self.unit]}"
