"""Printable forms as PDF (docs/records.md): the complaint-handling form and the
CAPA form (BBSPJIKFK 5.1.11, Formulir Tindakan Koreksi dan Pencegahan).

A form is data (:class:`PrintedForm`: the office, a title, sections of
label/value fields or tables, signature boxes); :func:`render_pdf` lays it
out on A4 with fpdf2. Text is set in DejaVu Sans, a Unicode TrueType font
(Debian package ``fonts-dejavu-core``) embedded as a subset, so any
complainant text prints as written; the texts themselves are translated by
the caller (:mod:`gateway.reports.texts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

#: Where Debian (fonts-dejavu-core) and other distributions put DejaVu Sans.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FONT = "DejaVu"
#: Shown for an empty value, so a printed blank is visibly blank.
EMPTY = "–"


class FontMissing(RuntimeError):
    """DejaVu Sans is not installed (Debian: ``apt-get install fonts-dejavu-core``)."""


@cache
def font_files() -> dict[str, Path]:
    """Style (``""``/``"B"``) → path of the DejaVu Sans files; raises :class:`FontMissing`."""
    for folder in FONT_DIRS:
        found = {style: folder / name for style, name in FONT_FILES.items()}
        if all(path.is_file() for path in found.values()):
            return found
    raise FontMissing(
        "DejaVu Sans not found in " + ", ".join(map(str, FONT_DIRS)) + "; install fonts-dejavu-core"
    )


@dataclass(frozen=True, slots=True)
class Fields:
    """A section of label/value pairs (a value may span several lines)."""

    heading: str
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Grid:
    """A section holding a table; ``widths`` are relative column widths, ``empty`` the
    line printed when there are no rows."""

    heading: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]
    empty: str


Section = Fields | Grid


@dataclass(frozen=True, slots=True)
class PrintedForm:
    """Everything printed on a form; every text already in the reader's language.

    ``reference`` (e.g. the tracking number) is printed under the title and
    goes into the document title; ``signatures`` are the captions of the
    signature boxes at the end; ``footer`` is printed on every page with the
    page number.
    """

    office: str
    unit: str
    title: str
    reference: str
    sections: tuple[Section, ...]
    signatures: tuple[str, ...]
    footer: str
    language: str = "id"


class _FormPDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, size=8)
        self.set_text_color(80)
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0)


def _text(value: str) -> str:
    return value.strip() or EMPTY


def render_pdf(form: PrintedForm, *, compress: bool = True) -> bytes:
    """The form as a PDF document (A4, portrait).

    Raises :class:`FontMissing` when DejaVu Sans is not installed.
    """
    pdf = _FormPDF(format="A4")
    pdf.footer_text = form.footer
    pdf.set_compression(compress)
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=20)
    for style, path in font_files().items():
        pdf.add_font(FONT, style, str(path))
    pdf.set_title(f"{form.title} {form.reference}")
    pdf.set_author(form.office)
    pdf.set_creator("aduan")
    pdf.set_lang(form.language)
    pdf.add_page()
    _header(pdf, form)
    for section in form.sections:
        _heading(pdf, section.heading)
        if isinstance(section, Fields):
            _fields(pdf, section)
        else:
            _grid(pdf, section)
    if form.signatures:
        _signatures(pdf, form.signatures)
    return bytes(pdf.output())


def _header(pdf: FPDF, form: PrintedForm) -> None:
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(0, 6, form.office, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if form.unit:
        pdf.set_font(FONT, size=10)
        pdf.multi_cell(0, 5, form.unit, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_line_width(0.2)
    pdf.ln(4)
    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(0, 8, form.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=11)
    pdf.multi_cell(0, 6, form.reference, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9.5)


def _fields(pdf: FPDF, section: Fields) -> None:
    bold = FontFace(emphasis="BOLD")
    with pdf.table(
        col_widths=(32, 68),
        first_row_as_headings=False,
        text_align="LEFT",
        v_align="TOP",
        line_height=5,
        padding=1.5,
    ) as table:
        for label, value in section.rows:
            row = table.row()
            row.cell(label, style=bold)
            row.cell(_text(value))
    pdf.ln(2)


def _grid(pdf: FPDF, section: Grid) -> None:
    if not section.rows:
        pdf.multi_cell(0, 6, section.empty, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    with pdf.table(
        col_widths=section.widths,
        text_align="LEFT",
        v_align="TOP",
        line_height=5,
        padding=1.5,
        headings_style=FontFace(emphasis="BOLD", fill_color=235),
        repeat_headings=1,
    ) as table:
        table.row(list(section.headers))
        for values in section.rows:
            table.row([_text(v) for v in values])
    pdf.ln(2)


def _signatures(pdf: FPDF, captions: Sequence[str]) -> None:
    pdf.ln(6)
    if pdf.will_page_break(36):
        pdf.add_page()
    pdf.set_font(FONT, size=10)
    with pdf.table(
        borders_layout=TableBordersLayout.NONE,
        first_row_as_headings=False,
        text_align="CENTER",
        line_height=5,
    ) as table:
        table.row(list(captions))
        table.row([""] * len(captions), min_height=24)
        table.row(["(" + "." * 40 + ")"] * len(captions))
