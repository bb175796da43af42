"""The frame around a written complaint: addressee block, sign-off, signature.

Formal Indonesian letters open with an addressee block ("Kepada Yth. … di
Tempat") and a "Perihal:" line, and end with "Hormat kami," and the signer's
name, position and organisation; ordinary mails end with "Salam," or
"Regards," and a signature block (name, position, organisation, phone). The
signer is the complainant (docs/intake.md, "complainant_name": never the From
display name of a shared mailbox).

:func:`split_letter` finds that frame so the reader can take the signer from
it and leave it out of the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.intake.introductions import take_name
from handlers.intake.lexicon import DEPARTMENT_WORDS, ROLE_WORDS, SIGN_OFFS, alternation
from handlers.intake.names import PersonName, clean_person, is_suffix_title, looks_like_name_word
from handlers.intake.organisations import (
    english_organisation,
    find_organisation,
    fix_org_case,
    means_self,
    starts_with_head,
)


@dataclass(frozen=True, slots=True)
class Letter:
    """``body`` is the text between the frame's parts (same characters; the
    frame's lines are blanked, so positions hold); ``signer`` and
    ``organisation`` come from the signature block."""

    body: str
    signer: PersonName | None
    organisation: str | None
    #: The signature says the complainant writes for themself ("(pribadi)").
    self_customer: bool = False


_SIGN_OFF = re.compile(
    rf"^\s*+[-–—~]*+\s*+(?:{alternation(SIGN_OFFS)})(?:\s*(?:saya|kami|hangat|dari\s+kami|"
    rf"(?:and|&|dan)\s*(?:thanks|regards|best\s+regards|kind\s+regards|salam|terima\s+kasih)|"
    rf"wr\.?\s*wb\.?|ya|min|pak|bu|kak|bu/pak|pak/bu|"
    rf"bapak/ibu|ibu/bapak|bapak|ibu|banyak|sebelumnya|atas\s+perhatiannya|atas\s+perhatian\s+\w+))*"
    rf"\s*[,.!]*\s*$",
    re.IGNORECASE,
)
_SIGN_OFF_INLINE = re.compile(
    rf"^\s*(?:{alternation(SIGN_OFFS)})\s*[,.!]\s*(?P<rest>\S.{{1,80}})$", re.IGNORECASE
)
_ADDRESSEE_START = re.compile(
    r"^\s*(?:kepada\s+yth|kepada\s+yang\s+terhormat|kepada\s*:|kpd\.?\s+yth|yth\.?\s|yth\.?$|"
    r"kepada\s*$|kepada\s+bapak|kepada\s+ibu|to\s*:|attn\.?|attention\s*:)",
    re.IGNORECASE,
)
_ADDRESSEE_END = re.compile(
    r"^\s*(?:di\s*[-–]?\s*)?(?:tempat|t\s*e\s*m\s*p\s*a\s*t)\s*\.?\s*$|^\s*di\s*[-–]?\s*$|"
    r"^\s*di\s+[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,2}\s*\.?\s*$",
    re.IGNORECASE,
)
_DASHES = re.compile(r"^\s*--\s*$")
_CONTACT = re.compile(
    r"^\s*(?:(?:hp|no\.?\s*hp|telp?\.?|telepon|phone|mobile|tel|wa|whatsapp|email|e-mail|fax|"
    r"alamat|address|nip|nik|web|website)\b\s*[:.]?|\+?\d[\d\s().-]{6,}|\S+@\S+|www\.|jl\.?\s|jalan\s)",
    re.IGNORECASE,
)
_ROLE_LINE = re.compile(rf"^\s*(?:{alternation(ROLE_WORDS)})\b", re.IGNORECASE)
#: "Laboratory Manager", "QA Supervisor": a position, whatever words precede it.
_ENDS_IN_ROLE = re.compile(rf"^(?:\S+\s+){{0,3}}(?:{alternation(ROLE_WORDS)})\s*$", re.IGNORECASE)
_DASH_SIGN = re.compile(r"^\s*[-–—~]+\s*(?P<rest>[^\s-].{1,80})$")


def _is_sign_off(line: str) -> bool:
    return bool(_SIGN_OFF.match(line))


def _signature_lines(lines: list[str], start: int) -> list[int]:
    """Indexes of the non-empty lines from ``start`` on, if they look like a
    signature block (short lines, no sentence of prose); else ``[]``."""
    found = []
    for index in range(start, len(lines)):
        line = lines[index].strip()
        if not line:
            continue
        if len(line) > 90 or len(line.split()) > 12:
            return []
        found.append(index)
    return found if len(found) <= 10 else []


def _read_signature(lines: list[str]) -> tuple[PersonName | None, str | None, bool]:
    """The signer, organisation and "for myself" named in signature ``lines`` (in order).

    The signer is the first line that is a person's name (not a department).
    The organisation is, by preference: a line that names one by its kind
    ("PT …", "Departemen …", "… University", "… Research Centre"); what
    stands beside the name ("Dafa / HIMATEKK ITS"); what follows a position
    ("Pemilik Homestay Kembang Arum"); or a capitalised line under the name
    that is neither a position, an address nor contact details ("Lionpack
    Asia"). Addresses ("Dusun Gintungan, Bandungan") and phone lines are skipped.
    """
    signer: PersonName | None = None
    self_customer = False
    named: str | None = None
    beside: str | None = None
    after_role: str | None = None
    plain: str | None = None
    for raw in lines:
        line = raw.strip()
        bare = line.strip("()[] ")
        if not bare or _CONTACT.match(bare) or _is_address(bare):
            continue
        if means_self(bare) or re.fullmatch(
            r"(?i)(?:pemohon|pelanggan|warga)\s+(?:perorangan|pribadi)", bare
        ):
            self_customer = True
            continue
        if _DEPARTMENT_LINE.match(bare) and not find_organisation(bare, heads=_LEGAL):
            continue  # "Warehouse Department", "Bagian Umum": who, not which organisation
        found = find_organisation(bare) or english_organisation(bare)
        role = _ENDS_IN_ROLE.search(bare) or (_ROLE_LINE.match(bare) and not starts_with_head(bare))
        if role:
            if found and found[1] > 0:
                named = named or found[0]  # "Kepala Laboratorium X"
            else:
                rest = _ROLE_PREFIX.sub("", bare, count=1)
                if rest != bare and _title_case(rest):
                    after_role = after_role or rest  # "Pemilik Homestay Kembang Arum"
            continue
        if found and found[1] == 0:
            named = named or found[0]
            continue
        if signer is None and not _department(_split_name_tail(bare)[0]):
            # "Wati (Koperasi Susu Sejahtera)", "Rudi - PT X", "Budi Santoso, S.T."
            person, used = take_name(bare, lower_text=False)
            tail = bare[used:].strip(" ,-–—/|")
            if person is None:
                head, _, tail = _split_name_tail(bare)
                person = clean_person(head)
            if person is not None and all(
                looks_like_name_word(w, lower_text=False, capitalised=True)
                for w in person.name.split()
            ):
                signer = person
                tail = tail.strip("() ")
                if tail:
                    if means_self(tail):
                        self_customer = True
                    elif not _ROLE_LINE.match(tail) and not _ENDS_IN_ROLE.search(tail):
                        # "Dafa / HIMATEKK ITS", "Tom / Borneo Aqua Lab"
                        inside = find_organisation(tail)
                        beside = beside or (inside[0] if inside else tail.strip(" .,"))
                continue
        if found:
            # "Karang Taruna Desa Kenteng": a capitalised line is the whole name.
            whole = signer is not None and _title_case(bare) and "," not in bare
            named = named or (bare if whole else found[0])
        elif signer is not None and plain is None and _title_case(bare) and "," not in bare:
            plain = bare
    organisation = named or beside or after_role or plain
    return signer, (fix_org_case(organisation) if organisation else None), self_customer


def _title_case(text: str) -> bool:
    """Two to six words, each capitalised (or an acronym), no digits."""
    words_ = text.split()
    return (
        2 <= len(words_) <= 6
        and not any(c.isdigit() for c in text)
        and all(w[:1].isupper() or w.lower() in ("of", "and", "&", "the", "dan") for w in words_)
    )


#: "Pemilik", "Head of", "Kepala Bagian" in front of what they head.
_ROLE_PREFIX = re.compile(
    rf"^\s*(?:\S+\s+){{0,2}}?(?:{alternation(ROLE_WORDS)})\b(?:\s+(?:of|at|di|dari|pada|for))?\s+",
    re.IGNORECASE,
)
#: An address line: a place kind, then a comma ("Dusun Gintungan, Bandungan"),
#: or a postcode.
_ADDRESS = re.compile(
    r"^\s*+(?:(?:dusun|desa|kelurahan|kel\.|kecamatan|kec\.|kabupaten|kab\.|kota|kampung|"
    r"perumahan|perum|komplek|kompleks|gedung|blok|rt|rw|gg\.?|gang)\b[^,]*,|.*\b\d{5}\b)",
    re.IGNORECASE,
)
#: "Bayan Lepas, Penang, Malaysia": places separated by commas.
_PLACES = re.compile(
    r"^[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,2}(?:,\s+[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,2}){1,2}$"
)


def _is_address(line: str) -> bool:
    """Whether a signature line is an address rather than a name or an organisation."""
    if _ADDRESS.match(line):
        return True
    if _PLACES.match(line):
        parts = [p.strip() for p in line.split(",")]
        # "Indra Permana, S.Si." is a name with its degree, not two places.
        return not any(is_suffix_title(word, True) for part in parts[1:] for word in part.split())
    return False


def _department(line: str) -> bool:
    """Whether a signature line names a department or shared mailbox, not a person."""
    return any(w.strip(".,()").lower() in DEPARTMENT_WORDS for w in line.split())


#: A department or team of an organisation ("Warehouse Department", "Bagian Umum", "Tim QC").
_DEPARTMENT_LINE = re.compile(
    r"^(?:.*\s)?(?:department|dept\.?|division|team|unit|section|desk)\s*$|"
    r"^(?:bagian|bag\.|tim|team|admin|sub\s?bag(?:ian)?|seksi|divisi|unit|urusan)\b",
    re.IGNORECASE,
)
#: Legal forms: a line with one names an organisation even beside a department word.
_LEGAL = frozenset("pt cv ud pd fa firma perum perumda koperasi kud ksp yayasan tbk".split())


def _split_name_tail(line: str) -> tuple[str, str, str]:
    match = re.search(r"\s*[(/|]\s*|\s+[-–—]\s+|,\s+(?=\S+\s+\S)", line)
    if not match:
        return line, "", ""
    return line[: match.start()], match.group(0), line[match.end() :]


def split_letter(text: str) -> Letter:
    """Find the addressee block, the sign-off and the signature in ``text``.

    The addressee block runs from a "Kepada Yth." line to the "di Tempat" line
    (or the first blank line). The signature starts at the last sign-off line
    ("Hormat kami,", "Regards,") below which only short lines follow, or at a
    ``--`` line, or is a last "- Name (Organisation)" line. Returns the text
    with those lines blanked.
    """
    lines = text.split("\n")
    blank = [False] * len(lines)
    # Addressee block at the top.
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if (
        first is not None
        and _ADDRESSEE_START.match(lines[first])
        and len(lines[first].split()) <= 10
        and not re.search(r"[.!?]\s+\S", lines[first])
    ):
        end = None
        for index in range(first, min(len(lines), first + 10)):
            if _ADDRESSEE_END.match(lines[index]):
                end = index
                if index + 1 < len(lines) and _ADDRESSEE_END.match(lines[index + 1]):
                    end = index + 1
                break
        if end is None:
            # No "di Tempat": the short lines naming the addressee, up to the first
            # blank line or the first line of prose.
            end = first
            while (
                end + 1 < len(lines)
                and lines[end + 1].strip()
                and len(lines[end + 1].split()) <= 8
                and not re.search(r"[.!?]\s+\S", lines[end + 1])
            ):
                end += 1
        for index in range(first, end + 1):
            blank[index] = True
    signer: PersonName | None = None
    organisation: str | None = None
    self_customer = False
    # Signature: from the last sign-off whose following lines are short.
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        inline = _SIGN_OFF_INLINE.match(line)
        if _is_sign_off(line) or _DASHES.match(line):
            block = _signature_lines(lines, index + 1)
            if block or index >= len(lines) - 1:
                signer, organisation, self_customer = _read_signature([lines[i] for i in block])
                for i in range(index, len(lines)):
                    blank[i] = True
                break
        elif inline and index >= len(lines) - 3:
            signer, organisation, self_customer = _read_signature([inline.group("rest")])
            for i in range(index, len(lines)):
                blank[i] = True
            break
    else:
        # A last "- Wati (Koperasi Susu Sejahtera)" line.
        last = max((i for i, line in enumerate(lines) if line.strip()), default=None)
        if last is not None:
            dash = _DASH_SIGN.match(lines[last])
            if dash:
                found = _read_signature([dash.group("rest")])
                if found[0] is not None:
                    signer, organisation, self_customer = found
                    blank[last] = True
    body = "\n".join("" if blank[i] else line for i, line in enumerate(lines))
    return Letter(body, signer, organisation, self_customer)


def trailing_signature(text: str) -> Letter:
    """A bare signature at the end of a mail, without a sign-off line.

    The last paragraph (after a blank line) counts when it has one to five
    short lines, its first a person's name ("Rudi", "Ir. Budi, M.M.") and the
    others positions, organisations or contact details.
    """
    lines = text.rstrip().split("\n")
    end = len(lines)
    start = end
    while start > 0 and lines[start - 1].strip():
        start -= 1
    block = [line for line in lines[start:end] if line.strip()]
    if not block or len(block) > 5 or start == 0:
        return Letter(text, None, None)
    if any(len(line.split()) > 8 or line.rstrip().endswith(("?", "!")) for line in block):
        return Letter(text, None, None)
    signer, organisation, self_customer = _read_signature(block)
    first = block[0].strip()
    person = clean_person(_split_name_tail(first)[0])
    if signer is None or person is None or person.name != signer.name:
        return Letter(text, None, None)
    body = "\n".join(lines[:start])
    return Letter(body, signer, organisation, self_customer)
