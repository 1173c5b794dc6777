"""The audit log page (administrators only), and its CSV file."""

from __future__ import annotations

from flask import render_template

from admin.audit_log import queries
from admin.audit_log.details import action_label, detail_lines, object_label
from admin.blueprint import bp
from admin.lists import csv_response, paginate, rows_of, wants_csv
from portal import policy
from portal.policy import Action


@bp.get("/logg")
def audit_log():
    policy.require(Action.ADMINISTER)
    f = queries.filters()
    select = queries.events(f)
    if wants_csv():
        return csv_response("granskningslogg", queries.columns(), rows_of(select, queries.row))
    return render_template(
        "admin/audit_log.html",
        page=paginate(select),
        f=f,
        actions=queries.action_groups(),
        types=queries.object_types(),
        action_label=action_label,
        object_label=object_label,
        detail_lines=detail_lines,
    )
