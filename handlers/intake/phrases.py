"""The words around a complaint: greetings, intent phrases, fillers, closings.

Each function looks at the start (or the whole) of one clause and says how
much of it is such a phrase, so :mod:`handlers.intake.reading` can cut it away
and keep the rest verbatim (docs/intake.md, "problem", rules 1, 3, 4 and 5).
"""

from __future__ import annotations

import re

from handlers.intake.lexicon import (
    CLOSING_STARTS,
    CLOSINGS,
    FILLERS,
    GREETINGS,
    INTENT_LINKS,
    INTENT_PHRASES,
    PINGS,
    VOCATIVES,
    alternation,
)

_END = r"(?=$|[\s,.;:!?)\-–—~/]|\W)"
_PARTICLES = r"(?:nih|nh|ni|ya|yah|yaa|dong|deh|sih|kok|lho|loh|ah|aja|saja|kak|ka|min|pak|bu|gan|sis|mas|mbak|bang|dulu|sebentar|bentar|dikit|sedikit|please|pls|plz)"
_EMOJI = r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]"
#: Possessive: ":)" and "🙏" match two ways, and a long run of them must not be
#: tried every way (it is always at the end of a pattern, so nothing is lost).
_PUNCT_TAIL = rf"(?:[\s,.;:!?~)\-–—]|{_EMOJI}|\^_?\^|:\)|:D|🙏)*+"

