"""Browser fixtures: Debian's headless Chromium (Playwright's async API) and a served app.

Every test in ``tests/browser/`` gets the ``browser`` marker (``pytest -m "not
browser"`` leaves them out). Playwright's own browser downloads are never used:
Chromium is always ``/usr/bin/chromium`` (Debian's ``chromium`` package, which
``.ci/run`` installs), or the file named by ``ADUAN_TEST_CHROMIUM``. When it is
missing the tests skip, or fail with ``ADUAN_REQUIRE_SERVICES=1``
(``ADUAN_TEST_CHROMIUM=/nonexistent`` shows that).

Fixtures (all function-scoped, in the test's own event loop; launching
Chromium takes well under a second, a new context and page about 0.2 s):

``chromium``
    A launched headless :class:`~playwright.async_api.Browser`.
``live_server``
    A :class:`LiveServer`: the real application (:func:`gateway.app.create_app`)
    on ``127.0.0.1`` and a free port, on a fresh migrated SQLite database in
    ``tmp_path``, with recording email and SMS channels. :func:`serve` starts
    one with other settings (e.g. ``sop_profile="bbspjikkp"``).
``open_page``
    An :class:`OpenPage` factory: ``await open_page("/track", viewport=PHONE)``
    gives a page in a new browser context (locale ``id-ID``, time zone
    Asia/Jakarta, ``base_url`` = the live server) already at that path. At
    teardown the test fails if any page logged a console error (a blocked
    inline script, a failed resource, …) or threw an uncaught error.
``phone_page`` / ``desktop_page``
    ``open_page("/")`` at 375×740 (mobile, touch) / 1280×800.

A staff-side test signs in as an account made with :meth:`LiveServer.add_staff`
(each ``open_page`` call is a separate browser context, so two staff members
can work side by side; the labels are whatever the sign-in page shows)::

    async def test_inbox(live_server: LiveServer, open_page: OpenPage) -> None:
        await live_server.add_staff("sri", "secretariat", password="rahasia-sekali")
        page = await open_page("/login", viewport=DESKTOP)
        await page.get_by_label("Nama pengguna").fill("sri")
        await page.get_by_label("Kata sandi").fill("rahasia-sekali")
        await page.get_by_role("button", name="Masuk").click()
        ...
        await live_server.settle()  # then assert on live_server.sent_to("budi@example.com")
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError

from channels.base import OutboundMessage
from gateway.app import create_app
from gateway.passwords import hash_password
from gateway.runtime import Runtime
from storage.models import StaffUser
from tests.browser.signing_in import PASSWORD
from tests.fakes import RecordingChannel
from tests.runtime_fixtures import Harness, make_harness
from tests.services import unavailable

#: Debian's Chromium; ``ADUAN_TEST_CHROMIUM`` names another executable.
CHROMIUM = os.environ.get("ADUAN_TEST_CHROMIUM", "/usr/bin/chromium")

#: A small phone (the public pages work at 375 px) and a desktop screen.
PHONE: ViewportSize = {"width": 375, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}

#: How long a Playwright action or ``expect`` waits before failing, in ms.
TIMEOUT_MS = 10_000

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under ``tests/browser/`` with ``browser``."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


# ------------------------------------------------------------------ Chromium


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; skips (or fails when required) without it."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    # Chromium refuses its sandbox as root (CI runs as root).
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=args
        )
        try:
            yield browser
        finally:
            await browser.close()


# --------------------------------------------------------------- live server


@dataclass
class LiveServer:
    """The application served on ``url`` with its runtime and recording channels."""

    url: str
    harness: Harness

    @property
    def runtime(self) -> Runtime:
        return self.harness.runtime

    @property
    def email(self) -> RecordingChannel:
        """The email channel: what it was asked to send is in ``.sent``."""
        return self.harness.email

    @property
    def sms(self) -> RecordingChannel:
        """The SMS channel: what it was asked to send is in ``.sent``."""
        return self.harness.sms

    async def settle(self) -> None:
        """Wait until every background job has run and the outbox is drained."""
        await self.harness.settle()

    def sent_to(self, address: str) -> list[OutboundMessage]:
        """Messages sent to ``address`` on the email or SMS channel, oldest first."""
        return [m for m in (*self.email.sent, *self.sms.sent) if m.recipient == address]

    async def add_staff(
        self,
        username: str,
        role: str,
        *,
        password: str = PASSWORD,
        full_name: str | None = None,
        email: str | None = None,
    ) -> int:
        """Create an active staff account (as ``aduan user add`` does); returns its id."""
        user = StaffUser(
            username=username,
            full_name=full_name or username.title(),
            email=email,
            role=role,
            password_hash=hash_password(password),
        )
        async with self.runtime.sessions() as session, session.begin():
            session.add(user)
        return user.id


@asynccontextmanager
async def serve(tmp_path: Path, **settings: Any) -> AsyncIterator[LiveServer]:
    """Serve the application on a free port of 127.0.0.1 until the block ends.

    ``settings`` override :func:`gateway.config.load_settings` (the database is
    always a fresh SQLite file in ``tmp_path``; ``public_url`` is the server's).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        # A form may be sent at once after loading (Playwright fills it in no
        # time); the minimum form age is tested over HTTP (tests/web/test_abuse.py).
        defaults = {"public_url": url, "http_host": "127.0.0.1", "http_port": port}
        settings = defaults | {"form_min_seconds": 0} | settings
        harness = await make_harness(tmp_path, **settings)
    except BaseException:
        sock.close()
        raise
    app = create_app(harness.runtime.settings, runtime=harness.runtime, run_channels=False)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        yield LiveServer(url, harness)
    finally:
        await runner.cleanup()
        await harness.runtime.close()
        sock.close()


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The application with the default profile, served on a free local port."""
    async with serve(tmp_path) as server:
        yield server


# --------------------------------------------------------------------- pages


@dataclass
class PageProblems:
    """Console errors and uncaught page errors seen by the pages of one test.

    ``allowed`` holds regular expressions of console errors the test expects
    (read when a message arrives, so patterns added later apply at once).
    """

    allowed: list[re.Pattern[str]] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    watched: list[Page] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        """Record ``page``'s console errors and uncaught errors (once per page)."""
        if any(page is seen for seen in self.watched):
            return
        self.watched.append(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            where = message.location.get("url", "") if message.location else ""
            if any(p.search(message.text) for p in self.allowed):
                return
            self.found.append(f"console error at {where or page.url}: {message.text}")

        def on_page_error(error: PlaywrightError) -> None:
            self.found.append(f"uncaught error at {page.url}: {error.message}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)


@dataclass
class Screenshots:
    """Saves a full-page PNG of every page a test loads, to look at afterwards.

    Each load of a page (navigation, form post, redirect) is shot once it has
    loaded, and every page once more as the test leaves it, as
    ``<folder>/<nn>-<path>.png``. The folder is ``ADUAN_SCREENSHOTS/<test>``
    when that variable is set, else ``screenshots/`` in the test's tmp_path.
    A shot that fails (the page navigated away meanwhile) is skipped.
    """

    folder: Path
    count: int = 0
    pending: list[asyncio.Task[None]] = field(default_factory=list)
    watched: list[Page] = field(default_factory=list)

    def _path(self, page: Page) -> Path:
        self.count += 1
        where = page.url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        slug = re.sub(r"[^A-Za-z0-9]+", "-", where).strip("-") or "home"
        return self.folder / f"{self.count:02d}-{slug[:60]}.png"

    async def shoot(self, page: Page) -> None:
        """One full-page screenshot of ``page`` as it is now."""
        if page.is_closed():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(PlaywrightError):
            await page.screenshot(path=str(self._path(page)), full_page=True)

    def watch(self, page: Page) -> None:
        """Shoot ``page`` after each load (once per page, however often it is watched)."""
        if any(page is seen for seen in self.watched):
            return
        self.watched.append(page)
        page.on("load", lambda loaded: self.pending.append(asyncio.create_task(self.shoot(loaded))))

    async def finish(self, pages: list[Page]) -> None:
        """Wait for the shots in flight, then shoot every page as it is left."""
        await asyncio.gather(*self.pending, return_exceptions=True)
        self.pending.clear()
        for page in pages:
            await self.shoot(page)


@dataclass
class OpenPage:
    """Opens pages on the live server in new Chromium contexts (see the module docstring)."""

    browser: Browser
    server: LiveServer
    problems: PageProblems
    screenshots: Screenshots | None = None
    contexts: list[BrowserContext] = field(default_factory=list)

    async def __call__(
        self,
        path: str | None = "/",
        *,
        viewport: ViewportSize = PHONE,
        locale: str = "id-ID",
    ) -> Page:
        """A new page (its own cookies) at ``path`` (``None``: not navigated yet)."""
        mobile = viewport["width"] < 600
        context = await self.browser.new_context(
            viewport=viewport,
            locale=locale,
            timezone_id="Asia/Jakarta",
            is_mobile=mobile,
            has_touch=mobile,
            base_url=self.server.url,
        )
        self.contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        # Every page of the context is watched: this one and any it opens.
        context.on("page", self.problems.watch)
        if self.screenshots is not None:
            context.on("page", self.screenshots.watch)
        page = await context.new_page()
        self.problems.watch(page)
        if self.screenshots is not None:
            self.screenshots.watch(page)
        if path is not None:
            await page.goto(path)
        return page

    def allow_console(self, *patterns: str | re.Pattern[str]) -> None:
        """Expect console errors matching these regular expressions from now on.

        Chromium logs an error status of the page itself too: a test that
        sends a form it expects refused declares ``allow_console("status of 422")``.
        """
        self.problems.allowed.extend(re.compile(p) if isinstance(p, str) else p for p in patterns)

    async def close(self) -> None:
        if self.screenshots is not None:
            await self.screenshots.finish([p for c in self.contexts for p in c.pages])
        for context in self.contexts:
            await context.close()
        self.contexts.clear()


def screenshot_folder(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where one test's screenshots go (see :class:`Screenshots`)."""
    root = os.environ.get("ADUAN_SCREENSHOTS")
    if not root:
        return tmp_path / "screenshots"
    return Path(root) / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)


@pytest.fixture
async def open_page(
    chromium: Browser, live_server: LiveServer, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[OpenPage]:
    """Page factory; fails the test if a page logged a console error or threw.

    Every page it opens is photographed (:class:`Screenshots`).
    """
    problems = PageProblems()
    opener = OpenPage(
        chromium, live_server, problems, Screenshots(screenshot_folder(request, tmp_path))
    )
    try:
        yield opener
    finally:
        await opener.close()
    if problems.found:
        pytest.fail("the browser reported errors:\n  " + "\n  ".join(problems.found), pytrace=False)


@pytest.fixture
async def phone_page(open_page: OpenPage) -> Page:
    """The complaint form at 375×740 (a small phone)."""
    return await open_page("/", viewport=PHONE)


@pytest.fixture
async def desktop_page(open_page: OpenPage) -> Page:
    """The complaint form at 1280×800."""
    return await open_page("/", viewport=DESKTOP)


# ------------------------------------------------------------------ helpers


async def assert_no_horizontal_scroll(page: Page) -> None:
    """The page fits its viewport's width: nothing to scroll sideways.

    Also checks the layout is the device width (``<meta name="viewport">``
    honoured), so a zoomed-out page cannot pass by being wide.
    """
    viewport = page.viewport_size
    assert viewport is not None
    sizes: dict[str, int] = await page.evaluate(
        "() => ({scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth})"
    )
    assert sizes["inner"] == viewport["width"], sizes
    assert sizes["scroll"] <= sizes["inner"], f"horizontal scrolling at {page.url}: {sizes}"
