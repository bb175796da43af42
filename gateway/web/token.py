"""Server-issued, signed form tokens for the public complaint form.

A token is ``<issued>.<nonce>.<signature>``: ``issued`` the issue time in
whole Unix seconds, ``nonce`` 32 random lower-case hex characters (the
submission id, which becomes the message's ``external_id``), ``signature``
the HMAC-SHA256 of both under the form secret (``ADUAN_FORM_SECRET``, or one
generated on first run in ``<data_dir>/form-secret``, mode 0600), base64url
without padding. The client cannot choose or alter any part of it.

On submit (docs/web-form.md, "Form token") a token must carry a valid
signature, be at most ``ADUAN_FORM_TOKEN_MAX_AGE_MINUTES`` old and at least
``ADUAN_FORM_MIN_SECONDS`` old (a person needs more than a moment to fill in
the form; a script does not). That it is used once is decided by the database
(:mod:`storage.formguard`), not here: everything in this module is pure.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers.validation import is_token, new_token
from storage.types import utcnow

#: File under ``ADUAN_DATA_DIR`` holding the generated form secret.
SECRET_FILE = "form-secret"  # noqa: S105 - a file name, not a secret
#: What the signature covers besides the token's fields (domain separation).
_CONTEXT = b"aduan-form-token-v1\x00"
#: A token issued this far in the future (clock skew between processes) is
#: still read as just issued; further ahead it is refused as forged.
CLOCK_SKEW = timedelta(seconds=5)


class TokenState(enum.StrEnum):
    """The verdict on a submitted token."""

    VALID = "valid"
    MALFORMED = "malformed"  # not three well-formed parts
    FORGED = "forged"  # bad signature, or issued in the future
    EXPIRED = "expired"  # older than the maximum age
    TOO_FAST = "too_fast"  # younger than the minimum age


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """Result of :meth:`FormTokens.check`.

    Attributes:
        state: the verdict.
        nonce: the submission id (32 lower-case hex) when the signature is
            valid (also for an expired or too-young token), else ``None``.
        issued_at: the issue time (UTC) when the signature is valid, else ``None``.
    """

    state: TokenState
    nonce: str | None = None
    issued_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when the token may be used for a submission."""
        return self.state is TokenState.VALID


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FormTokens:
    """Issues and checks form tokens under one secret key.

    Args:
        key: the HMAC key (at least 32 bytes).
        min_age: a token younger than this is refused (``TOO_FAST``).
        max_age: a token older than this is refused (``EXPIRED``).

    Raises:
        ValueError: for a key shorter than 32 bytes, a negative ``min_age``
            or a ``max_age`` not above ``min_age``.
    """

    def __init__(self, key: bytes, *, min_age: timedelta, max_age: timedelta) -> None:
        if len(key) < 32:
            raise ValueError("the form token key must have at least 32 bytes")
        if min_age < timedelta(0) or max_age <= min_age:
            raise ValueError("form token ages: need 0 <= min_age < max_age")
        self._key = key
        self.min_age = min_age
        self.max_age = max_age

    def _sign(self, issued: int, nonce: str) -> str:
        mac = hmac.new(self._key, _CONTEXT + f"{issued}.{nonce}".encode("ascii"), hashlib.sha256)
        return _b64(mac.digest())

    def issue(self, issued_at: datetime | None = None, nonce: str | None = None) -> str:
        """A new token issued at ``issued_at`` (default now) with a fresh random nonce.

        ``nonce`` (32 lower-case hex) is for tests only. Raises ``ValueError``
        for a malformed ``nonce``.
        """
        nonce = nonce or new_token()
        if not is_token(nonce):
            raise ValueError("a nonce is 32 lower-case hex characters")
        issued = int((issued_at or utcnow()).timestamp())
        return f"{issued}.{nonce}.{self._sign(issued, nonce)}"

    def check(self, token: str | None, now: datetime | None = None) -> TokenCheck:
        """Verify ``token``'s signature (constant-time) and its age at ``now``.

        Never raises; see :class:`TokenState` for the verdicts.
        """
        parts = (token or "").split(".")
        if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit():
            return TokenCheck(TokenState.MALFORMED)
        issued_text, nonce, signature = parts
        if len(issued_text) > 12 or not is_token(nonce):
            return TokenCheck(TokenState.MALFORMED)
        issued = int(issued_text)
        expected = self._sign(issued, nonce)
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8")):
            return TokenCheck(TokenState.FORGED)
        issued_at = datetime.fromtimestamp(issued, UTC)
        age = (now or utcnow()) - issued_at
        if age < -CLOCK_SKEW:
            return TokenCheck(TokenState.FORGED)
        if age > self.max_age:
            return TokenCheck(TokenState.EXPIRED, nonce, issued_at)
        if age < self.min_age:
            return TokenCheck(TokenState.TOO_FAST, nonce, issued_at)
        return TokenCheck(TokenState.VALID, nonce, issued_at)


def load_form_secret(configured: str | None, data_dir: Path) -> bytes:
    """The form secret: ``configured`` (``ADUAN_FORM_SECRET``) when set, else the one
    kept in ``<data_dir>/form-secret``, generated (256 random bits, mode 0600)
    on first run.

    Several gateway processes on one data directory share the generated
    file; processes on different hosts need ``ADUAN_FORM_SECRET`` set alike.

    Raises:
        OSError: when the file cannot be read or created.
    """
    if configured:
        return configured.encode("utf-8")
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a private file, then linked into place: a process
        # starting at the same moment sees no file or the complete one.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".form-secret-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(32))
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text(encoding="utf-8").strip().encode("utf-8")
