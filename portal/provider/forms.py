"""The provider's forms: answer sheets built from a submission, their parsing and validation.

A *sheet* lists the questions of one submission: the kind's own questions
(deviation report: category, severity, ...; action plan: its measures) and the
request's fields. Reading a posted form gives raw strings; :func:`evaluate`
turns them into canonical answers and Swedish messages next to each field.
Drafts keep what was typed, even when it is not valid yet; a submit needs
every required answer in a valid form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from portal.dates import today
from portal.models import (
    Agreement,
    RequestField,
    ReviewState,
    Role,
    Submission,
    SubmissionKind,
)
from portal.pii import find_personal_data
from portal.provider.answers import CATEGORY_LABELS, MEASURE_STATUS_LABELS, SEVERITY_LABELS

TEXT_MAX = 20_000
LINE_MAX = 300
REASON_MAX = 2000  # the reason given for a confidentiality marking
MEASURE_ROWS_EMPTY = 1  # blank measure rows offered in a new plan


@dataclass(frozen=True)
class Spec:
    """One question on a sheet."""

    key: str
    label: str
    kind: str  # line, text, number, percentage, yes_no, date, file, choice
    required: bool = True
    help: str = ""
    unit: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = TEXT_MAX
    not_in_future: bool = False
    public: bool = False  # the request means the answer for publication

    @property
    def free_text(self) -> bool:
        return self.kind in ("line", "text")

    @property
    def markable(self) -> bool:
        """The provider may mark the answer as confidential (the files of a file question
        are marked one by one). The title and the choices of a report are not secrets."""
        return self.key != "title" and self.kind != "choice"


def spec_for_field(request_field: RequestField) -> Spec:
    return Spec(
        key=request_field.key,
        label=request_field.label,
        kind=str(request_field.type),
        required=request_field.required,
        help=request_field.help_text,
        unit=request_field.unit,
        public=request_field.for_publication,
    )


def deviation_specs(agreements: list[Agreement], *, title_editable: bool) -> list[Spec]:
    specs = []
    if title_editable:
        specs.append(
            Spec(
                "title",
                str(_l("Rubrik")),
                "line",
                max_length=LINE_MAX,
                help=str(_l("Kort och utan namn, till exempel ”Fördröjd läkemedelsutdelning”.")),
            )
        )
    if agreements:
        specs.append(
            Spec(
                "agreement_id",
                str(_l("Avtal och verksamhet")),
                "choice",
                choices=tuple(
                    (str(a.id), f"{a.reference} – {a.service_area.name} ({a.committee.name})")
                    for a in agreements
                ),
            )
        )
    specs += [
        Spec(
            "category",
            str(_l("Typ av händelse")),
            "choice",
            choices=tuple((k, str(v)) for k, v in CATEGORY_LABELS.items()),
            help=str(
                _l(
                    "Klagomål: någon har klagat på verksamheten. Fel: något blev fel i "
                    "utförandet. Brist: verksamheten uppfyller inte ett krav. Avvikelse: "
                    "något avvek från rutin, avtal eller föreskrift."
                )
            ),
        ),
        Spec(
            "severity",
            str(_l("Allvarlighetsgrad")),
            "choice",
            choices=tuple((k, str(v)) for k, v in SEVERITY_LABELS.items()),
        ),
        Spec("occurred_on", str(_l("När hände det?")), "date", not_in_future=True),
        Spec(
            "description",
            str(_l("Vad hände?")),
            "text",
            help=str(
                _l(
                    "Beskriv händelsen utan namn, personnummer eller annat som kan "
                    "identifiera den enskilda personen."
                )
            ),
        ),
        Spec("immediate_measures", str(_l("Vilka åtgärder vidtogs direkt?")), "text"),
        Spec(
            "attachments",
            str(_l("Bilagor")),
            "file",
            required=False,
            help=str(_l("Till exempel en händelseanalys. Ta bort personuppgifter först.")),
        ),
    ]
    return specs


@dataclass
class Sheet:
    """The questions of one submission, in the order they are asked."""

    submission: Submission
    specs: list[Spec]
    has_measures: bool = False
    progress_only: bool = False  # an approved plan: only progress may change

    @property
    def title_editable(self) -> bool:
        return any(s.key == "title" for s in self.specs)

    @property
    def publication(self) -> str:
        """Whether the request means ``all``, ``some`` or ``none`` of its answers for the public."""
        asked = [s for s in self.specs if s.key.startswith("f") and s.key[1:].isdigit()]
        public = [s for s in asked if s.public]
        if not public:
            return "none"
        return "all" if len(public) == len(asked) else "some"

    @property
    def file_specs(self) -> list[Spec]:
        return [s for s in self.specs if s.kind == "file"]

    @property
    def stored_specs(self) -> list[Spec]:
        """The specs whose values go into ``answers`` (title lives on the submission)."""
        return [s for s in self.specs if s.key != "title" and s.kind != "file"]


def sheet_for(submission: Submission, agreements: list[Agreement]) -> Sheet:
    """The sheet of ``submission``; ``agreements`` are the organisation's own."""
    specs: list[Spec] = []
    # Reports the provider started itself carry its own title; asked ones the committee's.
    own_initiative = submission.request_id is None and submission.deadline is None
    if submission.kind == SubmissionKind.DEVIATION_REPORT:
        if not own_initiative:
            agreements = [a for a in agreements if a.committee_id == submission.committee_id]
        specs += deviation_specs(agreements, title_editable=own_initiative)
    elif submission.kind == SubmissionKind.ACTION_PLAN and own_initiative:
        specs.append(Spec("title", str(_l("Rubrik")), "line", max_length=LINE_MAX))
    if submission.request is not None:
        specs += [spec_for_field(f) for f in submission.request.fields]
    progress_only = (
        submission.kind == SubmissionKind.ACTION_PLAN and submission.state == ReviewState.APPROVED
    )
    return Sheet(
        submission=submission,
        # After approval only the measures' progress changes; the rest stays as approved.
        specs=[] if progress_only else specs,
        has_measures=submission.kind == SubmissionKind.ACTION_PLAN,
        progress_only=progress_only,
    )


