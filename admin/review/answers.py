"""A submission's answers as staff read them: labelled, formatted, and compared between versions."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field

from portal import labels
from portal.formatting import format_answer
from portal.models import (
    Attachment,
    FieldType,
    RequestField,
    Submission,
    SubmissionKind,
    SubmissionVersion,
)

PUBLIC_REPORT_KEYS = {"category", "severity", "occurred_on", "immediate_measures", "measures"}


@dataclass
class Answer:
    key: str
    label: str
    text: str  # the answer as one line of plain text ("" when not answered)
    request_field: RequestField | None = None
    attachments: list[Attachment] = dataclass_field(default_factory=list)
    measures: list[dict] | None = None  # an action plan's measures, formatted

    @property
    def answered(self) -> bool:
        return bool(self.text) or bool(self.attachments) or bool(self.measures)

    @property
    def publishable_by_default(self) -> bool:
        """Chosen for publication until the publisher says otherwise.

        Request fields say so themselves; of a report, the free-text account of what
        happened is left out by default (it is where details about people end up).
        """
        if self.request_field is not None:
            return self.request_field.for_publication
        return self.key in PUBLIC_REPORT_KEYS


@dataclass
class Change:
    label: str
    before: str
    after: str


def format_value(value, field_: RequestField | None = None) -> str:
    if field_ is not None:
        return format_answer(field_.type, value, field_.unit or "")
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return labels.yes_no(value)
    if isinstance(value, list):
        return "; ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return str(value)


# The columns of a measure staff read (its evidence is a file of the version).
MEASURE_KEYS = ("description", "owner", "due", "status", "done_on", "effect")


def _measure(m: dict) -> dict:
    out = {}
    for key in MEASURE_KEYS:
        value = m.get(key, "")
        if key == "status":
            value = labels.name(labels.MEASURE_STATUS, value)
        out[str(labels.MEASURE_FIELDS[key])] = value
    return out


def _measures_text(measures: list[dict]) -> str:
    return " | ".join("; ".join(f"{k}: {v}" for k, v in _measure(m).items() if v) for m in measures)


# How a deviation report's answers read, by key (the rest are text).
DEVIATION_VALUES = {
    "category": lambda code: labels.name(labels.CATEGORY, code),
    "severity": lambda code: labels.name(labels.SEVERITY, code),
    "occurred_on": lambda day: format_answer(FieldType.DATE, day),
}


def answers_of(submission: Submission, version: SubmissionVersion | None) -> list[Answer]:
    """The answers of ``version`` in the order the request or the form asks them."""
    values = dict(version.answers or {}) if version is not None else {}
    files = list(version.attachments) if version is not None else []
    rows: list[Answer] = []
    if submission.request is not None and submission.kind == SubmissionKind.TRANSPARENCY_INFO:
        for f in submission.request.fields:
            value = values.pop(f.key, None)
            rows.append(
                Answer(
                    key=f.key,
                    label=f.label,
                    text="" if f.type == FieldType.FILE else format_value(value, f),
                    request_field=f,
                    attachments=[a for a in files if a.slot == f.key],
                )
            )
    else:
        for key, label in labels.DEVIATION_FIELDS.items():
            if key in values:
                value = values.pop(key)
                text = DEVIATION_VALUES[key](value) if key in DEVIATION_VALUES else value
                rows.append(Answer(key=key, label=str(label), text=format_value(text)))
        if "measures" in values:
            measures = [m for m in values.pop("measures") or [] if isinstance(m, dict)]
            rows.append(
                Answer(
                    key="measures",
                    label=str(labels.MEASURES),
                    text=_measures_text(measures),
                    measures=[_measure(m) for m in measures],
                )
            )
    for key, value in values.items():  # whatever else the provider's form kept
        rows.append(Answer(key=key, label=key, text=format_value(value)))
    placed = {id(a) for row in rows for a in row.attachments}
    loose = [a for a in files if id(a) not in placed]
    if loose:
        rows.append(Answer(key="files", label=str(labels.ATTACHMENTS), text="", attachments=loose))
    return rows


def changes_between(
    submission: Submission, before: SubmissionVersion, after: SubmissionVersion
) -> list[Change]:
    """What differs from ``before`` to ``after``: answers, and files by content."""
    old = {a.key: a for a in answers_of(submission, before)}
    new = {a.key: a for a in answers_of(submission, after)}
    out = []
    for key in [*new, *(k for k in old if k not in new)]:
        a, b = old.get(key), new.get(key)
        label = (b or a).label
        before_text = _with_files(a)
        after_text = _with_files(b)
        if before_text != after_text:
            out.append(Change(label, before_text, after_text))
    return out


def _with_files(answer: Answer | None) -> str:
    if answer is None:
        return ""
    names = [f"{a.display_name} ({a.sha256[:8]})" for a in answer.attachments]
    return " ".join(filter(None, [answer.text, ", ".join(names)]))
