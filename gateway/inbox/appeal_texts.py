"""Names of an appeal's steps for staff pages (PR-LS-8.1.4 steps 1-5).

Shared by the appeal pages (:mod:`gateway.inbox.appeals`) and the appeal
panel on a complaint's page (:mod:`gateway.inbox.complaint_view`).
"""

from __future__ import annotations

from handlers.i18n import t


def step_label(lang: str, step: str) -> str:
    """The name of appeal step ``step`` in ``lang``; an unknown step is returned as is.

    Steps: ``identify``, ``record_type``, ``pass_on`` (PR-LS-8.1.4 steps 1-2),
    ``panel`` (step 4), ``decision`` and ``decided`` (step 5).
    """
    labels = {
        "identify": t(lang, "Identifying the appeal"),
        "record_type": t(lang, "Recording the appeal's type"),
        "pass_on": t(lang, "Passing the appeal on"),
        "panel": t(lang, "Forming the appeal panel"),
        "decision": t(lang, "Waiting for the panel's decision"),
        "decided": t(lang, "Decided (final)"),
    }
    return labels.get(step, step)