# Values -------------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f]")
_DECIMAL = re.compile(r"-?\d{1,15}(\.\d{1,6})?")


def parse_decimal(raw: str) -> str | None:
    """``1 234,5`` or ``1234.5`` → ``1234.5``; None when it is not a number."""
    cleaned = _SPACES.sub("", raw).replace("\u2212", "-")
    if "," in cleaned and "." not in cleaned and cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    if not _DECIMAL.fullmatch(cleaned):
        return None
    try:
        text = f"{Decimal(cleaned):f}"
    except InvalidOperation:
        return None
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def for_input(spec: Spec, value) -> str:
    """A stored value as it is put back into its input (decimal comma for numbers)."""
    if value is None:
        return ""
    if spec.kind in ("number", "percentage"):
        return str(value).replace(".", ",")
    return str(value)


def check(spec: Spec, raw: str, *, final: bool, files: int = 0) -> tuple[object, str | None]:
    """The canonical value of ``raw`` for ``spec`` and the problem with it, if any."""
    raw = (raw or "").strip()
    if spec.kind == "file":
        if final and spec.required and not files:
            return None, str(_l("Bifoga minst en fil."))
        return None, None
    if not raw:
        if final and spec.required:
            if spec.kind in ("choice", "yes_no"):
                return "", str(_l("Välj ett av alternativen."))
            return "", str(_l("Fyll i svaret."))
        return "", None
    if spec.kind in ("line", "text"):
        if len(raw) > spec.max_length:
            return raw, str(
                _l(
                    "Svaret får vara högst %(max)d tecken långt (nu %(n)d).",
                    max=spec.max_length,
                    n=len(raw),
                )
            )
        return raw, None
    if spec.kind == "number":
        value = parse_decimal(raw)
        if value is None:
            return raw, str(_l("Ange ett tal, till exempel 1 234 eller 12,5."))
        return value, None
    if spec.kind == "percentage":
        value = parse_decimal(raw.rstrip("%").rstrip())
        if value is None or not 0 <= Decimal(value) <= 100:
            return raw, str(_l("Ange en procentsats mellan 0 och 100, till exempel 85 eller 85,5."))
        return value, None
    if spec.kind == "yes_no":
        if raw not in ("yes", "no"):
            return raw, str(_l("Välj ja eller nej."))
        return raw, None
    if spec.kind == "date":
        parsed = parse_date(raw)
        if parsed is None:
            return raw, str(_l("Ange datum som ÅÅÅÅ-MM-DD, till exempel 2026-03-31."))
        if spec.not_in_future and parsed > today():
            return raw, str(_l("Datumet kan inte vara senare än i dag."))
        return parsed.isoformat(), None
    if spec.kind == "choice":
        if raw not in {value for value, _label in spec.choices}:
            return raw, str(_l("Välj ett av alternativen."))
        return int(raw) if spec.key.endswith("_id") else raw, None
    raise ValueError(f"unknown field kind {spec.kind}")


