"""Complainant content on the complaint page is inert, and attachments are
served safely (README.md, "Staff inbox")."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from html.parser import HTMLParser

from sqlalchemy import select

from channels.base import ChannelName
from channels.email.parse import parse_email
from gateway.queries.email_html import safe_email_html, sanitise_html
from storage.models import Attachment, Complaint, Message
from tests.inbox.conftest import Site
from tests.inbox.test_complaint_page import SRI, file_complaint, load, page

#: A 1×1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
HOSTILE_HTML = """<html><head><title>judul</title><style>body{display:none}</style></head>
<body onload="alert(0)"><p>Terima kasih, <b>laporan</b> saya lampirkan.</p>
<img src=x onerror="alert(1)"><img src="https://tracker.example/p.gif">
<a href="javascript:alert(2)">klik</a> <a href="https://bbspjikkp.example/hasil" target="_blank">hasil</a>
<script>alert(3)</script><iframe src="https://evil.example"></iframe>
<svg onload="alert(4)"></svg><form action="https://evil.example"><input name=x></form></body></html>"""


class Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


def hostile_email(max_attachment_bytes: int = 10_000) -> bytes:
    message = EmailMessage()
    message["From"] = "Budi <budi@example.com>"
    message["To"] = "pengaduan@kantor.example"
    message["Subject"] = "Pengaduan laporan uji"
    message["Message-ID"] = "<hostile-1@example.com>"
    message.set_content(
        "Nama: Budi Santoso\nPelanggan: PT Sinar Jaya\nMasalah: laporan hasil uji terlambat"
    )
    message.add_alternative(HOSTILE_HTML, subtype="html")
    message.add_attachment(PNG, maintype="image", subtype="png", filename="foto.png")
    message.add_attachment(
        b"<script>alert(5)</script>", maintype="text", subtype="html", filename="hasil.html"
    )
    message.add_attachment(
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(6)"/>',
        maintype="image",
        subtype="svg+xml",
        filename="gambar.svg",
    )
    message.add_attachment(
        b"x" * (max_attachment_bytes + 1),
        maintype="application",
        subtype="pdf",
        filename="besar.pdf",
    )
    return message.as_bytes()


async def file_hostile_email(site: Site) -> str:
    inbound = parse_email(
        hostile_email(), own_addresses=("pengaduan@kantor.example",), max_attachment_bytes=10_000
    )
    await site.h.runtime.accept(inbound)
    await site.h.settle()
    async with site.h.runtime.sessions() as s:
        message = await s.scalar(
            select(Message).where(Message.external_id == "hostile-1@example.com")
        )
        assert message is not None and message.complaint_id is not None
        complaint = await s.get(Complaint, message.complaint_id)
        assert complaint is not None
        return complaint.tracking_number


async def attachment_ids(site: Site) -> dict[str, int]:
    async with site.h.runtime.sessions() as s:
        rows = await s.execute(select(Attachment.filename, Attachment.id))
        return {name: id_ for name, id_ in rows}


def assert_inert(html: str) -> None:
    """No script but the page's own, no event handler, no javascript: URL, no remote image."""
    for tag, attrs in elements(html):
        assert tag not in ("iframe", "object", "embed", "svg", "base"), tag
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
        if tag == "img":
            assert (attrs.get("src") or "").startswith("/inbox/attachments/"), attrs
        if tag == "form":
            assert (attrs.get("action") or "").startswith("/inbox/"), attrs
        if tag == "a" and (attrs.get("href") or "").startswith("http"):
            assert attrs.get("rel") == "noopener noreferrer nofollow", attrs


