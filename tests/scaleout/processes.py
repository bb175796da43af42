"""The processes under test: ``aduan serve`` and ``aduan worker`` as real
subprocesses, and a private ``redis-server``.

Each :class:`Member` keeps one role (serve on its own port, or worker) across
restarts; every start writes its own log file, so what a process printed on its
way out (a traceback after SIGTERM) is kept. Exits the test did not cause are
recorded with the time, so "a worker exited while Redis was down" can be told.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.gateway.redis_instance import redis_server_command


def aduan_command() -> list[str]:
    """The installed ``aduan`` entry point beside this interpreter, else
    ``python -m gateway.cli``."""
    entry = Path(sys.executable).with_name("aduan")
    if entry.exists():
        return [str(entry)]
    return [sys.executable, "-m", "gateway.cli"]


@dataclass(frozen=True)
class Stopped:
    """How one incarnation of a process ended.

    ``cause`` is ``"sigterm"``, ``"sigkill"`` (the test's doing), ``"exit"``
    (on its own) or ``"shutdown"`` (end of the run). ``traceback`` is whether its
    log has a Python traceback after the signal was sent (errors it logged while
    running do not count); ``at`` is monotonic time (s).
    """

    name: str
    cause: str
    returncode: int | None
    traceback: bool
    at: float
    log: Path


@dataclass
class Member:
    """One serve or worker slot: started, killed and restarted by the test."""

    name: str
    args: list[str]
    env: dict[str, str]
    workdir: Path
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    starts: int = 0
    stopped: list[Stopped] = field(default_factory=list)
    _expected: str | None = None
    _signalled_at: int = 0

    def start(self) -> None:
        """Start a new incarnation (its log is ``<name>.<n>.log``)."""
        self.starts += 1
        self.log = self.workdir / f"{self.name}.{self.starts}.log"
        out = self.log.open("wb")
        self._expected = None
        self._signalled_at = 0
        self.proc = subprocess.Popen(
            [*aduan_command(), *self.args],
            env=self.env,
            cwd=self.workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()

    @property
    def running(self) -> bool:
        """True while the current incarnation has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def _record(self, cause: str) -> Stopped:
        assert self.proc is not None and self.log is not None
        with self.log.open("rb") as f:
            f.seek(self._signalled_at)
            text = f.read().decode(errors="replace")
        done = Stopped(
            self.name, cause, self.proc.returncode, "Traceback" in text, time.monotonic(), self.log
        )
        self.stopped.append(done)
        self.proc = None
        return done

    def poll_exit(self) -> Stopped | None:
        """The record of an exit nobody asked for, once, or ``None``."""
        if self.proc is None or self.proc.poll() is None or self._expected is not None:
            return None
        return self._record("exit")

    def _mark(self) -> None:
        assert self.log is not None
        self._signalled_at = self.log.stat().st_size

    async def stop(self, sig: signal.Signals, *, timeout: float = 60.0) -> Stopped:
        """Send ``sig`` and wait (``timeout`` s, then SIGKILL) for the exit."""
        assert self.proc is not None
        cause = {signal.SIGTERM: "sigterm", signal.SIGKILL: "sigkill"}.get(sig, "shutdown")
        self._expected = cause
        self._mark()
        self.proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
            await asyncio.sleep(0.05)
        return self._record(cause)

    async def shutdown(self) -> None:
        """End of run: SIGTERM, then SIGKILL after 20 s."""
        if self.running:
            assert self.proc is not None
            self._expected = "shutdown"
            self._mark()
            self.proc.terminate()
            deadline = time.monotonic() + 20
            while self.proc.poll() is None:
                if time.monotonic() > deadline:
                    self.proc.kill()
                await asyncio.sleep(0.05)
            self._record("shutdown")


class RedisServer:
    """A private ``redis-server`` on its own port, without persistence: a stop
    loses every queued job, as losing a transport must be survivable."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.down_since: float | None = None
        self.outages: list[tuple[float, float]] = []

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start and wait until it answers PING."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            redis_server_command(binary, self.port, "--dir", str(self.workdir)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        for _ in range(200):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(b"PING\r\n")
                line = await reader.readline()
                writer.close()
                if line.startswith(b"+PONG"):
                    break
            except OSError:
                pass
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not start")
        if self.down_since is not None:
            self.outages.append((self.down_since, time.monotonic()))
            self.down_since = None

    async def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 10)
        except TimeoutError:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait)
        self.proc = None
        self.down_since = time.monotonic()

    def is_down_at(self, at: float) -> bool:
        """Whether Redis was stopped at monotonic time ``at``."""
        if self.down_since is not None and at >= self.down_since:
            return True
        return any(start <= at <= end for start, end in self.outages)


def environment(base: dict[str, str], **settings: str) -> dict[str, str]:
    """``base`` (usually ``os.environ`` without ``ADUAN_*``) plus ``ADUAN_<KEY>``
    for each keyword."""
    env = {k: v for k, v in base.items() if not k.startswith("ADUAN_")}
    env.update({f"ADUAN_{k.upper()}": v for k, v in settings.items()})
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def clean_environ() -> dict[str, str]:
    """This process's environment, as the base for the children."""
    return dict(os.environ)
