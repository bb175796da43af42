"""Guessing whether a complainant writes Indonesian or English.

Replies are Indonesian unless the complainant clearly writes English
(docs/intake.md). The guess counts common function words of each language;
ties and short texts stay Indonesian.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-zA-Z']+")

_ENGLISH = frozenset(
    """the a an and or but is are was were be been i my me we our you your he she it they
    this that with for from of to in on at by not no yes please hello hi dear thanks thank
    would could should have has had do does did am can will report complaint about regarding
    name company late delayed problem received sent help status cancel""".split()
)
_INDONESIAN = frozenset(
    """yang dan atau tetapi tapi adalah ini itu dengan untuk dari ke di pada oleh tidak tak
    ya saya kami kita anda bapak ibu pak bu mohon tolong terima kasih selamat pagi siang sore
    malam halo mau ingin sudah belum akan bisa dapat nama perusahaan laporan hasil uji
    terlambat keluhan aduan pengaduan komplain masalah minggu hari bulan kenapa mengapa
    bagaimana apa sampai juga lagi karena jadi kok dong nih sih gak ga nggak enggak""".split()
)


def detect_language(text: str, default: str = "id") -> str:
    """Return ``"en"`` when ``text`` is clearly English, else ``default`` (``"id"``).

    "Clearly" means at least two English function words and more English than
    Indonesian ones.
    """
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return default
    en = sum(1 for w in words if w in _ENGLISH)
    idn = sum(1 for w in words if w in _INDONESIAN)
    if en >= 2 and en > idn:
        return "en"
    if idn >= 1 and idn >= en:
        return "id"
    return default
