"""The read side: queries that return typed, frozen views for the pages.

Writes go through :class:`gateway.staff.StaffService`; reads go through the
modules here. Each takes a session (or the session factory) and returns
dataclasses: no aiohttp, no templates, no request. The rules that decide what
a viewer may see live here beside their queries (e.g. tracking shows a
complaint only to its complainant, :mod:`gateway.queries.tracking`); the
route modules parse the request, call a query or a service, and render.

Reads point down: these modules may import handlers and storage, never the
web or inbox routes nor the API (an import-linter contract says so).
"""
