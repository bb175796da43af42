"""Reports for the secretariat (docs/records.md): the complaint register (Buku
Register Keluhan) and the periodic recap (Rekapitulasi Keluhan) for a period,
their CSV/XLSX exports, server-rendered SVG charts and the printable
complaint-handling and CAPA forms (PDF).

The modules compute and lay out; the staff pages that show them, and every
text staff read, are in :mod:`gateway.inbox.reports` and
:mod:`gateway.reports.texts` (translated through the catalogues).
"""
