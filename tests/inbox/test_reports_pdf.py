"""The printable complaint-handling and CAPA forms (PDF, docs/records.md).

The PDFs embed DejaVu Sans as a Unicode subset, so their text is glyph ids;
:func:`pdf_text` reads it back through each font's ToUnicode map — enough of
a PDF text extractor for what fpdf2 writes.
"""

from __future__ import annotations

import re
import zlib

from tests.inbox.conftest import Site
from tests.inbox.reports_seed import CAPA, seed_november

_OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
#: Where a stream's bytes begin; exactly ``/Length`` of them follow. (Compressed
#: bytes may end in a carriage return: a pattern up to "endstream" would eat it.)
_STREAM = re.compile(rb"stream\r?\n")
_LENGTH = re.compile(rb"/Length (\d+)")
_TOKENS = re.compile(rb"/(F\d+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return _ESCAPES.get(code, code)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def _to_unicode(cmap: bytes) -> dict[int, str]:
    table: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for glyph, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(glyph, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, start in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            for offset in range(int(hi, 16) - int(lo, 16) + 1):
                table[int(lo, 16) + offset] = chr(int(start, 16) + offset)
    return table


def pdf_text(data: bytes) -> str:
    """The text shown by ``Tj`` operators, in order, with runs of white space as one space
    (so text wrapped inside a table cell reads as one phrase)."""
    objects = {int(n): body for n, body in _OBJECT.findall(data)}

    def stream(body: bytes) -> bytes:
        found = _STREAM.search(body)
        assert found is not None
        length = _LENGTH.search(body, 0, found.start())
        assert length is not None
        raw = body[found.end() : found.end() + int(length.group(1))]
        return zlib.decompress(raw) if b"/FlateDecode" in body[: found.start()] else raw

    fonts: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for name, ref in re.findall(rb"/(F\d+)\s+(\d+) 0 R", body):
            font = objects[int(ref)]
            descendant = re.search(rb"/ToUnicode\s+(\d+) 0 R", font)
            if descendant:
                fonts[name] = _to_unicode(stream(objects[int(descendant.group(1))]))
    lines: list[str] = []
    for body in objects.values():
        if b"stream" not in body or b"/Length" not in body:
            continue
        content = stream(body)
        if b" Tj" not in content:
            continue
        font: dict[int, str] = {}
        for name, literal in _TOKENS.findall(content):
            if name:
                font = fonts.get(name, {})
                continue
            raw = _unescape(literal)
            glyphs = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
            lines.append("".join(font.get(g, "?") for g in glyphs))
    return " ".join(" ".join(lines).split())


async def test_the_handling_form_prints_identity_steps_and_result(site: Site) -> None:
    seeded = await seed_november(site)
    await site.sign_in("sri")
    response = await site.client.get(f"/inbox/complaints/{seeded.a.lower()}/form.pdf")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="formulir-penanganan-keluhan_{seeded.a}.pdf"'
    )
    data = await response.read()
    assert data.startswith(b"%PDF-") and len(data) > 1024
    text = pdf_text(data)
    for expected in (
        "Sekretariat Pelayanan Informasi Publik",
        "Formulir Penanganan Keluhan",
        f"Nomor pengaduan: {seeded.a}",
        "Ani Lestari",
        "@PT Sinar Jaya",
        "Penerimaan otomatis (Email)",
        "2 Nov 2026 09.00",  # receipt, office time
        "Verifikasi data pelanggan",  # the steps, by their profile labels …
        "Informasikan hasil dan tutup",
        "4 Nov 2026 10.20",  # … with their dates
        "Sri (sri)",  # … and actors
        "Tono (tono)",  # the assignee
        "Laporan sudah dikirim ulang.",  # the result
        "Dicetak",
    ):
        assert expected in text, expected


async def test_the_capa_form_prints_the_recorded_form(site: Site) -> None:
    seeded = await seed_november(site)
    await site.sign_in("sri")
    response = await site.client.get(f"/inbox/complaints/{seeded.a}/capa.pdf")
    assert response.status == 200
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="formulir-tindakan-koreksi_{seeded.a}.pdf"'
    )
    text = pdf_text(await response.read())
    assert "Formulir Tindakan Koreksi dan Pencegahan" in text and seeded.a in text
    for label in ("Penyebab", "Tindakan korektif", "Pemeriksaan efektivitas", "Penanggung jawab"):
        assert label in text
    for value in CAPA.values():
        assert value in text, value
    assert "Tono (tono)" in text  # who recorded it
    blank = pdf_text(await (await site.client.get(f"/inbox/complaints/{seeded.c}/capa.pdf")).read())
    assert "Belum dicatat" in blank and CAPA["cause"] not in blank


async def test_forms_follow_the_page_language(site: Site) -> None:
    seeded = await seed_november(site)
    await site.sign_in("sri")
    data = await (await site.client.get(f"/inbox/complaints/{seeded.b}/form.pdf?lang=en")).read()
    text = pdf_text(data)
    assert "Complaint handling form" in text and "Tracking number: " + seeded.b in text
    assert "sertifikat hilang <script>alert(1)</script> di kantor" in text  # printed as text


async def test_forms_are_only_for_complaints_the_viewer_may_see(site: Site) -> None:
    seeded = await seed_november(site)
    await site.sign_in("tono")  # an officer: only the team's assigned complaints
    assert (await site.client.get(f"/inbox/complaints/{seeded.a}/form.pdf")).status == 200
    assert (await site.client.get(f"/inbox/complaints/{seeded.d}/capa.pdf")).status == 200
    for path in (
        f"/inbox/complaints/{seeded.c}/form.pdf",  # not assigned: not visible
        f"/inbox/complaints/{seeded.c}/capa.pdf",
        "/inbox/complaints/ADU-1999-00001/form.pdf",
    ):
        assert (await site.client.get(path)).status == 404, path
