"""Telling a database failure that may pass on its own from one that will not.

Used wherever a write is retried rather than given up: a mailbox batch whose
store failed (docs/email.md, "Fast intake") and the record of a send the
provider already accepted (docs/architecture.md, "Sending the outbox").
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


def is_transient(exc: BaseException) -> bool:
    """Whether a failed database operation may succeed if simply retried.

    True for a lost or refused database connection, a timeout, a deadlock or
    serialisation failure (SQLAlchemy ``OperationalError``/``InterfaceError``,
    a DBAPI error that invalidated its connection, ``OSError``,
    ``TimeoutError``); False for everything else — a value the database
    refuses (``DataError``, ``IntegrityError``, ``StatementError``), or a bug —
    which will fail the same way every time.
    """
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError)
