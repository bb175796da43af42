"""Server-rendered SVG bar charts for the recap (no JavaScript).

Each chart is an inline ``<svg role="img">`` labelled by its ``<title>`` and
described by its ``<desc>`` (WCAG 1.1.1: the numbers are also in the table
beside it). Bars are horizontal, each with its label above it and its value
after it, so a chart reads on a 375-px phone screen as well as on a desktop.
Colours come from classes styled in ``inbox-reports.css`` (the staff pages'
Content-Security-Policy allows no inline styles). The SVG is built with
ElementTree, so every label is escaped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

#: Drawing width in SVG user units (about CSS pixels on a phone).
WIDTH = 400
ROW_HEIGHT = 42
LABEL_HEIGHT = 16
BAR_HEIGHT = 16
#: Room after the longest bar for its value.
VALUE_ROOM = 70
_ID = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its ``label``, its ``value`` (≥ 0) and the value as shown (``text``)."""

    label: str
    value: float
    text: str


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    maximum: float | None = None,
) -> Markup:
    """An accessible horizontal bar chart as inline SVG markup.

    ``chart_id`` (lower-case letters, digits, ``-``) prefixes the element ids;
    ``maximum`` is the value of a full-width bar (default: the largest value;
    100 suits percentages). Raises ``ValueError`` for a bad ``chart_id`` or a
    negative value.
    """
    if not _ID.match(chart_id):
        raise ValueError(f"bad chart id {chart_id!r}")
    if any(bar.value < 0 for bar in bars):
        raise ValueError("bar values must not be negative")
    top = max([maximum or 0.0, *(bar.value for bar in bars)])
    height = max(len(bars), 1) * ROW_HEIGHT + 4
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": "chart",
            "viewBox": f"0 0 {WIDTH} {height}",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title",
            "aria-describedby": f"{chart_id}-desc",
            "id": chart_id,
        },
    )
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = description
    span = WIDTH - VALUE_ROOM
    for index, bar in enumerate(bars):
        y = index * ROW_HEIGHT
        group = ET.SubElement(svg, "g", {"class": "chart-row"})
        label = ET.SubElement(
            group, "text", {"x": "0", "y": str(y + LABEL_HEIGHT - 3), "class": "chart-label"}
        )
        label.text = bar.label
        width = 0.0 if top <= 0 else span * bar.value / top
        ET.SubElement(
            group,
            "rect",
            {
                "x": "0",
                "y": str(y + LABEL_HEIGHT + 2),
                "width": f"{max(width, 1.5 if bar.value > 0 else 0):.1f}",
                "height": str(BAR_HEIGHT),
                "class": f"chart-bar chart-bar-{index % 6}",
            },
        )
        value = ET.SubElement(
            group,
            "text",
            {
                "x": f"{width + 6:.1f}",
                "y": str(y + LABEL_HEIGHT + BAR_HEIGHT - 1),
                "class": "chart-value",
            },
        )
        value.text = bar.text
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704 - built by ElementTree, escaped