_GREETING = re.compile(
    rf"^\s*(?:{alternation(GREETINGS)}){_END}"
    r"(?:[\s,]*(?:wr\.?\s*,?\s*wb\.?|warahmatullahi?(?:\s+wabarakatuh)?|wabarakatuh))?"
    rf"(?:\s*(?:{alternation(VOCATIVES)}){_END})*{_PUNCT_TAIL}",
    re.IGNORECASE,
)
_VOCATIVE = re.compile(
    rf"^\s*(?:{alternation(VOCATIVES)})(?:\s+(?:{alternation(VOCATIVES)}))*\s*(?:[,!:~]|{_EMOJI}|$){_PUNCT_TAIL}",
    re.IGNORECASE,
)
_SUBJECT = (
    r"(?:(?:saya|sy|aku|aq|ak|gue|gua|gw|kami|kita|kula|kulo|abdi|i|we|i'd|i'll|we'd|im|i'm)\s+)"
)
_AUX = (
    r"(?:(?:juga|jg|cuma|cuman|hanya|sebenarnya|sebenernya|sbnrnya|disini|di\s+sini|ini|"
    r"dengan\s+ini|dgn\s+ini|melalui\s+(?:email|surat|pesan)\s+ini|lewat\s+(?:sini|wa|email)|"
    r"hereby|just|really|also|am|are|sangat|mohon|izin|ijin|permisi|maaf|mohon\s+maaf|"
    r"sekalian|sekaligus|lagi|mau\s+coba|coba)\s+)"
)
_MODAL = (
    r"(?:mau|mo|mw|maw|ma|ingin|pengen|pngen|pgn|pingin|kepingin|hendak|bermaksud|akan|"
    r"izin|ijin|minta\s+izin|mohon\s+izin|bisa(?:kah)?|boleh(?:kah)?|apakah\s+bisa|perlu|butuh|"
    r"badhe|ajeng|arep|bade|hoyong|"
    r"would\s+like\s+to|'d\s+like\s+to|d\s+like\s+to|like\s+to|want\s+to|wanna|wish\s+to|"
    r"need\s+to|am\s+writing\s+to|writing\s+to|write\s+to|hope\s+to|have\s+to|must|can|could|may)"
)
#: Verbs that announce a complaint by themselves ("lapor", "komplain").
_COMPLAINT_VERBS = (
    r"(?:lapor|melapor|ngelapor|laporin|ngelaporin|komplain|komplen|komplin|complain|mengeluh|"
    r"ngeluh|mengadu|ngadu|ngaduin|protes|curhat|sambat|ngadukeun)"
)
#: Verbs that need a modal first ("mau tanya", "want to report").
_MODAL_VERBS = (
    r"(?:melaporkan|mengadukan|ngadukan|report|nanya|tanya|bertanya|menanyakan|nanyain|matur|"
    r"konfirmasi|klarifikasi|inform\s+you|let\s+you\s+know|raise\s+(?:an?\s+)?(?:issue|concern)|"
    r"complain)"
)
#: Verbs that announce only with an object ("menyampaikan keluhan", "file a complaint").
_OBJECT_VERBS = (
    r"(?:menyampaikan|nyampein|nyampaikan|sampaikan|sampein|mengajukan|ngajuin|ajukan|ajuin|"
    r"membuat|bikin|buat|bkin|kasih|memberi|memberikan|mengirim|kirim|file|lodge|raise|make|"
    r"submit|express|share|give|send|bring\s+up|voice|register|ada|punya|have)"
)
_OBJECTS = (
    r"(?:(?:sebuah|satu|sedikit|beberapa|an?|my|our|formal|official|resmi)\s+)?"
    r"(?:keluhan|komplain|komplen|komplenan|pengaduan|aduan|laporan|masalah|kendala|kritik|"
    r"saran|masukan|kritik\s+dan\s+saran|unek-unek|uneg-uneg|complaints?|issues?|problems?|"
    r"concerns?|dissatisfaction|feedback|report|sesuatu|something|pertanyaan)"
)
_INTENT_TAIL = (
    r"(?:sedikit|dikit|ke\s+(?:bapak|ibu|bapak/ibu|kakak|admin|anda|sini)|kepada\s+\w+|"
    r"(?:to|with)\s+(?:you|your\s+\w+)|nih|ya|yah|dong|min|kak|pak|bu|sis|gan|mas|mbak|bang|"
    r"lagi|kembali|sebagai\s+berikut|sbb|disini|di\s+sini|here|ini|saya|kami|"
    r"secara\s+(?:resmi|tertulis)|formally|officially|today)"
)
_INTENT_CORE = (
    rf"(?:(?:{_MODAL}\s+)*{_COMPLAINT_VERBS}(?:\s+{_OBJECTS})?|"
    rf"(?:{_MODAL}\s+)+{_MODAL_VERBS}(?:\s+{_OBJECTS})?|"
    rf"(?:{_MODAL}\s+)*{_OBJECT_VERBS}\s+{_OBJECTS})"
)
_INTENT = re.compile(
    rf"^\s*(?:(?:jadi|jd|nah|oh|eh|maaf|mohon\s+maaf|sorry|permisi|izin|ijin|so)[\s,]+)?"
    rf"{_AUX}{{0,2}}{_SUBJECT}?{_AUX}{{0,3}}"
    rf"(?:{alternation(INTENT_PHRASES)}|{_INTENT_CORE}){_END}"
    rf"(?:\s+{_INTENT_TAIL}{_END})*"
    rf"(?:\s*[:,-]?\s*(?:{alternation(INTENT_LINKS)}){_END})?{_PUNCT_TAIL}",
    re.IGNORECASE,
)
#: Questions that only ask how to complain ("gmn caranya ngadu ya?").
_INTENT_QUESTION = re.compile(
    r"^\s*(?:(?:gmn|gimana|gmana|bagaimana|bgmn|gimna|how)\s+(?:sih\s+)?(?:cara(?:nya)?\s+|"
    r"do\s+i\s+|can\s+i\s+|to\s+)?|(?:apakah\s+|apa\s+)?(?:bisa|boleh|can\s+i|may\s+i|could\s+i|"
    r"is\s+it\s+possible\s+to|where\s+(?:can|do|should)\s+i|di\s*mana|dimana|kemana|ke\s+mana)\s+"
    r"(?:(?:saya|sy|aku|gue|kami)\s+)?(?:bisa\s+|mau\s+)?)"
    rf"(?:{_COMPLAINT_VERBS}|{_MODAL_VERBS}|{_OBJECT_VERBS}\s+{_OBJECTS}|(?:make|file|lodge|submit)\s+{_OBJECTS})"
    r"(?:\s+(?:di\s*sini|disini|dsni|di\s+sini|ke\s+sini|kesini|here|lewat\s+sini|"
    r"lewat\s+(?:wa|whatsapp|sms|email)|via\s+\w+|ya|yah|kak|min|pak|bu|gak|ga|nggak|tidak|nih|"
    r"sih|dong|ke\s+mana|kemana|where))*\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_FILLER = re.compile(
    rf"^\s*(?:{alternation(FILLERS)})(?:\s+(?:{alternation(VOCATIVES)}|{alternation(FILLERS)}))*\s*,\s*",
    re.IGNORECASE,
)
_CLOSING_TAIL = (
    rf"(?:{alternation(VOCATIVES)}|{_PARTICLES}|banyak|byk|bnyk|sebelumnya|sblmnya|"
    r"atas\s+\w+(?:\s+\w+){0,4}|for\s+\w+(?:\s+\w+){0,4}|in\s+advance|so\s+much|"
    r"very\s+much|a\s+lot|before|again|sekali|semuanya|all|dan\s+salam|wr\.?\s*wb\.?|"
    r"warahmatullahi\s+wabarakatuh)"
)
_CLOSING = re.compile(
    rf"^\s*(?:(?:sekali\s+lagi|once\s+again|dan|and|sebelumnya|sblmnya|before)\s+)?"
    rf"(?:{alternation(CLOSINGS)}){_END}"
    rf"(?:[\s,]*{_CLOSING_TAIL}{_END})*"
    rf"{_PUNCT_TAIL}$",
    re.IGNORECASE,
)
_CLOSING_START = re.compile(rf"^\s*(?:{alternation(CLOSING_STARTS)}){_END}", re.IGNORECASE)
_ONLY_PARTICLES = re.compile(
    rf"^\s*+(?:(?:{_PARTICLES}|{alternation(VOCATIVES)})\s*+)*{_PUNCT_TAIL}$", re.IGNORECASE
)


