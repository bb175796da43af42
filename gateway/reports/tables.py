"""Report tables written as CSV or XLSX, safe to open in a spreadsheet.

* CSV is UTF-8 with a byte-order mark, so Excel reads Indonesian text right.
* Formula injection (OWASP "CSV injection"): a text cell starting with
  ``=``, ``+``, ``-``, ``@``, tab or carriage return is what a spreadsheet
  would run as a formula — complainants write these cells, so in CSV such a
  cell gets a leading apostrophe, and in XLSX it is stored as text with
  Excel's own quote prefix (the text itself is kept exactly).
* Dates and times are office-local: ``YYYY-MM-DD HH:MM`` in CSV, real date
  cells in XLSX.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

#: What one table cell may hold.
Cell = str | int | float | date | datetime | None

#: First characters a spreadsheet treats as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table: ``headers`` and ``rows`` of the same width."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def neutralise(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return value


def to_csv(tables: Sequence[Table], *, titles: bool | None = None) -> bytes:
    """The tables as one CSV file (UTF-8 with BOM).

    With ``titles`` (default: when there is more than one table) each table
    starts with a line holding its title and is followed by an empty line.
    """
    titled = len(tables) > 1 if titles is None else titles
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for table in tables:
        if titled:
            writer.writerow([neutralise(table.title)])
        writer.writerow([neutralise(h) for h in table.headers])
        for row in table.rows:
            writer.writerow([_csv_cell(v) for v in row])
        if titled:
            writer.writerow([])
    return ("\ufeff" + buffer.getvalue()).encode()


def sheet_title(title: str, taken: set[str]) -> str:
    """An Excel sheet name for ``title``: at most 31 characters, no ``[]:*?/\\``, unique."""
    base = _SHEET_FORBIDDEN.sub(" ", title).strip().strip("'")[:31] or "Sheet"
    name, number = base, 2
    while name.lower() in taken:
        suffix = f" ({number})"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    taken.add(name.lower())
    return name


def to_xlsx(tables: Sequence[Table], *, widths: Sequence[float] = ()) -> bytes:
    """The tables as an XLSX workbook, one sheet per table, bold frozen header row.

    ``widths`` optionally gives column widths (characters) for every sheet.
    Text cells are always text, never formulas (see the module docstring).
    """
    # openpyxl is loaded on the first XLSX download, not by every process start.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    for table in tables:
        sheet = workbook.create_sheet(sheet_title(table.title, taken))
        sheet.append([_xlsx_value(h) for h in table.headers])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            _as_text(cell)
        for row in table.rows:
            sheet.append([_xlsx_value(v) for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    _as_text(cell)
                elif isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
    if not tables:
        workbook.create_sheet("Sheet")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: Cell) -> Cell:
    # Loaded with the workbook (see to_xlsx), never at import.
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones: office-local wall time
    if isinstance(value, str):
        return str(ILLEGAL_CHARACTERS_RE.sub("", value))  # control characters XLSX cannot hold
    return value


def _as_text(cell: Any) -> None:
    value = cell.value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
