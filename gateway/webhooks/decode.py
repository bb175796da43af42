"""Decoding provider bodies once they are capped and verified: Twilio forms over the
capped bytes, JSON with a nesting limit (docs/webhooks.md, "Decoding")."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import parse_qsl

from multidict import MultiDict

from channels.errors import InboundParseError

log = logging.getLogger(__name__)

#: Deepest JSON nesting accepted (objects and arrays). Real payloads nest
#: about 10 levels (a WhatsApp interactive reply: body, entry, change, value,
#: message, interactive, reply; a Telegram reply with entities).
JSON_MAX_DEPTH: Final = 32
#: Most fields accepted in one Twilio form (a real one has about 40).
TWILIO_MAX_FIELDS: Final = 200


def json_depth_within(value: Any, limit: int) -> bool:
    """Whether ``value`` (decoded JSON) nests at most ``limit`` levels (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def load_json(raw: bytes, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Decode a JSON body, refusing nesting deeper than ``max_depth``.

    Raises:
        InboundParseError: not JSON (invalid UTF-8 included), or nested deeper
            than ``max_depth`` (the stdlib decoder's RecursionError on very deep
            input is turned into this too).
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        raise InboundParseError(f"body nests deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InboundParseError(f"body is not JSON: {exc}") from None
    if not json_depth_within(value, max_depth):
        raise InboundParseError(f"body nests deeper than {max_depth} levels")
    return value


def parse_form_body(raw: bytes) -> MultiDict[str]:
    """Decode an ``application/x-www-form-urlencoded`` body (bytes already capped).

    Invalid UTF-8 becomes U+FFFD (as the signature check then sees it).

    Raises:
        InboundParseError: more than :data:`TWILIO_MAX_FIELDS` fields.
    """
    text = raw.decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="replace",
            max_num_fields=TWILIO_MAX_FIELDS,
        )
    except ValueError as exc:
        raise InboundParseError(f"body is not a form: {exc}") from None
    return MultiDict(pairs)
