"""The inbox list's opaque page cursor: a position in (last activity, complaint id) order."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of a page: its ``last_activity_at`` (aware UTC) and complaint id."""

    last_activity_at: datetime
    complaint_id: int

    def encode(self) -> str:
        """URL-safe base64 of ``<ISO 8601 time>|<id>``, without padding."""
        raw = f"{self.last_activity_at.astimezone(UTC).isoformat()}|{self.complaint_id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Read a cursor made by :meth:`encode`.

        Raises ``ValueError`` ("invalid inbox cursor: …") for anything else:
        bad base64, a missing part, a time without a zone, an id below 1.
        """
        try:
            padded = value.strip() + "=" * (-len(value.strip()) % 4)
            raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
            when_text, id_text = raw.split("|")
            when = datetime.fromisoformat(when_text)
            complaint_id = int(id_text)
        except (ValueError, UnicodeError, binascii.Error) as exc:
            raise ValueError(f"invalid inbox cursor: {value[:80]!r} ({exc})") from None
        if when.tzinfo is None:
            raise ValueError(f"invalid inbox cursor: {value[:80]!r} (time without a zone)")
        if complaint_id < 1:
            raise ValueError(f"invalid inbox cursor: {value[:80]!r} (bad complaint id)")
        return cls(when.astimezone(UTC), complaint_id)
