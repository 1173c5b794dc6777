"""The public answers of a publication, as the page, the API and the CSV show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import format_date, format_decimal
from flask_babel import lazy_gettext as _l

from portal.models import FieldType, Publication, PublishedDocument, SubmissionKind
from portal.search import public_documents, shown_answers

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
        """The answer normalised for machines: number, bool, ISO date, text, or None."""
        return normalised(self.type, self.raw)

    @property
    def display(self) -> str:
        """The answer as a person reads it, in the current language."""
        return display(self.type, self.unit, self.raw)

    @property
    def measures(self) -> list[dict]:
        return [m for m in self.raw if isinstance(m, dict)] if isinstance(self.raw, list) else []


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
    """The answers the publisher made public, in the order they were asked."""
    if publication.state.value != "published":
        return []
    stored = shown_answers(publication)
    keys = list(stored)
    submission = publication.submission
    documents = public_documents(publication)
    answers: list[Answer] = []
    if submission.request is not None:
        for f in submission.request.fields:
            files = [d for d in documents if d.attachment.slot == f.key]
            if f.key not in keys and not (f.type == FieldType.FILE and files):
                continue
            answers.append(
                Answer(f.key, f.label, f.type.value, f.unit or "", stored.get(f.key), files)
            )
        return answers
    for key in sorted(
        keys,
        key=lambda k: list(REPORT_FIELDS).index(k) if k in REPORT_FIELDS else len(REPORT_FIELDS),
    ):
        label, field_type = REPORT_FIELDS.get(key, (key.replace("_", " ").capitalize(), "text"))
        answers.append(Answer(key, str(label), field_type, "", stored.get(key)))
    return answers


def is_report(publication: Publication) -> bool:
    return publication.submission.kind != SubmissionKind.TRANSPARENCY_INFO
