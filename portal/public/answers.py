"""The public answers of a publication, as the page, the API and the CSV show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import format_date, format_decimal
from flask_babel import lazy_gettext as _l

from portal.models import FieldType, Publication, PublishedDocument, SubmissionKind
from portal.search import SHOWN_MEASURE_KEYS, public_documents, shown_answers

# Answers of deviation reports and action plans are not request fields; their keys:
REPORT_FIELDS: dict[str, tuple] = {
    "category": (_l("Kategori"), "choice"),
    "severity": (_l("Allvarlighetsgrad"), "choice"),
    "occurred_on": (_l("Inträffade"), FieldType.DATE.value),
    "description": (_l("Vad som hände"), FieldType.TEXT.value),
    "immediate_measures": (_l("Omedelbara åtgärder"), FieldType.TEXT.value),
    "measures": (_l("Åtgärder"), "measures"),
}
CHOICES = {
    "complaint": _l("Klagomål"),
    "error": _l("Fel"),
    "deficiency": _l("Brist"),
    "deviation": _l("Avvikelse"),
    "low": _l("Låg"),
    "medium": _l("Medel"),
    "high": _l("Hög"),
    "planned": _l("Planerad"),
    "in_progress": _l("Pågår"),
    "done": _l("Genomförd"),
}
UNANSWERED = _l("Ej besvarad")
NOT_PUBLISHED = _l("Ej publicerad")


def parse_number(raw) -> Decimal | None:
    """A stored numeric answer ("1 234,5", "78", "78 %") as a Decimal, or None."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float | Decimal):
        return Decimal(str(raw))
    cleaned = "".join(ch for ch in str(raw) if not ch.isspace() and ch != "%")
    cleaned = cleaned.replace(",", ".").replace("\u2212", "-")
    if not cleaned:
        return None
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_date(raw) -> date | None:
    try:
        return date.fromisoformat(str(raw)[:10])
    except (TypeError, ValueError):
        return None


def parse_yes_no(raw) -> bool | None:
    if isinstance(raw, bool):
        return raw
    text = str(raw or "").strip().lower()
    if text in ("yes", "ja", "true", "1", "y", "j"):
        return True
    if text in ("no", "nej", "false", "0", "n"):
        return False
    return None


def is_blank(raw) -> bool:
    return raw is None or raw == "" or raw == [] or raw == {}


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
        if self.type == "measures" and isinstance(self.raw, list):
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
    if is_blank(raw):
        return None
    if field_type in (FieldType.NUMBER.value, FieldType.PERCENTAGE.value):
        number = parse_number(raw)
        if number is None:
            return str(raw)
        return int(number) if number == number.to_integral_value() else float(number)
    if field_type == FieldType.YES_NO.value:
        answer = parse_yes_no(raw)
        return str(raw) if answer is None else answer
    if field_type == FieldType.DATE.value:
        day = parse_date(raw)
        return day.isoformat() if day else str(raw)
    if field_type == "choice":
        return str(raw)
    if field_type == "measures":
        return raw if isinstance(raw, list) else str(raw)
    return str(raw)


def normalised_measure(measure: dict) -> dict:
    """One measure for machines: the page's columns, dates in ISO 8601, status as its code."""
    return {
        key: normalised(FieldType.DATE.value if key in ("due", "done_on") else "text", value)
        for key, value in measure.items()
    }


def unit_suffix(field_type: str, unit: str) -> str:
    if field_type == FieldType.PERCENTAGE.value and unit in ("", "%"):
        return "\u00a0%"
    return f"\u00a0{unit}" if unit else ""


def display(field_type: str, unit: str, raw) -> str:
    if is_blank(raw):
        return str(UNANSWERED)
    if field_type in (FieldType.NUMBER.value, FieldType.PERCENTAGE.value):
        number = parse_number(raw)
        if number is None:
            return str(raw)
        return format_decimal(number, format="#,##0.###") + unit_suffix(field_type, unit)
    if field_type == FieldType.YES_NO.value:
        answer = parse_yes_no(raw)
        return str(raw) if answer is None else str(_l("Ja") if answer else _l("Nej"))
    if field_type == FieldType.DATE.value:
        day = parse_date(raw)
        return format_date(day, "long") if day else str(raw)
    if field_type == "choice":
        return str(CHOICES.get(str(raw), raw))
    return str(raw)


def display_date(raw) -> str:
    day = parse_date(raw)
    return format_date(day, "long") if day else str(raw or "")


def choice_label(raw) -> str:
    return str(CHOICES.get(str(raw), raw or ""))


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
