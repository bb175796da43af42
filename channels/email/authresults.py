"""Read ``Authentication-Results`` (RFC 8601) written by the office's own receiving server.

Only a header whose authserv-id is the configured one is believed (RFC 8601
section 5: results claiming any other authserv-id are ignored; anyone can
write them). When several carry that id, the topmost — the one the receiving
server added last, above anything the sender wrote — is used.

A small parser rather than the ``authres`` package: that package was last
released in 2019 and rejects much of the syntax real servers write; we need
only the authserv-id and each method's result (docs/email.md).

Grammar handled (RFC 8601 section 2.2, with comments ``( … )`` and quoted
strings honoured)::

    authserv-id [version] ( ";" method[/version] "=" result [reason] [ptype.prop=value …] )* | "; none"
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["AuthResults", "failure", "parse_header", "trusted_results"]

_RESINFO = re.compile(r"^([a-z0-9][a-z0-9_.-]*)\s*(?:/\s*\d+)?\s*=\s*([a-z0-9_-]+)", re.IGNORECASE)
_TOKEN = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[^\s;"]+)', re.DOTALL)


@dataclass(frozen=True, slots=True)
class AuthResults:
    """One ``Authentication-Results`` header.

    Attributes:
        authserv_id: the server that wrote it, lower-case.
        results: method (lower-case, e.g. ``"spf"``, ``"dkim"``, ``"dmarc"``)
            → its results in order (lower-case, e.g. ``("fail",)``).
    """

    authserv_id: str
    results: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _strip_comments(value: str) -> str:
    """``value`` without RFC 5322 comments (nested ``( … )``), quoted strings kept whole."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\" and (quoted or depth):
            escaped = True
            if depth == 0:
                out.append(char)
            continue
        if quoted:
            out.append(char)
            if char == '"':
                quoted = False
            continue
        if char == "(":
            depth += 1
            continue
        if char == ")" and depth:
            depth -= 1
            continue
        if depth:
            continue
        if char == '"':
            quoted = True
        out.append(char)
    return "".join(out)


def _split(value: str) -> list[str]:
    """``value`` split on ``;`` outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def parse_header(value: str) -> AuthResults | None:
    """Parse one header value; None when it has no readable authserv-id.

    Unreadable result items are skipped (never an error): a header we cannot
    read says nothing, which is treated like no header at all.
    """
    parts = _split(_strip_comments(value))
    head = _TOKEN.match(parts[0])
    if head is None:
        return None
    authserv_id = head.group(1).strip('"').strip().lower()
    if not authserv_id:
        return None
    results: dict[str, list[str]] = {}
    for part in parts[1:]:
        found = _RESINFO.match(part.strip())
        if found is None:
            continue
        results.setdefault(found.group(1).lower(), []).append(found.group(2).lower())
    return AuthResults(authserv_id, {k: tuple(v) for k, v in results.items()})


def trusted_results(values: Iterable[str], authserv_id: str) -> AuthResults | None:
    """The topmost header among ``values`` (in message order) written by ``authserv_id``.

    ``authserv_id`` is compared case-insensitively; None when no header has it.
    """
    wanted = authserv_id.strip().lower()
    for value in values:
        parsed = parse_header(value)
        if parsed is not None and parsed.authserv_id == wanted:
            return parsed
    return None


def failure(results: AuthResults) -> str | None:
    """Why the sender's address is not to be believed, or None.

    ``dmarc=fail`` fails. ``spf=fail`` fails unless DMARC passed: DMARC
    authenticates the From domain (RFC 7489), while SPF alone checks the
    envelope sender, which forwarding legitimately breaks. ``softfail``,
    ``neutral``, ``none`` and errors do not fail. Returns e.g.
    ``"spf=fail, dmarc=fail"``.
    """
    dmarc = results.results.get("dmarc", ())
    spf = results.results.get("spf", ())
    reasons: list[str] = []
    if "fail" in spf and "pass" not in dmarc:
        reasons.append("spf=fail")
    if "fail" in dmarc:
        reasons.append("dmarc=fail")
    return ", ".join(reasons) or None
