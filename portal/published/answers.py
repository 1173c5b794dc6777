"""The public answers of a publication, as the page, the API and the CSV show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from portal import labels
from portal.formatting import answer_value, format_answer, format_long_date, is_blank, parse_date
from portal.models import FieldType, Publication, PublishedDocument, SubmissionKind
from portal.policy import SHOWN_MEASURE_KEYS, public_documents, shown_answers

# Answers of deviation reports and action plans are not request fields: their keys, and
# the label table of a key whose answer is a code.
CHOICE, MEASURES = "choice", "measures"
REPORT_FIELDS: dict[str, tuple] = {
    "category": (labels.DEVIATION_FIELDS["category"], CHOICE),
    "severity": (labels.DEVIATION_FIELDS["severity"], CHOICE),
    "occurred_on": (labels.DEVIATION_FIELDS["occurred_on"], FieldType.DATE.value),
    "description": (labels.DEVIATION_FIELDS["description"], FieldType.TEXT.value),
    "immediate_measures": (labels.DEVIATION_FIELDS["immediate_measures"], FieldType.TEXT.value),
    "measures": (labels.MEASURES, MEASURES),
}
CODES = {**labels.CATEGORY, **labels.SEVERITY, **labels.MEASURE_STATUS}
UNANSWERED = labels.UNANSWERED
NOT_PUBLISHED = labels.NOT_PUBLISHED


@dataclass
class Answer:
    """One public answer: what was asked, of which type and unit, and the answer."""

    key: str
    label: str
    type: str
    unit: str
    raw: Any
    documents: list[PublishedDocument] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        if self.type == FieldType.FILE.value:
            return bool(self.documents)
        return not is_blank(self.raw)

    @property
    def numeric(self) -> bool:
        return self.type in (FieldType.NUMBER.value, FieldType.PERCENTAGE.value)

    @property
    def value(self):
        """The answer normalised for machines: number, bool, ISO date, text, measures (the
        page's columns), or None."""
        if self.type == MEASURES and isinstance(self.raw, list):
            return [normalised_measure(m) for m in self.measures] or None
        return normalised(self.type, self.raw)

    @property
    def display(self) -> str:
        """The answer as a person reads it, in the current language."""
        return display(self.type, self.unit, self.raw)

    @property
    def measures(self) -> list[dict]:
        """An action plan's measures with the columns the page shows, and nothing else."""
        if not isinstance(self.raw, list):
            return []
        return [
            {key: m.get(key) for key in SHOWN_MEASURE_KEYS} for m in self.raw if isinstance(m, dict)
        ]


def normalised(field_type: str, raw):
    value = answer_value(field_type, raw)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    if field_type == MEASURES:
        return value if isinstance(value, list) or value is None else str(value)
    return value if value is None or isinstance(value, bool) else str(value)


def normalised_measure(measure: dict) -> dict:
    """One measure for machines: the page's columns, dates in ISO 8601, status as its code."""
    return {
        key: normalised(FieldType.DATE.value if key in ("due", "done_on") else "text", value)
        for key, value in measure.items()
    }


def display(field_type: str, unit: str, raw) -> str:
    if is_blank(raw):
        return str(UNANSWERED)
    if field_type == CHOICE:
        return choice_label(raw)
    return format_answer(field_type, raw, unit)


def display_date(raw) -> str:
    day = parse_date(raw)
    return format_long_date(day) if day else str(raw or "")


def choice_label(raw) -> str:
    """The label of a report's code: a category, a severity or a measure's status."""
    return labels.name(CODES, raw)


def public_answers(publication: Publication) -> list[Answer]:
    """The answers of ``publication`` the public sees: the one decision that the page, the
    API, the search index and the compare pages all read.

    Only answers the publisher chose (or redacted), of the version the publication pins
    (never a later one), and only those the page can show: the request's fields in their
    order (a file field by its published documents), then, of a deviation report or an
    action plan, the report's own fields in their order. Nothing else, whatever key it
    was stored under.
    """
    if publication.state.value != "published":
        return []
    stored = shown_answers(publication)
    submission = publication.submission
    documents = public_documents(publication)
    answers: list[Answer] = []
    if submission.request is not None:
        for f in submission.request.fields:
            files = [d for d in documents if d.attachment.slot == f.key]
            if f.key not in stored and not (f.type == FieldType.FILE and files):
                continue
            answers.append(
                Answer(f.key, f.label, f.type.value, f.unit or "", stored.get(f.key), files)
            )
    if submission.kind != SubmissionKind.TRANSPARENCY_INFO:
        asked = {a.key for a in answers}
        for key, (label, field_type) in REPORT_FIELDS.items():
            if key in stored and key not in asked:
                answers.append(Answer(key, str(label), field_type, "", stored[key]))
    return answers


def is_report(publication: Publication) -> bool:
    return publication.submission.kind != SubmissionKind.TRANSPARENCY_INFO
