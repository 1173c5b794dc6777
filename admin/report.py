"""The yearly report on strategic agreements: preview, .docx and CSV."""

from __future__ import annotations

from flask import Response, abort, render_template

from admin.blueprint import bp
from admin.lists import csv_response, int_arg, wants_csv
from admin.scoping import my_committees
from portal.dates import today
from portal.documents.yearly_report import (
    collect,
    deviation_text,
    strategic_rule,
    yearly_report_docx,
)
from portal.policy import Action


def _chosen():
    committees = my_committees(Action.VIEW)
    committee_id, year = int_arg("namnd"), int_arg("ar") or today().year
    if not 2000 <= year <= 2100:
        abort(404)
    if committee_id is None:
        return committees, (committees[0] if committees else None), year
    chosen = next((c for c in committees if c.id == committee_id), None)
    if chosen is None:
        abort(404)
    return committees, chosen, year


@bp.get("/arsrapport")
def yearly_report():
    committees, committee, year = _chosen()
    report = collect(committee, year) if committee else None
    if report is not None and wants_csv():
        return csv_response(
            f"arsrapport-{committee.code}-{year}",
            [
                "Avtal",
                "Utförare",
                "Organisationsnummer",
                "Verksamhetsområde",
                "Årligt värde (kr)",
                "Uppfyller kraven",
                "Bedömd",
                "Brister",
                "Påverkan på måluppfyllelse",
                "Åtgärdsplaner",
                "Avvikelser",
            ],
            (
                [
                    r.agreement.reference,
                    r.agreement.provider.name,
                    r.agreement.provider.org_number,
                    r.agreement.service_area.name,
                    r.agreement.yearly_value_sek,
                    r.meets,
                    r.latest.assessed_on if r.latest else None,
                    r.deficiencies,
                    r.goal_effect,
                    r.plan_summary,
                    sum(r.deviations.values()),
                ]
                for r in report.agreements
            ),
        )
    return render_template(
        "admin/yearly_report.html",
        report=report,
        committees=committees,
        committee=committee,
        year=year,
        years=list(range(today().year, today().year - 6, -1)),
        rule=strategic_rule(),
        deviation_text=deviation_text,
    )


@bp.get("/arsrapport.docx")
def yearly_report_download():
    _committees, committee, year = _chosen()
    if committee is None:
        abort(404)
    name = f"arsrapport-strategiska-avtal-{committee.code}-{year}.docx"
    return Response(
        yearly_report_docx(collect(committee, year)),
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
