"""UID sets and multi-message FETCH answers (channels/email/imap_client.py)."""

from __future__ import annotations

import pytest

from channels.email.imap_client import _bodies_from_fetch, _sizes_from_fetch, uid_set


def test_uid_set_collapses_runs() -> None:
    assert uid_set([7, 1, 2, 3, 3, 9, 10]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"
    with pytest.raises(ValueError):
        uid_set([])


def test_bodies_are_matched_to_their_uid_wherever_the_server_puts_it() -> None:
    lines = [
        b"1 FETCH (UID 41 BODY[] {5}",
        bytearray(b"hello"),
        b")",
        b"2 FETCH (BODY[] {5}",  # UID after the literal
        bytearray(b"world"),
        b" UID 42)",
        b"3 FETCH (UID 43 FLAGS (\\Seen))",  # no body: not reported
        b"UID FETCH completed",
    ]
    assert _bodies_from_fetch(lines) == {41: b"hello", 42: b"world"}


def test_sizes() -> None:
    lines = [b"1 FETCH (UID 41 RFC822.SIZE 1200)", b"2 FETCH (RFC822.SIZE 30 UID 42)", b"junk"]
    assert _sizes_from_fetch(lines) == {41: 1200, 42: 30}
