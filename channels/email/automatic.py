"""Recognise machine-sent mail that must never be answered (docs/channels.md, "Email").

Such a message is still stored (staff may want to see a bounce), but the bot
never replies to it, which is what stops mail loops between two auto-responders.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any

__all__ = ["is_automatic", "own_address_set"]

_KEYWORD = re.compile(r"[A-Za-z0-9-]+")
_PRECEDENCE_AUTOMATIC = frozenset({"bulk", "list", "junk", "auto_reply"})
_LIST_HEADERS = ("List-Id", "List-Unsubscribe")
_AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond")
_SYSTEM_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
_REPORT_TYPES = frozenset(
    {"multipart/report", "message/delivery-status", "message/disposition-notification"}
)


def own_address_set(addresses: Iterable[str]) -> frozenset[str]:
    """Lower-case bare addresses from ``addresses`` (``"Name <a@b>"`` or ``"a@b"``)."""
    return _address_set(tuple(addresses))


@functools.lru_cache(maxsize=64)
def _address_set(addresses: tuple[str, ...]) -> frozenset[str]:
    # Called once per parsed mail with the same few addresses: parse them once.
    result = set()
    for value in addresses:
        _name, addr = parseaddr(value)
        if addr:
            result.add(addr.strip().lower())
    return frozenset(result)


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # malformed header: use its raw text
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return None if value is None else str(value).strip()


def _from_addresses(msg: Message) -> list[str]:
    found: list[str] = []
    try:
        values: list[Any] = msg.get_all("From", [])
    except Exception:  # the email package fails on some malformed address lists
        values = [v for k, v in msg.raw_items() if k.lower() == "from"]
    for value in values:
        try:
            # policy.default headers carry parsed addresses (display names decoded).
            parsed = [a.addr_spec for a in value.addresses]
        except Exception:  # compat32 strings or a malformed header
            parsed = [addr for _name, addr in getaddresses([str(value)])]
        found.extend(addr.strip().lower() for addr in parsed if addr and addr != "<>")
    return found


def is_automatic(msg: Message, own_addresses: Collection[str]) -> str | None:
    """Why ``msg`` was sent by a machine, or ``None`` for a message from a person.

    ``msg`` is a parsed message (:mod:`email`, any policy); ``own_addresses``
    are our sending addresses (``"Name <a@b>"`` or ``"a@b"``, any case).
    The returned reason names the rule that matched, e.g.
    ``"Auto-Submitted: auto-replied"``. Checks, in order (reliability rule 6):

    * ``Auto-Submitted`` other than ``no`` (RFC 3834);
    * ``Precedence: bulk | list | junk | auto_reply``;
    * mailing-list headers ``List-Id`` / ``List-Unsubscribe`` (RFC 2369, 2919);
    * ``X-Autoreply`` / ``X-Autorespond`` (older responders);
    * delivery or read reports: ``multipart/report``, ``message/delivery-status``
      (RFC 3464), a null ``Return-Path: <>``, or a ``From`` of
      ``MAILER-DAEMON`` / ``postmaster``;
    * mail from one of our own addresses (our own auto-replies coming back).

    Pure; never raises.
    """
    auto_submitted = _header(msg, "Auto-Submitted")
    if auto_submitted:
        found = _KEYWORD.match(auto_submitted)  # RFC 3834: keyword, then comments/params
        kind = found.group(0).lower() if found else auto_submitted.lower()
        if kind and kind != "no":
            return f"Auto-Submitted: {kind}"
    precedence = (_header(msg, "Precedence") or "").lower()
    if precedence in _PRECEDENCE_AUTOMATIC:
        return f"Precedence: {precedence}"
    for name in _LIST_HEADERS + _AUTOREPLY_HEADERS:
        if msg.get(name) is not None:
            return f"{name} present"
    content_type = msg.get_content_type().lower()
    if content_type in _REPORT_TYPES:
        return f"delivery report ({content_type})"
    return_path = _header(msg, "Return-Path")
    if return_path is not None and return_path.replace(" ", "") == "<>":
        return "null Return-Path (bounce)"
    senders = _from_addresses(msg)
    for addr in senders:
        if addr.rpartition("@")[0] in _SYSTEM_LOCAL_PARTS:
            return f"delivery report (From {addr})"
    own = own_address_set(own_addresses)
    for addr in senders:
        if addr in own:
            return "from our own address"
    return None
