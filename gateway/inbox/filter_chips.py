"""The inbox filter bar's chips: the active filters, one short text each.

On a phone the filter bar is folded (a closed ``<details>``); its summary
shows these chips so the clerk sees at a glance what the list is limited
to without opening it.
"""

from __future__ import annotations

from collections.abc import Mapping

from babel.dates import format_date

from gateway.queries.complaint_list import InboxFilters
from handlers.i18n import t

#: Longest search text shown in a chip, in characters (an ellipsis follows).
QUERY_CHIP_LIMIT = 30


def filter_chips(
    filters: InboxFilters,
    lang: str,
    *,
    channels: Mapping[str, str],
    statuses: Mapping[str, str],
    categories: Mapping[str, str],
    assignees: Mapping[str, str],
) -> list[str]:
    """One text per active filter of ``filters`` in ``lang``, in the bar's order.

    The mappings give each value's display label (value → label); a value
    without one is shown as it is. Dates are shown as ``5 Des 2026``.
    """
    chips: list[str] = []
    if filters.q:
        q = filters.q if len(filters.q) <= QUERY_CHIP_LIMIT else filters.q[:QUERY_CHIP_LIMIT] + "…"
        chips.append(t(lang, "Search: “{text}”", text=q))
    if filters.channel:
        value = channels.get(filters.channel, filters.channel)
        chips.append(t(lang, "Channel: {value}", value=value))
    if filters.status:
        value = statuses.get(filters.status, filters.status)
        chips.append(t(lang, "Status: {value}", value=value))
    if filters.category:
        value = categories.get(filters.category, filters.category)
        chips.append(t(lang, "Category: {value}", value=value))
    if filters.assignee:
        value = assignees.get(filters.assignee, filters.assignee)
        chips.append(t(lang, "Assignee: {value}", value=value))
    if filters.received_from:
        day = format_date(filters.received_from, "d MMM yyyy", locale=lang)
        chips.append(t(lang, "From {day}", day=day))
    if filters.received_to:
        day = format_date(filters.received_to, "d MMM yyyy", locale=lang)
        chips.append(t(lang, "Until {day}", day=day))
    if filters.overdue:
        chips.append(t(lang, "Overdue only"))
    if filters.mine:
        chips.append(t(lang, "Assigned to me"))
    return chips