def test_html_email_bodies_keep_only_basic_formatting() -> None:
    clean = sanitise_html(HOSTILE_HTML)
    assert "<b>laporan</b>" in clean and "Terima kasih" in clean
    assert "<img" not in clean and "<script" not in clean and "alert(3)" not in clean
    assert "onerror" not in clean and "onload" not in clean and "javascript:" not in clean
    assert "display:none" not in clean and "judul" not in clean and "<form" not in clean
    assert '<a href="https://bbspjikkp.example/hasil" rel="noopener noreferrer nofollow">' in clean
    kept = base64.b64encode(hostile_email()).decode()
    html = safe_email_html({"rfc822_b64": kept})
    assert html is not None and "<b>laporan</b>" in html
    assert safe_email_html({}) is None  # no copy kept: the text is shown
    assert safe_email_html({"rfc822_b64": "not base64!"}) is None


async def test_a_script_in_complaint_text_is_shown_as_text(site: Site) -> None:
    tracking = await file_complaint(
        site,
        ChannelName.WHATSAPP,
        "+6281234567890",
        name="Budi <img src=x onerror=alert(1)>",
        problem="<script>window.__x=1</script> laporan terlambat",
    )
    await site.sign_in("sri")
    body = await page(site, tracking)
    assert_inert(body)
    assert "&lt;script&gt;window.__x=1&lt;/script&gt;" in body
    assert "<script>window.__x" not in body


async def test_an_html_email_renders_inert_and_attachments_are_listed(site: Site) -> None:
    tracking = await file_hostile_email(site)
    ids = await attachment_ids(site)
    await site.sign_in("sri")
    body = await page(site, tracking)
    assert_inert(body)
    thread = body[body.index('id="thread"') : body.index('id="reply"')]
    assert "<b>laporan</b>" in thread  # the sanitised HTML body, formatting kept
    assert 'href="https://bbspjikkp.example/hasil"' in thread
    assert f'<img src="/inbox/attachments/{ids["foto.png"]}"' in thread
    for name in ("hasil.html", "gambar.svg"):  # listed as downloads, never previewed
        assert f'<a href="/inbox/attachments/{ids[name]}" download>{name}</a>' in thread
        assert f'<img src="/inbox/attachments/{ids[name]}"' not in thread
    assert "besar.pdf" in thread and "tidak disimpan" in thread


async def test_attachments_are_served_safely_to_those_who_may_see_them(site: Site) -> None:
    tracking = await file_hostile_email(site)
    ids = await attachment_ids(site)
    await site.sign_in("sri")

    image = await site.client.get(f"/inbox/attachments/{ids['foto.png']}")
    assert image.status == 200 and await image.read() == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline;")
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in image.headers["Content-Security-Policy"]
    assert "default-src 'none'" in image.headers["Content-Security-Policy"]

    for name in ("hasil.html", "gambar.svg"):
        download = await site.client.get(f"/inbox/attachments/{ids[name]}")
        assert download.status == 200, name
        assert download.headers["Content-Type"] == "application/octet-stream", name
        assert download.headers["Content-Disposition"].startswith("attachment;"), name
        assert f'filename="{name}"' in download.headers["Content-Disposition"]
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in download.headers["Content-Security-Policy"]

    assert (await site.client.get(f"/inbox/attachments/{ids['besar.pdf']}")).status == 404
    assert (await site.client.get("/inbox/attachments/99999")).status == 404

    # An officer sees only the team's complaints, so not this contact's files …
    site.client.session.cookie_jar.clear()
    await site.sign_in("tono")
    assert (await site.client.get(f"/inbox/attachments/{ids['foto.png']}")).status == 404
    # … until the complaint is assigned to the team.
    await site.h.runtime.staff.transition(tracking, "verify", SRI, {})
    await site.h.runtime.staff.transition(
        tracking, "route", SRI, {"category": "technical", "assignee": "rudi"}
    )
    assert (await site.client.get(f"/inbox/attachments/{ids['foto.png']}")).status == 200
    assert (await load(site, tracking)).assignee == "rudi"

    # Without a session there is nothing at all.
    site.client.session.cookie_jar.clear()
    anonymous = await site.client.get(
        f"/inbox/attachments/{ids['foto.png']}", allow_redirects=False
    )
    assert anonymous.status == 303
