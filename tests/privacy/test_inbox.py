"""The contact page's personal-data actions: export and erase, admin only,
CSRF-checked, audited (docs/privacy.md)."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import select

from handlers.privacy import PLACEHOLDER
from storage.models import Complaint, PersonalDataAudit
from tests.inbox.conftest import CSRF_RE, Site, add_staff, site  # noqa: F401 - fixture
from tests.privacy.conftest import FILE_BYTES, NAME, file_both, personal_data_left


async def test_only_an_admin_exports_and_erases(site: Site) -> None:  # noqa: F811
    await add_staff(site.h, ("ani", "admin"))
    contact_id = await file_both(site.h)
    page_url = f"/inbox/contacts/{contact_id}"

    assert (await site.sign_in("sri")).status == 303
    csrf = await site.csrf(page_url)
    page = await (await site.client.get(page_url)).text()
    assert "/export" not in page and "/erase" not in page
    refused = await site.client.post(f"{page_url}/export", data={"csrf": csrf})
    assert refused.status == 403
    assert (await site.client.get(f"{page_url}/erase")).status == 403
    refused = await site.client.post(
        f"{page_url}/erase", data={"csrf": csrf, "confirm": str(contact_id)}
    )
    assert refused.status == 403
    await site.client.post("/inbox/logout", data={"csrf": csrf})

    assert (await site.sign_in("ani")).status == 303
    csrf = await site.csrf(page_url)
    page = await (await site.client.get(page_url)).text()
    assert f'action="{page_url}/export"' in page
    # No CSRF token: refused, nothing recorded.
    assert (await site.client.post(f"{page_url}/export", data={})).status == 403
    download = await site.client.post(f"{page_url}/export", data={"csrf": csrf})
    assert download.status == 200
    assert download.headers["Content-Type"] == "application/zip"
    assert "attachment;" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(await download.read()))
    document = json.loads(archive.read("data.json"))
    assert {c["complainant_name"] for c in document["complaints"]} == {NAME}
    assert archive.read(document["attachments"][0]["file"]) == FILE_BYTES

    confirm = await site.client.get(f"{page_url}/erase")
    assert confirm.status == 200
    text = await confirm.text()
    assert "Ketik nomor kontak" in text and CSRF_RE.search(text)
    wrong = await site.client.post(f"{page_url}/erase", data={"csrf": csrf, "confirm": "99"})
    assert wrong.status == 400
    assert await personal_data_left(site.h)  # nothing changed
    done = await site.client.post(
        f"{page_url}/erase",
        data={"csrf": csrf, "confirm": f"#{contact_id}"},
        allow_redirects=False,
    )
    assert done.status == 303
    assert done.headers["Location"] == f"{page_url}?done=erased"
    assert await personal_data_left(site.h) == []
    page = await (await site.client.get(f"{page_url}?done=erased")).text()
    assert "Data pribadi kontak ini telah dihapus" in page and NAME not in page

    async with site.h.runtime.sessions() as session:
        audits = [
            (a.action, a.actor)
            for a in await session.scalars(select(PersonalDataAudit).order_by(PersonalDataAudit.id))
        ]
        names = set(await session.scalars(select(Complaint.complainant_name)))
    assert audits == [("export", "staff:ani"), ("erase", "staff:ani")]
    assert names == {PLACEHOLDER}
