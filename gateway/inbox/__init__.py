"""The secretariat's staff web app at ``/inbox`` (README.md, "Staff inbox"): sign-in, inbox, complaint pages."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Register every staff page, the event stream and the session middleware."""
    from gateway.inbox.appeals import add_routes as add_appeals
    from gateway.inbox.auth import add_routes as add_auth
    from gateway.inbox.complaint import add_routes as add_complaint
    from gateway.inbox.contacts import add_routes as add_contacts
    from gateway.inbox.intake import add_routes as add_intake
    from gateway.inbox.live import add_routes as add_live
    from gateway.inbox.notifications import add_routes as add_notifications
    from gateway.inbox.pages import add_routes as add_pages
    from gateway.inbox.quarantine import add_routes as add_quarantine
    from gateway.inbox.reports import add_routes as add_reports
    from gateway.inbox.users import add_routes as add_users

    add_auth(app)
    add_live(app)
    add_pages(app)
    add_reports(app)
    add_quarantine(app)
    add_complaint(app)
    add_contacts(app)
    add_intake(app)
    add_appeals(app)
    add_notifications(app)
    add_users(app)