# Posted forms -------------------------------------------------------------------------------

MEASURE_FIELDS = ("description", "owner", "due", "status", "done_on")


@dataclass(frozen=True)
class Mark:
    """A confidentiality marking as posted: the box and the reason."""

    checked: bool = False
    reason: str = ""

    @property
    def reason_text(self) -> str:
        return self.reason.strip()


@dataclass
class Posted:
    """What the browser sent, as raw strings."""

    values: dict[str, str]
    note: str = ""
    measures: list[dict] = field(default_factory=list)
    remove_files: set[int] = field(default_factory=set)
    pii_confirmed: bool = False
    lock_version: int | None = None
    action: str = "save"
    # Confidentiality markings: of answers by field key (of a file question: the files
    # uploaded with this post), and of files already kept, by attachment id.
    marks: dict[str, Mark] = field(default_factory=dict)
    file_marks: dict[int, Mark] = field(default_factory=dict)


def _int(raw) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def read_posted(sheet: Sheet, form) -> Posted:
    values = {s.key: form.get(s.key, "") for s in sheet.specs if s.kind != "file"}
    measures = []
    if sheet.has_measures:
        count = min(_int(form.get("measure_count")) or 0, 100)
        for i in range(count):
            row = {name: form.get(f"m-{i}-{name}", "") for name in MEASURE_FIELDS}
            row["evidence_id"] = _int(form.get(f"m-{i}-evidence_id"))
            row["remove"] = form.get(f"m-{i}-remove") == "1"
            row["index"] = i
            measures.append(row)
    return Posted(
        values=values,
        note=form.get("note", ""),
        measures=measures,
        remove_files={i for i in (_int(v) for v in form.getlist("remove_file")) if i},
        pii_confirmed=form.get("pii_confirmed") == "1",
        lock_version=_int(form.get("lock_version")),
        action=form.get("action", "save"),
        marks={
            s.key: mark
            for s in sheet.specs
            if s.markable and (mark := _mark(form, f"confidential-{s.key}"))
        },
        file_marks={
            i: _mark(form, f"confidential-file-{i}") or Mark()
            for i in (_int(v) for v in form.getlist("confidential_files"))
            if i
        },
    )


def _mark(form, name: str) -> Mark | None:
    checked = form.get(name) == "1"
    reason = form.get(f"{name}-reason", "")
    return Mark(checked, reason) if checked or reason.strip() else None


def posted_from(sheet: Sheet, version) -> Posted:
    """The stored draft ``version`` as if it had been posted: to check it again before it
    is sent, with the same rules as the form."""
    answers = version.answers or {}
    values = {s.key: for_input(s, answers.get(s.key)) for s in sheet.specs if s.kind != "file"}
    if sheet.title_editable:
        values["title"] = sheet.submission.title
    measures = [
        {
            "index": i,
            **{name: str(m.get(name) or "") for name in MEASURE_FIELDS},
            "evidence_id": m.get("evidence"),
            "remove": False,
        }
        for i, m in enumerate(answers.get("measures", []) if sheet.has_measures else [])
    ]
    return Posted(
        values=values,
        note=version.note or "",
        measures=measures,
        marks={k: Mark(True, r) for k, r in (version.confidential or {}).items()},
        file_marks={
            a.id: Mark(True, a.confidential_reason)
            for a in version.attachments
            if a.confidential_reason is not None
        },
        action="submit",
    )


