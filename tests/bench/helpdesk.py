"""django-helpdesk 2.6.1 as the email benchmark's reference (README "Benchmarks").

Installs django-helpdesk into its own virtual environment under
``var/bench/helpdesk-venv`` (once; ``pip install django-helpdesk==2.6.1``),
writes a minimal Django site (SQLite, the helpdesk app, mail kept in memory
so it sends nothing), configures one Queue that reads the benchmark's
Dovecot mailbox over plain IMAP, and times its management command
``get_email`` as a user would run it. django-helpdesk deletes each mail it
turned into a ticket, so the benchmark runs it after aduan's intake.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

VERSION = "2.6.1"

_SETTINGS = """\
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
HELPDESK_TEAMS_MODE_ENABLED = False  # no pinax-teams: knowledge-base teams are off
ROOT_URLCONF = "benchsite.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "helpdesk.sqlite3"}}
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "Asia/Jakarta"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "pengaduan@bspji.go.id"
MEDIA_ROOT = BASE_DIR / "media"
STATIC_URL = "/static/"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
LOGGING = {"version": 1, "disable_existing_loggers": False}
"""

_URLS = """\
from django.urls import include, path
urlpatterns = [path("", include("helpdesk.urls", namespace="helpdesk"))]
"""

_MANAGE = """\
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""

_QUEUE = """\
from helpdesk.models import Queue
Queue.objects.all().delete()
Queue.objects.create(
    title="Pengaduan", slug="pengaduan", email_address="pengaduan@bspji.go.id",
    allow_email_submission=True, email_box_type="imap", email_box_host={host!r},
    email_box_port={port}, email_box_ssl=False, email_box_user={user!r},
    email_box_pass={password!r}, email_box_imap_folder={folder!r}, email_box_interval=0,
    logging_type="none",
)
"""

_COUNT = """\
from helpdesk.models import Ticket
print("tickets", Ticket.objects.count())
"""


@dataclass(frozen=True)
class HelpdeskRun:
    """Wall time of ``manage.py get_email`` (seconds) and the tickets it created."""

    seconds: float
    tickets: int


def _venv(root: Path) -> Path:
    venv = root / "helpdesk-venv"
    python = venv / "bin" / "python"
    marker = venv / f".django-helpdesk-{VERSION}"
    if not marker.exists():
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"django-helpdesk=={VERSION}"],
            check=True,
        )
        marker.touch()
    return python


def _site(python: Path, site: Path) -> Path:
    (site / "benchsite").mkdir(parents=True, exist_ok=True)
    (site / "benchsite" / "__init__.py").write_text("")
    (site / "benchsite" / "settings.py").write_text(_SETTINGS)
    (site / "benchsite" / "urls.py").write_text(_URLS)
    manage = site / "manage.py"
    manage.write_text(_MANAGE)
    (site / "helpdesk.sqlite3").unlink(missing_ok=True)
    subprocess.run([str(python), str(manage), "migrate", "--verbosity", "0"], check=True, cwd=site)
    return manage


def run_get_email(
    root: Path, *, host: str, port: int, user: str, password: str, folder: str
) -> HelpdeskRun:
    """Set up (venv, site, queue) under ``root``, then time ``get_email`` once.

    Raises:
        subprocess.CalledProcessError: installing, migrating or the command failed.
    """
    root = root.resolve()
    python = _venv(root)
    site = root / "helpdesk-site"
    manage = _site(python, site)
    queue = _QUEUE.format(host=host, port=port, user=user, password=password, folder=folder)
    subprocess.run([str(python), str(manage), "shell", "-c", queue], check=True, cwd=site)
    started = time.perf_counter()
    subprocess.run(
        [str(python), str(manage), "get_email", "--quiet"],
        check=True,
        cwd=site,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    out = subprocess.run(
        [str(python), str(manage), "shell", "-c", _COUNT],
        check=True,
        cwd=site,
        capture_output=True,
        text=True,
    ).stdout
    tickets = int(out.split("tickets", 1)[1].split()[0])
    return HelpdeskRun(seconds=seconds, tickets=tickets)
