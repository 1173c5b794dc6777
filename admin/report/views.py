"""The yearly report on strategic agreements: the page (or its CSV) and the .docx."""

from __future__ import annotations

from flask import Response, abort, render_template

from admin.blueprint import bp
from admin.lists import csv_response, wants_csv
from admin.report import queries
from portal.documents.text import DOCX
from portal.documents.yearly_report import (
    collect,
    deviation_text,
    strategic_rule,
    yearly_report_docx,
)


@bp.get("/arsrapport")
def yearly_report():
    committees, committee, year = queries.chosen()
    report = collect(committee, year) if committee else None
    if report is not None and wants_csv():
        rows = (queries.csv_row(r) for r in report.agreements)
        return csv_response(f"arsrapport-{committee.code}-{year}", queries.CSV_HEADER, rows)
    return render_template(
        "admin/yearly_report.html",
        report=report,
        committees=committees,
        committee=committee,
        year=year,
        years=queries.years_offered(year),
        rule=strategic_rule(),
        deviation_text=deviation_text,
    )


@bp.get("/arsrapport.docx")
def yearly_report_download():
    _committees, committee, year = queries.chosen()
    if committee is None:
        abort(404)
    name = f"arsrapport-strategiska-avtal-{committee.code}-{year}.docx"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store",
    }
    return Response(yearly_report_docx(collect(committee, year)), mimetype=DOCX, headers=headers)
