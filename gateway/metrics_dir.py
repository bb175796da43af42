"""Metric files shared by the ``aduan serve`` and ``aduan worker`` processes of one host.

prometheus-client's multiprocess mode: every process writes its counters and
histograms to memory-mapped files ``<kind>_<pid>.db`` in one directory
(``ADUAN_METRICS_DIR``, default ``<data dir>/metrics``), and ``/metrics`` of
any ``aduan serve`` on the host adds up all the files. Processes on another
host have their own directory, so each host needs its own scrape
(docs/observability.md, "Several processes").

A process that ended leaves its files behind. At start, :func:`fold_dead`
adds the files of dead processes into one file per kind
(``counter_dead.db``, ``histogram_dead.db``) and deletes them, so the
directory does not grow with every restart and the totals never go
backwards (a counter that drops looks like a reset to Prometheus). Gauge
files of dead processes are deleted (a dead process has no current value).
The fold runs under an exclusive ``flock`` on ``<dir>/.lock``, so processes
starting together never add a file twice.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from prometheus_client import values
from prometheus_client.mmap_dict import MmapedDict

#: The variable prometheus-client reads to find the shared directory.
ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The pid part of the files that hold the totals of dead processes.
DEAD = "dead"


def shared_directory() -> Path | None:
    """The directory this process shares its metrics in, or ``None`` (single process)."""
    found = os.environ.get(ENV)
    return Path(found) if found else None


def enable_multiprocess(directory: Path) -> int:
    """Share this process's metrics in ``directory`` from now on; returns how many
    files of dead processes were folded or removed (:func:`fold_dead`).

    Must run before the first sample is recorded (the module-level instruments
    of :mod:`gateway.metrics` have labels, so none holds a value yet).

    Raises:
        OSError: the directory cannot be created or written (the caller names
            ``ADUAN_METRICS_DIR``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"{directory} is not writable")
    folded = fold_dead(directory)
    os.environ[ENV] = str(directory)
    values.ValueClass = values.get_value_class()
    return folded


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _add_into(target: Path, source: Path) -> None:
    archive = MmapedDict(str(target))
    try:
        for key, value, timestamp, _pos in MmapedDict.read_all_values_from_file(str(source)):
            current, _ = archive.read_value(key)
            archive.write_value(key, current + value, timestamp)
    finally:
        archive.close()


def fold_dead(directory: Path) -> int:
    """Fold the counter and histogram files of dead processes in ``directory``
    into ``<kind>_dead.db`` and delete them; delete their gauge files. Returns
    how many files were handled. Files of living processes are left alone."""
    handled = 0
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for path in sorted(directory.glob("*.db")):
                kind, _, pid = path.stem.rpartition("_")
                if not kind or not pid.isdigit() or _alive(int(pid)):
                    continue
                if not kind.startswith("gauge"):
                    _add_into(directory / f"{kind}_{DEAD}.db", path)
                path.unlink()
                handled += 1
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return handled
