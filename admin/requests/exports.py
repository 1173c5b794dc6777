"""The request pages' files: the list and one request's answers as CSV, and the names of
the files (CSV and request letters) downloaded."""

from __future__ import annotations

import re

from flask import Response
from flask_babel import gettext as _

from admin.lists import csv_response
from admin.requests.queries import progress
from admin.review.answers import answers_of
from portal import labels
from portal.formatting import answer_value
from portal.labels import staff_state_label
from portal.models import FieldType, InformationRequest, ReviewState, Submission

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def list_columns() -> list[str]:
    return [
        _("Diarienummer"),
        _("Rubrik"),
        _("Nämnd"),
        _("Vad som begärs"),
        _("Skickad"),
        _("Svara senast"),
        _("Återkommande"),
        _("Mottagare"),
        _("Att granska"),
        _("Godkända"),
        _("Väntar på svar"),
    ]


def list_row(r: InformationRequest) -> list:
    counts = progress([r.id])[r.id]
    return [
        r.registration_number,
        r.title,
        r.committee.name,
        labels.name(labels.KIND, r.kind),
        r.created_at,
        r.deadline,
        r.recurs_yearly,
        sum(counts.values()),
        counts.get(ReviewState.SUBMITTED, 0),
        counts.get(ReviewState.APPROVED, 0),
        counts.get(ReviewState.DRAFT, 0) + counts.get(ReviewState.CLARIFICATION_REQUESTED, 0),
    ]


def slug(info_request: InformationRequest) -> str:
    """The registration number as a file name's part ("VON 2026/1" → "VON-2026-1")."""
    return re.sub(r"[^A-Za-z0-9]+", "-", info_request.registration_number).strip("-")


def letter_name(info_request: InformationRequest, org_number: str | None) -> str:
    return f"begaran-{slug(info_request)}" + (f"-{org_number}" if org_number else "") + ".docx"


def _answer_values(info_request: InformationRequest, s: Submission) -> list:
    """The latest submitted version's answers, one per field of the request."""
    version = s.submitted_versions[-1] if s.submitted_versions else None
    by_key = {a.key: a for a in answers_of(s, version)} if version else {}
    values = []
    for f in info_request.fields:
        a = by_key.get(f.key)
        if a is None:
            values.append("")
        elif f.type == FieldType.FILE:
            values.append(", ".join(x.display_name for x in a.attachments))
        else:
            values.append(answer_value(f.type, (version.answers or {}).get(f.key)))
    return values


def answers_csv(info_request: InformationRequest, submissions: list[Submission]) -> Response:
    """Every provider's answer to the request, a row each, a column per field."""
    header = [
        _("Utförare"),
        _("Organisationsnummer"),
        _("Diarienummer"),
        _("Status"),
        _("Svara senast"),
        labels.STATE[ReviewState.SUBMITTED],
    ] + [f"{f.label} ({f.unit})" if f.unit else f.label for f in info_request.fields]
    rows = (
        [
            s.provider.name,
            s.provider.org_number,
            s.registration_number,
            staff_state_label(s.state),
            s.deadline,
            s.submitted_at,
            *_answer_values(info_request, s),
        ]
        for s in submissions
    )
    return csv_response(f"svar-{slug(info_request)}", header, rows)
