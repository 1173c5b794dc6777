"""What the provider's answers mean and how they read: labels and display values.

Answers are stored in a version's ``answers`` JSON as canonical strings (numbers
with a decimal point, dates as ISO, yes/no as ``yes``/``no``); files are the
version's attachments whose ``slot`` is the field key. Staff pages can use
:func:`answer_rows` and ``templates/provider/_answers.html`` to show the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from portal.models import Attachment, FieldType, Submission, SubmissionKind, SubmissionVersion

KIND_LABELS = {
    SubmissionKind.TRANSPARENCY_INFO: _l("Insynsinformation"),
    SubmissionKind.DEVIATION_REPORT: _l("Avvikelserapport"),
    SubmissionKind.ACTION_PLAN: _l("Åtgärdsplan"),
}

CATEGORY_LABELS = {
    "complaint": _l("Klagomål"),
    "error": _l("Fel"),
    "deficiency": _l("Brist"),
    "deviation": _l("Avvikelse"),
}

SEVERITY_LABELS = {
    "low": _l("Låg"),
    "medium": _l("Medel"),
    "high": _l("Hög"),
}

MEASURE_STATUS_LABELS = {
    "planned": _l("Planerad"),
    "in_progress": _l("Pågår"),
    "done": _l("Genomförd"),
}

FIELD_TYPE_LABELS = {
    FieldType.TEXT: _l("Text"),
    FieldType.NUMBER: _l("Tal"),
    FieldType.PERCENTAGE: _l("Procent (0–100)"),
    FieldType.YES_NO: _l("Ja eller nej"),
    FieldType.DATE: _l("Datum"),
    FieldType.FILE: _l("Fil"),
}

# Review events a provider sees; anything else (internal notes) stays with staff.
PROVIDER_VISIBLE_EVENTS = {
    "submit": _l("Inskickad"),
    "resubmit": _l("Komplettering inskickad"),
    "report_progress": _l("Lägesrapport inskickad"),
    "ask_clarification": _l("Kommunen begärde komplettering"),
    "approve": _l("Godkänd"),
    "reject": _l("Avslagen"),
    "close": _l("Planen avslutad"),
    "extend_deadline": _l("Svarstiden förlängd"),
    "withdraw": _l("Utkastet togs tillbaka"),
    "request_action_plan": _l("Kommunen begärde en åtgärdsplan"),
}


def kind_label(kind: SubmissionKind) -> str:
    return str(KIND_LABELS[kind])


def format_number(canonical: str) -> str:
    """``1234.5`` → ``1 234,5`` (Swedish grouping and decimal comma)."""
    try:
        number = Decimal(canonical)
    except (InvalidOperation, TypeError):
        return str(canonical)
    text = f"{number:,f}".replace(",", "\u00a0").replace(".", ",")
    return text


def format_file_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def display_value(field_type: FieldType | str, value, unit: str = "") -> str:
    """An answer as the reader should see it; empty answers read "Inget svar"."""
    if value in (None, ""):
        return str(_l("Inget svar"))
    kind = str(field_type)
    if kind == FieldType.PERCENTAGE:
        return f"{format_number(value)}\u00a0%"
    if kind == FieldType.YES_NO:
        return str(_l("Ja") if value == "yes" else _l("Nej") if value == "no" else value)
    text = format_number(value) if kind == FieldType.NUMBER else str(value)
    return f"{text}\u00a0{unit}" if unit else text


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
    occurred = answers.get("occurred_on", "")
    return [
        AnswerRow(
            "category",
            str(_l("Typ av händelse")),
            str(CATEGORY_LABELS.get(answers.get("category"), _l("Inget svar"))),
        ),
        AnswerRow(
            "severity",
            str(_l("Allvarlighetsgrad")),
            str(SEVERITY_LABELS.get(answers.get("severity"), _l("Inget svar"))),
        ),
        AnswerRow("occurred_on", str(_l("När hände det?")), occurred or str(_l("Inget svar"))),
        AnswerRow(
            "agreement_id",
            str(_l("Avtal och verksamhet")),
            f"{agreement.reference} – {agreement.service_area.name}"
            if agreement
            else str(_l("Inget svar")),
        ),
        AnswerRow(
            "description",
            str(_l("Vad hände?")),
            answers.get("description") or str(_l("Inget svar")),
            multiline=True,
        ),
        AnswerRow(
            "immediate_measures",
            str(_l("Vilka åtgärder vidtogs direkt?")),
            answers.get("immediate_measures") or str(_l("Inget svar")),
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
        rows.append(AnswerRow("attachments", str(_l("Bilagor")), "", attached, is_file=True))
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
    status: str = "planned"
    done_on: str = ""
    evidence: Attachment | None = None

    @property
    def status_label(self) -> str:
        return str(MEASURE_STATUS_LABELS.get(self.status, self.status))

    @property
    def done(self) -> bool:
        return self.status == "done"

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
            status=m.get("status", "planned"),
            done_on=m.get("done_on", "") or "",
            evidence=by_id.get(m.get("evidence")),
        )
        for m in (version.answers or {}).get("measures", [])
    ]


def open_measures(version: SubmissionVersion | None) -> list[Measure]:
    return [m for m in measures_of(version) if not m.done]
