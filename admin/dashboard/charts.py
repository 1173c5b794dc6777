"""The start page's charts: open work, and open deviations by severity."""

from __future__ import annotations

from flask_babel import gettext as _

from admin.dashboard.queries import Figures
from portal import labels
from portal.charts import PALETTE, Bar, bar_chart
from portal.models import ReviewState


def work_chart(total: Figures):
    return bar_chart(
        "chart-work",
        _("Öppna ärenden"),
        [
            Bar(_("Väntar på svar"), total.waiting_for_answer, PALETTE[0]),
            Bar(_("Försenade svar"), total.overdue, PALETTE[4]),
            Bar(_("Att granska"), total.in_review, PALETTE[2]),
            Bar(labels.STATE[ReviewState.CLARIFICATION_REQUESTED], total.clarification, PALETTE[1]),
            Bar(_("Öppna avvikelser"), total.open_deviations, PALETTE[3]),
            Bar(_("Försenade åtgärdsplaner"), total.plans_overdue, PALETTE[5]),
        ],
    )


def severities(total: Figures) -> list[str]:
    """The severities of the open deviations: the most severe first, then whatever else
    was stored."""
    return [s for s in reversed(labels.SEVERITY) if s in total.deviations] + [
        s for s in total.deviations if s not in labels.SEVERITY
    ]


def deviation_chart(total: Figures, shown: list[str]):
    """Open deviations by severity (``shown``, in that order); None when there are none."""
    if not shown:
        return None
    return bar_chart(
        "chart-deviations",
        _("Öppna avvikelser efter allvarlighetsgrad"),
        [
            Bar(
                labels.name(labels.SEVERITY, s) or _("Ej angiven"),
                total.deviations[s],
                PALETTE[3],
            )
            for s in shown
        ],
    )