@dataclass
class Evaluation:
    answers: dict
    title: str | None
    errors: dict[str, str]
    # The marked answers, {field key: reason} (files are marked on their attachment).
    confidential: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def evaluate(
    sheet: Sheet,
    posted: Posted,
    *,
    final: bool,
    files_by_slot: dict[str, int],
    base_measures: list[dict] | None = None,
    valid_evidence: set[int] = frozenset(),
) -> Evaluation:
    """Canonical answers (raw text kept where invalid) and the problems, keyed by input name.

    ``base_measures`` are the measures of the approved plan when only progress may change.
    """
    answers: dict = {}
    errors: dict[str, str] = {}
    title = None
    for spec in sheet.specs:
        raw = posted.values.get(spec.key, "")
        value, problem = check(spec, raw, final=final, files=files_by_slot.get(spec.key, 0))
        if problem:
            errors[spec.key] = problem
        if spec.key == "title":
            title = str(value or "")
        elif spec.kind != "file" and value not in ("", None):
            answers[spec.key] = value
    if sheet.has_measures:
        answers["measures"] = _evaluate_measures(
            sheet, posted, final, errors, base_measures or [], valid_evidence
        )
    note_max = TEXT_MAX
    if len(posted.note) > note_max:
        errors["note"] = str(_l("Kommentaren får vara högst %(max)d tecken lång.", max=note_max))
    confidential = {}
    for spec in sheet.specs:
        mark = posted.marks.get(spec.key)
        if mark is None or not spec.markable:
            continue
        problem = mark_problem(mark, final=final)
        if problem:
            errors[f"confidential-{spec.key}"] = problem
        if mark.checked and spec.kind != "file":
            confidential[spec.key] = mark.reason_text[:REASON_MAX]
    for attachment_id, mark in posted.file_marks.items():
        problem = mark_problem(mark, final=final)
        if problem:
            errors[f"confidential-file-{attachment_id}"] = problem
    return Evaluation(answers=answers, title=title, errors=errors, confidential=confidential)


def mark_problem(mark: Mark, *, final: bool) -> str | None:
    """What is wrong with a confidentiality marking, if anything. A draft may keep a marking
    without its reason; a reason without the box ticked is never taken for a marking."""
    if mark.checked and not mark.reason_text and final:
        return str(_l("Motivera varför uppgiften omfattas av sekretess."))
    if not mark.checked and mark.reason_text:
        return str(
            _l("Kryssa i rutan om uppgiften ska sekretessmarkeras, eller ta bort motiveringen.")
        )
    if len(mark.reason_text) > REASON_MAX:
        return str(
            _l(
                "Motiveringen får vara högst %(max)d tecken lång (nu %(n)d).",
                max=REASON_MAX,
                n=len(mark.reason_text),
            )
        )
    return None


def marked_reason(mark: Mark | None) -> str | None:
    """The reason to keep for a marking as posted; None: not marked."""
    if mark is None or not mark.checked:
        return None
    return mark.reason_text[:REASON_MAX]


