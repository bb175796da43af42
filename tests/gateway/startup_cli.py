"""Running the installed ``aduan`` command in a clean environment (start-up tests)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def aduan_command() -> list[str]:
    """The console script next to this Python (``.venv/bin/aduan``), or its ``main``."""
    script = Path(sys.executable).parent / "aduan"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from gateway.cli import main; raise SystemExit(main())"]


def clean_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The test process's environment without any ``ADUAN_*``, plus ``settings``
    (data under ``data_dir``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env["ADUAN_DATA_DIR"] = str(data_dir)
    env.update(settings)
    return env


@dataclass(frozen=True)
class Ran:
    """A finished command: exit code and its two streams as text."""

    code: int
    out: str
    err: str

    def err_lines(self) -> list[str]:
        """Standard error's non-empty lines."""
        return [line for line in self.err.splitlines() if line.strip()]


def run_aduan(cwd: Path, env: dict[str, str], *args: str, timeout: float = 60) -> Ran:
    """Run ``aduan args`` in ``cwd`` (no ``.env`` there) and wait for it."""
    done = subprocess.run(
        [*aduan_command(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


async def run_aduan_async(cwd: Path, env: dict[str, str], *args: str, timeout: float = 60) -> Ran:
    """:func:`run_aduan` without blocking the event loop (fakes served by this
    test's loop keep answering)."""
    proc = await asyncio.create_subprocess_exec(
        *aduan_command(),
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())
