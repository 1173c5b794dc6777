"""What the provider's answers mean and how they read: labels and display values.

Answers are stored in a version's ``answers`` JSON as canonical strings (numbers
with a decimal point, dates as ISO, yes/no as ``yes``/``no``); files are the
version's attachments whose ``slot`` is the field key. Staff pages can use
:func:`answer_rows` and ``templates/provider/_answers.html`` to show the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

from portal import labels
from portal.formatting import format_answer
from portal.formatting import format_file_size as format_file_size
from portal.models import (
    Attachment,
    FieldType,
    MeasureStatus,
    Submission,
    SubmissionKind,
    SubmissionVersion,
)

# Names portal/provider/{views,forms}.py still import from here (with format_file_size);
# they are the label table's, and go when those modules import portal.labels themselves.
KIND_LABELS = labels.KIND
FIELD_TYPE_LABELS = labels.FIELD_TYPE
CATEGORY_LABELS = labels.CATEGORY
SEVERITY_LABELS = labels.SEVERITY
MEASURE_STATUS_LABELS = labels.MEASURE_STATUS
PROVIDER_VISIBLE_EVENTS = labels.EVENT
kind_label = labels.label


def display_value(field_type: FieldType | str, value, unit: str = "") -> str:
    """An answer as the reader should see it; an empty answer reads "Inget svar"."""
    return format_answer(field_type, value, unit) or str(labels.UNANSWERED)


@dataclass
class AnswerRow:
    """One question and its answer, for reading (receipts, version pages, staff pages)."""

    key: str
    label: str
    text: str
    files: list[Attachment] = field(default_factory=list)
    is_file: bool = False
    multiline: bool = False


def files_in(version: SubmissionVersion | None, slot: str) -> list[Attachment]:
    if version is None:
        return []
    return [a for a in version.attachments if a.slot == slot]


def deviation_rows(submission: Submission, answers: dict) -> list[AnswerRow]:
    agreement = submission.agreement
    names = labels.DEVIATION_FIELDS
    return [
        AnswerRow(
            "category",
            str(names["category"]),
            labels.name(labels.CATEGORY, answers.get("category")) or str(labels.UNANSWERED),
        ),
        AnswerRow(
            "severity",
            str(names["severity"]),
            labels.name(labels.SEVERITY, answers.get("severity")) or str(labels.UNANSWERED),
        ),
        AnswerRow(
            "occurred_on",
            str(names["occurred_on"]),
            display_value(FieldType.DATE, answers.get("occurred_on")),
        ),
        AnswerRow(
            "agreement_id",
            str(_l("Avtal och verksamhet")),
            f"{agreement.reference} – {agreement.service_area.name}"
            if agreement
            else str(labels.UNANSWERED),
        ),
        AnswerRow(
            "description",
            str(names["description"]),
            display_value(FieldType.TEXT, answers.get("description")),
            multiline=True,
        ),
        AnswerRow(
            "immediate_measures",
            str(names["immediate_measures"]),
            display_value(FieldType.TEXT, answers.get("immediate_measures")),
            multiline=True,
        ),
    ]


def answer_rows(submission: Submission, version: SubmissionVersion | None) -> list[AnswerRow]:
    """The answers of ``version`` as rows: the kind's own questions, then the request's fields.

    Action-plan measures are not rows; see :func:`measures_of`.
    """
    answers = (version.answers or {}) if version is not None else {}
    rows: list[AnswerRow] = []
    if submission.kind == SubmissionKind.DEVIATION_REPORT:
        rows.extend(deviation_rows(submission, answers))
        attached = files_in(version, "attachments")
        rows.append(AnswerRow("attachments", str(labels.ATTACHMENTS), "", attached, is_file=True))
    if submission.request is not None:
        for request_field in submission.request.fields:
            key = request_field.key
            if request_field.type == FieldType.FILE:
                rows.append(
                    AnswerRow(key, request_field.label, "", files_in(version, key), is_file=True)
                )
            else:
                rows.append(
                    AnswerRow(
                        key,
                        request_field.label,
                        display_value(request_field.type, answers.get(key), request_field.unit),
                        multiline=request_field.type == FieldType.TEXT,
                    )
                )
    return rows


@dataclass
class Measure:
    """One measure of an action plan, as stored plus its evidence file."""

    description: str = ""
    owner: str = ""
    due: str = ""
    status: str = MeasureStatus.PLANNED
    done_on: str = ""
    evidence: Attachment | None = None

    @property
    def status_label(self) -> str:
        return labels.name(labels.MEASURE_STATUS, self.status)

    @property
    def done(self) -> bool:
        return self.status == MeasureStatus.DONE

    def overdue(self, today: date) -> bool:
        try:
            return not self.done and bool(self.due) and date.fromisoformat(self.due) < today
        except ValueError:
            return False


def measures_of(version: SubmissionVersion | None) -> list[Measure]:
    if version is None:
        return []
    by_id = {a.id: a for a in version.attachments}
    return [
        Measure(
            description=m.get("description", ""),
            owner=m.get("owner", ""),
            due=m.get("due", ""),
            status=m.get("status", MeasureStatus.PLANNED),
            done_on=m.get("done_on", "") or "",
            evidence=by_id.get(m.get("evidence")),
        )
        for m in (version.answers or {}).get("measures", [])
    ]


def open_measures(version: SubmissionVersion | None) -> list[Measure]:
    return [m for m in measures_of(version) if not m.done]