_PING = re.compile(rf"^\s*(?:{alternation(PINGS)})\s*[.!?]*\s*$", re.IGNORECASE)


def greeting_length(clause: str) -> int:
    """Length of the greeting (with vocatives) at the start of ``clause``, or of
    the whole clause when it is only a ping ("P", "tes"); 0 if none."""
    if _PING.match(clause):
        return len(clause)
    match = _GREETING.match(clause)
    return match.end() if match else 0


def vocative_length(clause: str) -> int:
    """Length of a vocative ("min,", "pak", "kak 🙏") at the start of ``clause``; 0 if none."""
    match = _VOCATIVE.match(clause)
    return match.end() if match else 0


def intent_length(clause: str) -> int:
    """Length of an intent phrase ("saya mau komplain soal") at the start of
    ``clause``, or of the whole clause when it only asks how to complain."""
    question = _INTENT_QUESTION.match(clause)
    if question:
        return question.end()
    match = _INTENT.match(clause)
    return match.end() if match else 0


def filler_length(clause: str) -> int:
    """Length of a leading filler up to its comma ("jadi gini min, "); 0 if none."""
    match = _FILLER.match(clause)
    return match.end() if match else 0


def is_closing(clause: str) -> bool:
    """Whether the whole clause is a closing formula ("makasih min 🙏", "mohon dibantu ya")."""
    return bool(_CLOSING.match(clause))


def starts_closing(clause: str) -> bool:
    """Whether ``clause`` opens a letter's closing paragraph ("Demikian …", "Atas perhatian …")."""
    return bool(_CLOSING_START.match(clause))


def only_particles(clause: str) -> bool:
    """Whether ``clause`` holds nothing but particles, vocatives, punctuation or emoji."""
    return bool(_ONLY_PARTICLES.match(clause))


_UNDERSIGNED = re.compile(
    r"^\s*(?:(?:saya|kami|i|we)\s+)?(?:yang|yg)\s+(?:ber)?tanda\s*tangan\s+(?:di\s*)?bawah\s+ini"
    r"(?:\s*(?:adalah|,|:|sebagai\s+berikut|sbb))*\s*[:,]?\s*"
    r"|^\s*(?:i|we),?\s+the\s+undersigned,?\s*",
    re.IGNORECASE,
)


def undersigned_length(clause: str) -> int:
    """Length of "Yang bertanda tangan di bawah ini:" at the start of ``clause``; 0 if none."""
    match = _UNDERSIGNED.match(clause)
    return match.end() if match else 0


_TRAILING_CLOSING = re.compile(
    rf"(?<![\s,.;!])[\s,.;!]++(?:{alternation(CLOSINGS)})(?:\s+(?:{alternation(VOCATIVES)}|{_PARTICLES}|banyak|byk|"
    r"sebelumnya|atas\s+\w+(?:\s+\w+){0,3}))*\s*[.!~]*\s*$",
    re.IGNORECASE,
)


def trailing_closing_start(text: str) -> int | None:
    """Where a closing formula typed on at the end of a sentence begins
    ("… TIGA KALI TERIMA KASIH"), or ``None``."""
    match = _TRAILING_CLOSING.search(text)
    return match.start() if match else None
