"""The public pages are made for phones and load nothing remote.

Their texts are checked with every other text in tests/test_catalogues.py.
"""

from __future__ import annotations

import re

from gateway.web.templating import STATIC_DIR, TEMPLATES_DIR


def test_pages_are_made_for_phones() -> None:
    base = (TEMPLATES_DIR / "base.html").read_text(encoding="utf-8")
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in base
    css = (STATIC_DIR / "site.css").read_text(encoding="utf-8")
    # Nothing wider than a 375 px screen, long words wrap, inputs fit their box.
    widths = [int(n) for n in re.findall(r"(?:min-)?width:\s*(\d+)px", css)]
    assert all(w <= 320 for w in widths), widths
    assert "overflow-wrap: anywhere" in css
    assert "box-sizing: border-box" in css
    assert re.search(r"input\[type=\"text\"\][^{]*\{[^}]*width: 100%", css)
    # No web fonts or remote resources (the network is closed).
    assert "@import" not in css and "url(" not in css
    for path in TEMPLATES_DIR.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text, path.name
        assert "http://" not in text and "https://" not in text, path.name
