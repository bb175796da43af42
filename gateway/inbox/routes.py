"""Every route of the staff inbox at ``/inbox`` (README.md, "Staff inbox"), in one place."""

from __future__ import annotations

from aiohttp import web

from gateway.inbox.appeals import add_routes as add_appeals
from gateway.inbox.attachments import add_routes as add_attachments
from gateway.inbox.auth import add_routes as add_auth
from gateway.inbox.complaint import add_routes as add_complaint
from gateway.inbox.complaint_actions import add_routes as add_complaint_actions
from gateway.inbox.contacts import add_routes as add_contacts
from gateway.inbox.intake import add_routes as add_intake
from gateway.inbox.live import add_routes as add_live
from gateway.inbox.notifications import add_routes as add_notifications
from gateway.inbox.pages import add_routes as add_pages
from gateway.inbox.quarantine import add_routes as add_quarantine
from gateway.inbox.reports import add_routes as add_reports
from gateway.inbox.users import add_routes as add_users


def add_routes(app: web.Application) -> None:
    """Register every staff page, the event stream and the session middleware."""
    add_auth(app)
    add_live(app)
    add_pages(app)
    add_reports(app)
    add_quarantine(app)
    add_complaint(app)
    add_complaint_actions(app)
    add_attachments(app)
    add_contacts(app)
    add_intake(app)
    add_appeals(app)
    add_notifications(app)
    add_users(app)
