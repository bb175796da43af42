"""The intake conversation engine: from a complainant's messages to a registered complaint.

One job per module:

* :mod:`~handlers.intake.turns` — messages sent before the bot answered are one turn;
* :mod:`~handlers.intake.commands` — BATAL, BANTUAN, STATUS, BARU, BANDING (typos tolerated);
* :mod:`~handlers.intake.reading` — free text into fields, and what kind of
  opening it was, built on :mod:`~handlers.intake.labels`,
  :mod:`~handlers.intake.letters`, :mod:`~handlers.intake.introductions`,
  :mod:`~handlers.intake.names`, :mod:`~handlers.intake.organisations`,
  :mod:`~handlers.intake.phrases`, :mod:`~handlers.intake.segments` and the
  word lists of :mod:`~handlers.intake.lexicon`;
* :mod:`~handlers.intake.answers` — an answer to the question the bot asked;
* :mod:`~handlers.intake.corrections` — "bukan X, tapi Y" at any point;
* :mod:`~handlers.intake.replies` — what the bot says;
* :mod:`~handlers.intake.targets` — which draft or complaint a message continues;
* :mod:`~handlers.intake.aftercare` — a score or a follow-up about a registered complaint;
* :mod:`~handlers.intake.outbound` — where replies go, staged in the outbox;
* :mod:`~handlers.intake.engine` — the conversation itself, its dispatch order as data.

The field rules are written down in ``docs/intake.md``.
"""

from handlers.intake.engine import IntakeEngine, expire_conversation
from handlers.intake.outbound import default_route
from handlers.intake.targets import INTERACTIVE, THREADED

__all__ = [
    "INTERACTIVE",
    "THREADED",
    "IntakeEngine",
    "default_route",
    "expire_conversation",
]
