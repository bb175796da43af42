"""Finding the contact behind a channel address, creating it the first time.

Every inbound message (:mod:`gateway.ingest`) and every complaint recorded by
staff for a new person (:mod:`handlers.manual_intake`) names its sender by a
channel address; the contact is the person behind it. ``contact_addresses`` is
unique on ``(kind, address)`` (:func:`channels.addresses.address_kind`), so
one address always leads to one contact.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.addresses import address_kind
from storage.models import Contact, ContactAddress


async def resolve_contact(
    session: AsyncSession, channel: str, address: str, display_name: str | None
) -> int:
    """Return the contact id for ``address`` on ``channel``, creating it if new.

    Safe under concurrency: a losing racer's insert fails on the unique
    (kind, address) constraint inside a savepoint and the winner's row is read.
    """
    kind = address_kind(channel, address)
    found = await session.scalar(
        select(ContactAddress.contact_id).where(
            ContactAddress.kind == kind, ContactAddress.address == address
        )
    )
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            contact = Contact(display_name=display_name)
            session.add(contact)
            await session.flush()
            session.add(ContactAddress(contact_id=contact.id, kind=kind, address=address))
            await session.flush()
            return contact.id
    except IntegrityError:
        found = await session.scalar(
            select(ContactAddress.contact_id).where(
                ContactAddress.kind == kind, ContactAddress.address == address
            )
        )
        if found is None:  # pragma: no cover - constraint fired for another reason
            raise
        return found
