"""Recorded provider payloads from ``tests/<provider>/data/``, by name, with substitutions.

A recording is loaded by its name (``recorded("whatsapp_cloud")`` gives a
provider's :class:`Payloads`): ``PAYLOADS.json("text")`` reads
``data/text.json``; ``PAYLOADS.form("sms_inbound")`` reads a form-encoded body
(``data/sms_inbound.form``, as Twilio posts it); ``PAYLOADS.raw("x.eml")`` the
bytes. Substitutions are a mapping from a dotted path to a new value:
``{"message.text": "halo", "entry.0.changes.0.value.messages.0.id": "w1"}``
(list items by index); :data:`DROP` as the value removes the field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


#: A substitution value that removes the field.
DROP: Final = _Drop()

Changes = Mapping[str, Any]


def substitute(data: Any, changes: Changes | None = None) -> Any:
    """A deep copy of ``data`` with each dotted path in ``changes`` set (or dropped).

    Raises ``KeyError``/``IndexError`` when a path's parent does not exist: a
    substitution never invents structure the recording does not have.
    """
    data = copy.deepcopy(data)
    for path, value in (changes or {}).items():
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is DROP:
            del node[key]
        else:
            node[key] = copy.deepcopy(value)
    return data


TESTS = Path(__file__).resolve().parent.parent


def recorded(provider: str) -> Payloads:
    """The recordings of ``provider`` (its test folder's name, e.g. ``"twilio"``)."""
    return Payloads(TESTS / provider / "data")


class Payloads:
    """The recordings of one provider, in ``folder`` (``tests/<provider>/data``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str, suffix: str = "") -> Path:
        """The file of recording ``name`` (``suffix`` added unless already there)."""
        return self.folder / (name if not suffix or name.endswith(suffix) else name + suffix)

    def raw(self, name: str) -> bytes:
        """The bytes of recording ``name`` as stored."""
        return self.path(name).read_bytes()

    def json(self, name: str, changes: Changes | None = None) -> Any:
        """The JSON recording ``name`` (``.json`` optional), with ``changes``."""
        return substitute(json.loads(self.path(name, ".json").read_text("utf-8")), changes)

    def form(self, name: str, changes: Changes | None = None) -> dict[str, str]:
        """The form-encoded recording ``name`` (``.form`` optional) as a dict, with
        ``changes`` (top-level fields only; :data:`DROP` removes one)."""
        text = self.path(name, ".form").read_text("utf-8").strip()
        form: dict[str, str] = substitute(dict(parse_qsl(text, keep_blank_values=True)), changes)
        return form
