"""The embedded single-runner lock: refused to a second holder, handed over once
from ``aduan serve``'s early check to its runtime (docs/startup.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.embedded import EmbeddedLock, EmbeddedLockError


def test_a_second_lock_on_the_same_database_is_refused(tmp_path: Path) -> None:
    first = EmbeddedLock(tmp_path / "aduan.sqlite3")
    first.acquire()
    try:
        with pytest.raises(EmbeddedLockError):
            EmbeddedLock(tmp_path / "aduan.sqlite3").acquire()
    finally:
        first.release()
    again = EmbeddedLock(tmp_path / "aduan.sqlite3")
    again.acquire()  # free once released
    again.release()


def test_an_early_lock_is_handed_over_once(tmp_path: Path) -> None:
    early = EmbeddedLock(tmp_path / "aduan.sqlite3", hand_over=True)
    early.acquire()
    runtime = EmbeddedLock(tmp_path / "aduan.sqlite3")
    runtime.acquire()  # receives the early hold
    try:
        with pytest.raises(EmbeddedLockError):
            EmbeddedLock(tmp_path / "aduan.sqlite3").acquire()
        early.release()  # holds nothing any more: the lock stays
        with pytest.raises(EmbeddedLockError):
            EmbeddedLock(tmp_path / "aduan.sqlite3").acquire()
    finally:
        runtime.release()
    free = EmbeddedLock(tmp_path / "aduan.sqlite3")
    free.acquire()
    free.release()
