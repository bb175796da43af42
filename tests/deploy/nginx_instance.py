"""A private, unprivileged nginx built from deploy/nginx.conf, for tests.

:func:`site_config` turns the shipped site file into one for a test: the
listening ports, the upstream and the certificate paths replaced (each must be
found, so the shipped file cannot drift from what is tested), IPv6 listeners
dropped. :func:`run_nginx` wraps it in a main configuration whose pid file,
logs and temporary directories are all under the test's directory and runs
Debian's nginx (``/usr/sbin/nginx``, or ``ADUAN_TEST_NGINX``) in the
foreground until the block ends. Without nginx the test is skipped, or fails
with ``ADUAN_REQUIRE_SERVICES=1`` (tests/services.py).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.services import free_port, self_signed, unavailable

NGINX = os.environ.get("ADUAN_TEST_NGINX", "/usr/sbin/nginx")
OPENSSL = "openssl"
SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"

#: What the shipped site file names that a test must change.
HOST = "aduan.example.go.id"
CERT = f"/etc/letsencrypt/live/{HOST}/fullchain.pem"
KEY = f"/etc/letsencrypt/live/{HOST}/privkey.pem"
UPSTREAM = "server 127.0.0.1:8080;"

#: Seconds nginx may take to answer on its port after starting.
START_WAIT = 20.0


@dataclass(frozen=True)
class Nginx:
    """A running nginx: ``https_url``/``http_url`` on 127.0.0.1, its directory and certificate."""

    https_url: str
    http_url: str
    directory: Path
    certificate: Path

    def error_log(self) -> str:
        """nginx's error log so far (for assertion messages)."""
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def site_config(
    template: str, *, https_port: int, http_port: int, app_port: int, cert: Path, key: Path
) -> str:
    """The shipped site file with a test's ports, upstream and certificate (module docstring).

    Raises ``AssertionError`` when a line it replaces is not in ``template``.
    """
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        UPSTREAM: f"server 127.0.0.1:{app_port};",
        CERT: str(cert),
        KEY: str(key),
    }
    for old, new in replacements.items():
        assert old in template, f"deploy/nginx.conf no longer has {old!r}"
        template = template.replace(old, new)
    return template


def main_config(site: str, directory: Path) -> str:
    """A main nginx configuration around ``site`` keeping every file in ``directory``."""
    # As root the master would run workers as `nobody`, who cannot write the
    # test's private temporary directories: run them as the current user.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {directory / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} info;
events {{
    worker_connections 128;
}}
http {{
    access_log {directory / "access.log"};
{temp}
{site}
}}
"""


def _wait_for_port(port: int, process: subprocess.Popen[bytes], directory: Path) -> None:
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"nginx exited with {process.returncode}: "
                + (directory / "error.log").read_text(errors="replace")
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {port} within {START_WAIT} s")


def require_nginx() -> None:
    """Skip the test (fail it under ``ADUAN_REQUIRE_SERVICES=1``) without nginx or openssl."""
    if not (os.path.isfile(NGINX) and os.access(NGINX, os.X_OK)):
        unavailable("nginx", f"{NGINX} not found (apt-get install nginx)")
    if shutil.which(OPENSSL) is None:
        unavailable("openssl", "the openssl command is missing (apt-get install openssl)")


@contextmanager
def run_nginx(directory: Path, app_port: int) -> Iterator[Nginx]:
    """Run nginx with deploy/nginx.conf in front of ``127.0.0.1:app_port`` until the block ends."""
    require_nginx()
    directory.mkdir(parents=True, exist_ok=True)
    pair = self_signed(directory)
    assert pair is not None, "openssl could not make a self-signed certificate"
    cert, key = pair
    https_port, http_port = free_port(), free_port()
    site = site_config(
        SITE.read_text(),
        https_port=https_port,
        http_port=http_port,
        app_port=app_port,
        cert=cert,
        key=key,
    )
    conf = directory / "nginx.conf"
    conf.write_text(main_config(site, directory))
    command = [NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_port(https_port, process, directory)
        yield Nginx(
            https_url=f"https://127.0.0.1:{https_port}",
            http_url=f"http://127.0.0.1:{http_port}",
            directory=directory,
            certificate=cert,
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
