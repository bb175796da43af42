"""Turns, not messages: a burst of chat messages sent before the bot answered is one turn.

People on WhatsApp write in bursts — "permisi min", "mau lapor", "hasil lab
saya belum keluar", "udah 2 minggu" — one thought split over several
messages sent within a second or two. Answering each would ask three
questions at once and read the third message as the answer to a question
that was never seen. So the processor waits for a short quiet gap after a
contact's last chat message (the profile's ``intake.turn_gap_seconds``,
about 2.5 s) and hands the engine all of them together.

Rules (:func:`plan_turn`):

* only chat messages (WhatsApp, SMS, Telegram) form bursts; an email or a
  web form is always a turn of its own, handled at once;
* a turn is the run of pending messages from one contact on one channel, in
  arrival order; a command ("batal", "status ADU-…") is a turn of its own,
  so it is never read as part of a complaint;
* the turn is ready once nothing more arrived for the quiet gap, once a
  message after it (another channel, a command) closes it, or once its first
  message has waited ``max_wait_seconds`` (someone typing a long story in
  many messages still gets an answer);
* order per contact and durability stay the processor's: every message is
  stored and acknowledged before it is part of any turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from handlers.intake.targets import INTERACTIVE
from storage.models import Message

#: Seconds a turn waits at most for our last question to settle (a send in flight,
#: see :class:`QuestionInFlight`): past the outbox claim (30 s) and its margin,
#: the question is taken as seen (the complainant is answering something).
QUESTION_SETTLE_SECONDS = 45.0


class QuestionInFlight(Exception):
    """Raised by the engine inside a turn's transaction: our last question to this
    conversation is being sent right now (its outbox row is ``sending``), so
    whether the complainant had seen it when they wrote is not known yet.

    The processor rolls the turn back and comes back after ``wait_seconds``;
    the question is settled by then (sent, or back to pending) and the turn
    reads the same way whatever the timing of the provider's answer
    (docs/intake.md "Answers that cross our question").
    """

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"our last question is being sent; try again in {wait_seconds:g} s")
        self.wait_seconds = wait_seconds


@dataclass(frozen=True, slots=True)
class TurnPlan:
    """Either ``messages`` to handle now as one turn, or ``wait_seconds`` until
    the turn may be complete (``messages`` empty)."""

    messages: tuple[Message, ...] = ()
    wait_seconds: float = 0.0


def plan_turn(
    pending: Sequence[Message],
    *,
    now: datetime,
    gap_seconds: float,
    max_wait_seconds: float,
    is_command: Callable[[Message], bool],
) -> TurnPlan:
    """The next turn among a contact's ``pending`` inbound messages (oldest first).

    ``now`` and the messages' ``created_at`` (when they were stored) are
    timezone-aware UTC. Raises ``ValueError`` when ``pending`` is empty.
    """
    if not pending:
        raise ValueError("no pending message")
    first = pending[0]
    if first.channel not in INTERACTIVE or is_command(first) or gap_seconds <= 0:
        return TurnPlan((first,))
    turn = [first]
    closed = False
    for message in pending[1:]:
        if message.channel != first.channel or is_command(message):
            closed = True
            break
        turn.append(message)
    if closed:
        return TurnPlan(tuple(turn))
    quiet = (now - turn[-1].created_at).total_seconds()
    waited = (now - first.created_at).total_seconds()
    if quiet >= gap_seconds or waited >= max_wait_seconds:
        return TurnPlan(tuple(turn))
    wait = min(gap_seconds - quiet, max_wait_seconds - waited)
    return TurnPlan(wait_seconds=max(wait, 0.01))