def _evaluate_measures(sheet, posted, final, errors, base_measures, valid_evidence) -> list:
    measures = []
    for row in posted.measures:
        i = row["index"]
        if sheet.progress_only:
            if i >= len(base_measures):
                continue
            base = base_measures[i]
            row = {**row, **{k: base.get(k, "") for k in ("description", "owner", "due")}}
        elif row["remove"]:
            continue
        evidence = row["evidence_id"] if row["evidence_id"] in valid_evidence else None
        blank = not any((row[k] or "").strip() for k in ("description", "owner", "due", "done_on"))
        if blank and evidence is None and not sheet.progress_only:
            continue
        measure = {}
        for name in ("description", "owner"):
            value = (row[name] or "").strip()
            limit = TEXT_MAX if name == "description" else LINE_MAX
            if final and not value:
                missing = (
                    _l("Beskriv åtgärden.")
                    if name == "description"
                    else _l("Ange vem som ansvarar.")
                )
                errors[f"m-{i}-{name}"] = str(missing)
            elif len(value) > limit:
                errors[f"m-{i}-{name}"] = str(_l("Texten är för lång."))
            measure[name] = value
        due = (row["due"] or "").strip()
        if due and parse_date(due) is None:
            errors[f"m-{i}-due"] = str(_l("Ange datum som ÅÅÅÅ-MM-DD, till exempel 2026-03-31."))
        elif final and not due:
            errors[f"m-{i}-due"] = str(_l("Ange när åtgärden ska vara genomförd."))
        measure["due"] = parse_date(due).isoformat() if parse_date(due) else due
        status = row["status"] if row["status"] in MEASURE_STATUS_LABELS else "planned"
        measure["status"] = status
        done_on = (row["done_on"] or "").strip()
        if status == "done":
            parsed = parse_date(done_on) if done_on else None
            if done_on and parsed is None:
                errors[f"m-{i}-done_on"] = str(
                    _l("Ange datum som ÅÅÅÅ-MM-DD, till exempel 2026-03-31.")
                )
            elif parsed and parsed > today():
                errors[f"m-{i}-done_on"] = str(_l("Datumet kan inte vara senare än i dag."))
            elif final and not done_on:
                errors[f"m-{i}-done_on"] = str(_l("Ange när åtgärden genomfördes."))
            measure["done_on"] = parsed.isoformat() if parsed else done_on
            if final and evidence is None:
                errors[f"m-{i}-evidence"] = str(
                    _l("Bifoga underlag som visar att åtgärden är genomförd.")
                )
        if evidence is not None:
            measure["evidence"] = evidence
        measures.append(measure)
    if final and not measures:
        errors["measures"] = str(_l("Planen behöver minst en åtgärd."))
    return measures


@dataclass(frozen=True)
class IdentityWarning:
    label: str
    masked: str


def identity_numbers(sheet: Sheet, posted: Posted) -> list[IdentityWarning]:
    """Where the free text seems to hold a personnummer or samordningsnummer."""
    texts = [(s.label, posted.values.get(s.key, "")) for s in sheet.specs if s.free_text]
    texts.append((str(_l("Kommentar till kommunen")), posted.note))
    for n, row in enumerate(posted.measures, 1):
        if not row.get("remove"):
            texts.append((str(_l("Åtgärd %(n)d", n=n)), row.get("description", "")))
    return [
        IdentityWarning(label, hit.masked)
        for label, text in texts
        for hit in find_personal_data(text)
        if hit.is_identity_number
    ]


# Organisation -------------------------------------------------------------------------------


def _normalised_address(value: str | None) -> str | None:
    # As accounts store them, so that every spelling of one address is the same invitation.
    return value.strip().lower() if isinstance(value, str) else value


class InviteForm(FlaskForm):
    email = EmailField(
        _l("E-postadress"),
        filters=[_normalised_address],
        validators=[
            DataRequired(_l("Ange e-postadressen.")),
            Email(_l("Ange en giltig e-postadress.")),
            Length(max=254),
        ],
    )
    name = StringField(
        _l("Namn"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[Length(max=200)],
    )
    role = RadioField(
        _l("Behörighet"),
        choices=[
            SelectChoice(
                Role.PROVIDER_USER.value, _l("Medarbetare: svarar på begäranden och rapporterar")
            ),
            SelectChoice(
                Role.PROVIDER_ADMIN.value,
                _l("Administratör: kan dessutom bjuda in och inaktivera kollegor"),
            ),
        ],
        default=Role.PROVIDER_USER.value,
        validators=[DataRequired(_l("Välj behörighet."))],
    )
