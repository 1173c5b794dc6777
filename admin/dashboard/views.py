"""The staff start page: the state of follow-up per committee, with charts."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from admin.blueprint import bp
from admin.dashboard import charts, queries
from admin.jobs.queries import failed_count
from admin.lists import int_arg
from admin.scoping import my_committees
from portal import policy
from portal.dates import today


@bp.get("/")
def start():
    committees = my_committees()
    chosen = int_arg("namnd")
    if chosen and chosen not in {c.id for c in committees}:
        chosen = None
    per_committee = queries.figures(chosen)
    total = queries.total(per_committee)
    severities = charts.severities(total)
    return render_template(
        "admin/start.html",
        committees=committees,
        chosen=chosen,
        shown=[c for c in committees if not chosen or c.id == chosen],
        per_committee=per_committee,
        total=total,
        work_chart=charts.work_chart(total),
        deviation_chart=charts.deviation_chart(total, severities),
        severities=severities,
        oldest=queries.oldest_waiting(chosen),
        today=today(),
        failed_jobs=failed_count() if policy.can(current_user, policy.Action.ADMINISTER) else 0,
    )
