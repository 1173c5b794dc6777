"""Answering: the forms for requests, deviation reports and action plans.

Each POST follows the same steps: load the submission for ``answer`` (404 for
another organisation's), read the form, let :mod:`portal.provider.operations`
keep the draft and files and, when asked, submit through the workflow; commit
once; then redirect, or show the form again with the messages next to the fields.
"""

from __future__ import annotations

import dataclasses
import re
import secrets

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal import policy, workflow
from portal.errors import Refusal, shows_form_on_refusal
from portal.extensions import db
from portal.models import (
    Agreement,
    CreationKey,
    Finding,
    ReviewEvent,
    ReviewState,
    Submission,
    SubmissionKind,
    User,
)
from portal.pii import find_personal_data
from portal.policy import Action
from portal.provider import bp
from portal.provider.answers import AnswerRow, answer_rows, measures_of
from portal.provider.forms import (
    MEASURE_ROWS_EMPTY,
    Mark,
    Posted,
    Sheet,
    Spec,
    for_input,
    read_posted,
    sheet_for,
)
from portal.provider.operations import (
    AlreadySent,
    DraftConflict,
    Outcome,
    check_draft,
    open_for_answer,
    save_answers,
    send_draft,
    settle_uploads,
    start_action_plan,
    start_deviation_report,
)
from storage import takes_files

S = ReviewState


def _agreements() -> list[Agreement]:
    return db.session.scalars(
        sa.select(Agreement)
        .where(Agreement.provider_id == current_user.provider_id)
        .order_by(Agreement.reference)
    ).all()


# Form state for the templates ----------------------------------------------------------------


def _values_from(sheet: Sheet, submission: Submission | None) -> dict[str, str]:
    source = (submission.current_draft or submission.latest) if submission else None
    answers = (source.answers or {}) if source else {}
    values = {s.key: for_input(s, answers.get(s.key)) for s in sheet.specs if s.kind != "file"}
    if sheet.title_editable and submission is not None and submission.versions:
        values["title"] = submission.title
    return values


def _measure_rows(submission: Submission | None, posted: Posted | None, extra: int) -> list[dict]:
    """Rows for the measures table. Posted rows keep their input index, so that the
    messages (keyed ``m-<index>-<field>``) stay next to the right inputs."""
    source = (submission.current_draft or submission.latest) if submission else None
    attachments = {a.id: a for a in source.attachments} if source else {}
    if posted is not None:
        rows = [
            {**row, "evidence": attachments.get(row.get("evidence_id"))}
            for row in posted.measures
            if not row.get("remove")
        ]
    else:
        rows = [
            {
                "index": index,
                "description": m.description,
                "owner": m.owner,
                "due": m.due,
                "status": m.status,
                "done_on": m.done_on,
                "evidence": m.evidence,
            }
            for index, m in enumerate(measures_of(source))
        ]
    if not rows:
        extra = max(extra, MEASURE_ROWS_EMPTY)
    start = max((row["index"] for row in rows), default=-1) + 1
    rows += [
        {
            "index": start + n,
            "description": "",
            "owner": "",
            "due": "",
            "status": "planned",
            "done_on": "",
            "evidence": None,
        }
        for n in range(extra)
    ]
    return rows


MEASURE_FIELD_LABELS = {
    "description": _l("beskrivning"),
    "owner": _l("ansvarig"),
    "due": _l("klar senast"),
    "status": _l("status"),
    "done_on": _l("genomförd den"),
    "evidence": _l("underlag"),
}


def _error_items(
    sheet: Sheet, errors: dict[str, str], file_names: dict[int, str] | None = None
) -> list[tuple[str, str, str]]:
    """(anchor, label, message) for the summary at the top of the form."""
    labels = {s.key: s.label for s in sheet.specs}
    items = []
    for key, message in errors.items():
        if key.startswith("confidential-file-"):
            name = (file_names or {}).get(int(key.rsplit("-", 1)[1]), _("Filen"))
            items.append((key, _("%(name)s, sekretessmarkering", name=name), message))
        elif key.startswith("confidential-"):
            label = labels.get(key.removeprefix("confidential-"), key)
            items.append((key, _("%(name)s, sekretessmarkering", name=label), message))
        elif key.startswith("m-"):
            _prefix, index, name = key.split("-", 2)
            label = _(
                "Åtgärd %(n)s, %(field)s",
                n=int(index) + 1,
                field=MEASURE_FIELD_LABELS.get(name, name),
            )
            items.append((key, label, message))
        elif key == "note":
            items.append(("note", _("Kommentar"), message))
        elif key == "measures":
            items.append(("atgarder", _("Planens åtgärder"), message))
        elif key == "form":
            items.append(("svar", _("Det ni skickade"), message))
        else:
            items.append((f"fld-{key}", labels.get(key, key), message))
    return items


def _heading(sheet: Sheet, submission: Submission | None, kind: SubmissionKind) -> str:
    """What the page is for, in words of its own (the kind is not repeated as a heading)."""
    if sheet.progress_only:
        return _("Rapportera framsteg")
    if submission is not None and submission.state == S.CLARIFICATION_REQUESTED:
        if kind == SubmissionKind.DEVIATION_REPORT:
            return _("Komplettera avvikelserapporten")
        if kind == SubmissionKind.ACTION_PLAN:
            return _("Komplettera åtgärdsplanen")
        return _("Komplettera svaret")
    if submission is not None and submission.request is not None:
        return _("Svara på begäran")
    asked = submission is not None and submission.deadline is not None
    if kind == SubmissionKind.DEVIATION_REPORT:
        return _("Lämna avvikelserapport") if asked else _("Rapportera en avvikelse")
    return _("Lämna åtgärdsplan") if asked else _("Ny åtgärdsplan")


def _render(
    sheet: Sheet,
    submission: Submission | None,
    *,
    posted: Posted | None = None,
    outcome: Outcome | None = None,
    status: int = 200,
    conflict: bool = False,
    extra_rows: int = 0,
    new_kind: SubmissionKind | None = None,
    basis=None,
    errors: dict[str, str] | None = None,
    lock_version: int | None = None,
):
    errors = {**(outcome.evaluation.errors if outcome else {}), **(errors or {})}
    draft = outcome.draft if outcome else None
    source = draft or ((submission.current_draft or submission.latest) if submission else None)
    files: dict[str, list] = {}
    for attachment in source.attachments if source else []:
        files.setdefault(attachment.slot, []).append(attachment)
    values = posted.values if posted is not None else _values_from(sheet, submission)
    clarification = None
    if submission is not None and submission.state == S.CLARIFICATION_REQUESTED:
        clarification = db.session.scalar(
            sa.select(ReviewEvent)
            .where(
                ReviewEvent.submission_id == submission.id,
                ReviewEvent.action == "ask_clarification",
            )
            .order_by(ReviewEvent.id.desc())
            .limit(1)
        )
    draft_version = submission.current_draft if submission is not None else None
    note = posted.note if posted is not None else (draft_version.note if draft_version else "")
    marks, file_marks = _marks(sheet, source, posted)
    file_names = {a.id: a.display_name for a in source.attachments} if source else {}
    return render_template(
        "provider/answer.html",
        sheet=sheet,
        submission=submission,
        values=values,
        errors=errors,
        error_items=_error_items(sheet, errors, file_names),
        files=files,
        marks=marks,
        file_marks=file_marks,
        measures=_measure_rows(submission, posted, extra_rows) if sheet.has_measures else [],
        note=note,
        identity=outcome.identity if outcome else [],
        conflict=conflict,
        clarification=clarification,
        new_kind=new_kind,
        basis=basis,
        draft=draft_version,
        lock_version=lock_version,
        draft_editor=db.session.get(User, draft_version.updated_by_id)
        if draft_version is not None and draft_version.updated_by_id
        else None,
        heading=_heading(sheet, submission, submission.kind if submission else new_kind),
    ), status


def _marks(sheet: Sheet, source, posted: Posted | None) -> tuple[dict, dict]:
    """The confidentiality markings the form shows: as posted, else as kept. A file
    question's own marking is for the files chosen with one post: it starts empty."""
    kept = (source.confidential or {}) if source is not None else {}
    if posted is not None:
        marks = {
            key: mark
            for key, mark in posted.marks.items()
            if key not in {s.key for s in sheet.file_specs}
        }
    else:
        marks = {key: Mark(True, reason) for key, reason in kept.items()}
    file_marks = {
        a.id: Mark(a.confidential_reason is not None, a.confidential_reason or "")
        for a in (source.attachments if source is not None else [])
    }
    if posted is not None:
        file_marks.update(posted.file_marks)
    return marks, file_marks


def _after_save(submission: Submission, sheet: Sheet, posted: Posted, outcome: Outcome):
    """Commit what was kept, wait a little for the new files' verdicts, then redirect or
    show the form with its messages. A submit that only waited for the scan of its files
    is sent now, in a transaction of its own."""
    db.session.commit()
    settle_uploads(outcome, current_user._get_current_object())
    db.session.commit()
    if outcome.sent:
        return _receipt(submission)
    if posted.action == "submit" and not outcome.problems:
        return _send_saved(
            submission,
            sheet,
            lock_version=submission.lock_version,
            pii_confirmed=posted.pii_confirmed,
            from_form=True,
        )
    if posted.action == "check" and not outcome.problems:
        return redirect(url_for("provider.check_answers", submission_id=submission.id), 303)
    if outcome.problems:
        if posted.action == "submit":
            message = _(
                "Inget är inskickat än. Utkastet är sparat; rätta det som är markerat "
                "och skicka in igen."
            )
        else:
            message = _(
                "Utkastet är sparat, men några uppgifter behöver rättas innan ni kan skicka in."
            )
        flash(message, "warning")
        status = outcome.refused_status or 422
        return _render(sheet, submission, posted=posted, outcome=outcome, status=status)
    if posted.action == "add_measure":
        return redirect(
            url_for("provider.answer", submission_id=submission.id, rader=1, _anchor="atgarder"),
            303,
        )
    flash(_("Utkastet är sparat. Ni och era kollegor kan fortsätta på det senare."), "info")
    return redirect(url_for("provider.answer", submission_id=submission.id), 303)


def _receipt(submission: Submission):
    """Sent (and committed): thanks, and the receipt."""
    version = submission.submitted_versions[-1]
    if submission.state == S.APPROVED:
        flash(
            _(
                "Lägesrapporten är inskickad. Kommunen har fått den som version %(n)d.",
                n=version.number,
            ),
            "info",
        )
    else:
        flash(
            _(
                "Tack! Kommunen har tagit emot det ni skickade. Diarienummer: %(number)s.",
                number=submission.registration_number,
            ),
            "info",
        )
    return redirect(
        url_for("provider.receipt", submission_id=submission.id, number=version.number), 303
    )


def _already_sent(submission: Submission):
    """A second click on submit, or a colleague was first: show what was sent."""
    db.session.rollback()
    submission = db.session.get(Submission, submission.id)
    if submission.submitted_versions and submission.state != S.WITHDRAWN:
        version = submission.submitted_versions[-1]
        flash(
            _(
                "Det här är redan inskickat (diarienummer %(number)s). Här är kvittot.",
                number=submission.registration_number,
            ),
            "info",
        )
        return redirect(
            url_for("provider.receipt", submission_id=submission.id, number=version.number), 303
        )
    flash(_("Ärendet kan inte ändras längre."), "info")
    return redirect(url_for("provider.submission", submission_id=submission.id), 303)


def _save(submission: Submission, sheet: Sheet, posted: Posted):
    try:
        outcome = save_answers(
            submission,
            current_user._get_current_object(),
            sheet,
            posted,
            request.files,
            send=posted.action == "submit",
            check=posted.action == "check",
        )
    except AlreadySent:
        return _already_sent(submission)
    except DraftConflict:
        db.session.rollback()
        flash(
            _(
                "Ärendet har ändrats sedan du öppnade sidan, av en kollega eller av kommunen, "
                "så dina ändringar är inte sparade. Dina uppgifter står kvar nedan (bifogade filer "
                "behöver väljas igen). Jämför med ärendet och spara igen."
            ),
            "warning",
        )
        return _render(sheet, submission, posted=posted, status=409, conflict=True)
    except workflow.WorkflowError as problem:
        db.session.rollback()
        fresh = db.session.get(Submission, submission.id)
        if not open_for_answer(fresh):
            return _already_sent(fresh)
        flash(str(problem.message), "error")
        return redirect(url_for("provider.answer", submission_id=submission.id), 303)
    return _after_save(submission, sheet, posted, outcome)


# A body refused while it was read (413) -------------------------------------------------
# portal/errors.py decides that the form is shown again; these show it, with what the user
# wrote when the body could be read, and the message next to the file that was too large.

_EVIDENCE_INPUT = re.compile(r"m-\d+-evidence")


def _refusal_errors(sheet: Sheet, refusal: Refusal) -> dict[str, str]:
    inputs = {s.key for s in sheet.file_specs}
    fields = [f for f in refusal.fields if f in inputs or _EVIDENCE_INPUT.fullmatch(f)]
    if not fields:  # the body could not be read: by the first file field, or atop the form
        fields = [sheet.file_specs[0].key if sheet.file_specs else "form"]
    return dict.fromkeys(fields, refusal.message)


def _refusal_notice(refusal: Refusal, *, new: bool) -> None:
    if refusal.form is not None:
        message = _(
            "Inget är sparat. Det ni skrev står kvar nedan, men filerna behöver väljas igen."
        )
    elif new:
        message = _("Inget av det ni skickade kunde tas emot, så inget är sparat. Fyll i igen.")
    else:
        message = _(
            "Inget av det ni skickade kunde tas emot, så inget är sparat. Nedan står det som "
            "senast sparades; fyll i det ni hade ändrat igen."
        )
    flash(message, "warning")


def _answer_again(refusal: Refusal):
    policy.require(Action.ANSWER)
    submission = policy.load(Submission, request.view_args["submission_id"], Action.ANSWER)
    if not open_for_answer(submission):
        return None
    sheet = sheet_for(submission, _agreements())
    form = refusal.form
    _refusal_notice(refusal, new=False)
    return _render(
        sheet,
        submission,
        posted=read_posted(sheet, form) if form is not None else None,
        errors=_refusal_errors(sheet, refusal),
        status=413,
        # The version the user edited: a colleague's change since then is not overwritten.
        lock_version=form.get("lock_version", type=int) if form is not None else None,
    )


def _new_deviation_again(refusal: Refusal):
    policy.require(Action.ANSWER)
    agreements = _agreements()
    draft = Submission(kind=SubmissionKind.DEVIATION_REPORT, provider_id=current_user.provider_id)
    sheet = sheet_for(draft, agreements)
    form = refusal.form
    posted = read_posted(sheet, form) if form is not None else None
    _refusal_notice(refusal, new=True)
    return _render_new(
        sheet,
        SubmissionKind.DEVIATION_REPORT,
        posted.values if posted else _first_values(agreements),
        posted=posted,
        errors=_refusal_errors(sheet, refusal),
        status=413,
        form_key=form.get("form_key") if form is not None else None,
    )


def _new_action_plan_again(refusal: Refusal):
    policy.require(Action.ANSWER)
    basis = _plan_basis()
    if basis is None:
        return None
    deviation, finding = basis
    draft = Submission(kind=SubmissionKind.ACTION_PLAN, provider_id=current_user.provider_id)
    sheet = sheet_for(draft, [])
    form = refusal.form
    posted = read_posted(sheet, form) if form is not None else None
    _refusal_notice(refusal, new=True)
    return _render_new(
        sheet,
        SubmissionKind.ACTION_PLAN,
        posted.values if posted else {"title": _plan_title(deviation, finding)},
        posted=posted,
        errors=_refusal_errors(sheet, refusal),
        status=413,
        basis=deviation or finding,
        form_key=form.get("form_key") if form is not None else None,
    )


# Answering -----------------------------------------------------------------------------------


@bp.route("/arenden/<int:submission_id>/svar", methods=["GET", "POST"])
@takes_files
@shows_form_on_refusal(_answer_again)
def answer(submission_id: int):
    submission = policy.load(Submission, submission_id, Action.ANSWER)
    if request.method == "GET" and not open_for_answer(submission):
        return redirect(url_for("provider.submission", submission_id=submission.id))
    sheet = sheet_for(submission, _agreements())
    if request.method == "GET":
        extra = min(request.args.get("rader", 0, type=int), 20)
        return _render(sheet, submission, extra_rows=extra)
    return _save(submission, sheet, read_posted(sheet, request.form))


# Checking the answers before they are sent -------------------------------------------------


def _masked(text: str) -> str:
    """``text`` with every personnummer or samordningsnummer in it masked: the check page
    names where they are and asks about them, without showing them again."""
    for hit in reversed([h for h in find_personal_data(text) if h.is_identity_number]):
        text = text[: hit.start] + hit.masked + text[hit.end :]
    return text


def _check_rows(sheet: Sheet, submission: Submission, draft) -> list[tuple[AnswerRow, object]]:
    """(row, the marking's reason or None) per question, in the order of the form."""
    shown = {row.key: row for row in answer_rows(submission, draft)}
    marked = draft.confidential or {}
    rows = []
    for spec in sheet.specs:
        if spec.key == "title":
            row = AnswerRow("title", spec.label, _masked(submission.title))
        else:
            row = shown.get(spec.key) or AnswerRow(spec.key, spec.label, _("Inget svar"))
            row.label = spec.label
            row.text = _masked(row.text)
        rows.append((row, marked.get(spec.key)))
    return rows


def _send_label(sheet: Sheet, submission: Submission) -> str:
    if sheet.progress_only:
        return _("Skicka lägesrapport")
    if submission.state == S.CLARIFICATION_REQUESTED:
        return _("Skicka in kompletteringen")
    return _("Skicka in")


def _render_check(
    sheet: Sheet,
    submission: Submission,
    outcome: Outcome,
    status: int = 200,
    *,
    confirm_missing: bool = False,
):
    draft = outcome.draft
    errors = outcome.evaluation.errors
    file_names = {a.id: a.display_name for a in draft.attachments}
    answer_url = url_for("provider.answer", submission_id=submission.id)
    return render_template(
        "provider/check.html",
        sheet=sheet,
        submission=submission,
        draft=draft,
        rows=_check_rows(sheet, submission, draft),
        measures=[
            dataclasses.replace(m, description=_masked(m.description)) for m in measures_of(draft)
        ],
        note=_masked(draft.note or ""),
        answer_url=answer_url,
        error_items=_error_items(sheet, errors, file_names),
        identity=outcome.identity,
        confirm_missing=confirm_missing,
        send_label=_send_label(sheet, submission),
        scanning=outcome.scanning,
    ), status


@bp.get("/arenden/<int:submission_id>/kontrollera")
def check_answers(submission_id: int):
    submission = policy.load(Submission, submission_id, Action.ANSWER)
    if not open_for_answer(submission):
        return redirect(url_for("provider.submission", submission_id=submission.id), 303)
    sheet = sheet_for(submission, _agreements())
    outcome = check_draft(submission, sheet)
    if outcome is None:  # nothing saved yet: nothing to read through
        return redirect(url_for("provider.answer", submission_id=submission.id), 303)
    return _render_check(sheet, submission, outcome)


@bp.get("/arenden/<int:submission_id>/skicka-in")
def send_page(submission_id: int):
    """The send button's address opened with GET (a reload, the language switch): the
    answers to check, with nothing sent."""
    policy.load(Submission, submission_id, Action.ANSWER)
    return redirect(url_for("provider.check_answers", submission_id=submission_id), 303)


@bp.post("/arenden/<int:submission_id>/skicka-in")
def send(submission_id: int):
    submission = policy.load(Submission, submission_id, Action.ANSWER)
    return _send_saved(
        submission,
        sheet_for(submission, _agreements()),
        lock_version=request.form.get("lock_version", type=int),
        pii_confirmed=request.form.get("pii_confirmed") == "1",
    )


def _send_saved(
    submission: Submission,
    sheet: Sheet,
    *,
    lock_version: int | None,
    pii_confirmed: bool,
    from_form: bool = False,
):
    """Send the saved draft, or say why not: on the check page, or with ``from_form`` (a
    submit posted with the answer form, whose files were scanned since) on the form."""
    try:
        outcome = send_draft(
            submission,
            current_user._get_current_object(),
            sheet,
            lock_version=lock_version,
            pii_confirmed=pii_confirmed,
        )
    except AlreadySent:
        return _already_sent(submission)
    except DraftConflict:
        db.session.rollback()
        flash(
            _(
                "Inget är inskickat: svaren har ändrats sedan sidan visades, av en kollega "
                "eller i ett annat fönster. Kontrollera dem igen innan ni skickar in."
            ),
            "warning",
        )
        return redirect(url_for("provider.check_answers", submission_id=submission.id), 303)
    except workflow.WorkflowError as problem:
        db.session.rollback()
        fresh = db.session.get(Submission, submission.id)
        if not open_for_answer(fresh):
            return _already_sent(fresh)
        flash(str(problem.message), "error")
        return redirect(url_for("provider.check_answers", submission_id=submission.id), 303)
    if outcome.sent:
        db.session.commit()
        return _receipt(submission)
    db.session.rollback()
    if outcome.evaluation.errors:
        flash(
            _("Inget är inskickat. Rätta det som är markerat och kontrollera svaren igen."),
            "warning",
        )
        outcome.identity = []  # asked again on the check page
        return _render(sheet, submission, outcome=outcome, status=422)
    if outcome.scanning:
        flash(
            _(
                "Inget är inskickat än: viruskontrollen av filerna är inte klar. Utkastet är "
                "sparat."
            ),
            "warning",
        )
        if from_form:
            return _render(sheet, submission, outcome=outcome, errors=outcome.scanning, status=422)
        return _render_check(sheet, submission, outcome, 422)
    return _render_check(sheet, submission, outcome, 422, confirm_missing=True)


@bp.post("/arenden/<int:submission_id>/ta-tillbaka")
def withdraw(submission_id: int):
    submission = policy.load(Submission, submission_id, Action.ANSWER)
    try:
        workflow.withdraw(submission, current_user._get_current_object())
    except workflow.WorkflowError as problem:
        db.session.rollback()
        flash(str(problem.message), "error")
        return redirect(url_for("provider.submission", submission_id=submission_id), 303)
    db.session.commit()
    flash(_("Utkastet är borttaget. Det syns inte längre bland era ärenden."), "info")
    return redirect(url_for("provider.start"), 303)


# New reports ---------------------------------------------------------------------------------


def _first_values(agreements: list[Agreement]) -> dict[str, str]:
    """A new deviation report's form: the agreement chosen when there is only one."""
    return {"agreement_id": str(agreements[0].id)} if len(agreements) == 1 else {}


@bp.route("/avvikelser/ny", methods=["GET", "POST"])
@takes_files
@shows_form_on_refusal(_new_deviation_again)
def new_deviation():
    agreements = _agreements()
    draft = Submission(kind=SubmissionKind.DEVIATION_REPORT, provider_id=current_user.provider_id)
    sheet = sheet_for(draft, agreements)
    if request.method == "GET":
        return _render_new(sheet, SubmissionKind.DEVIATION_REPORT, _first_values(agreements))
    posted = read_posted(sheet, request.form)
    agreement_spec = _spec(sheet, "agreement_id")
    chosen = {str(a.id): a for a in agreements}.get(posted.values.get("agreement_id", ""))
    if chosen is None:
        message = (
            _("Välj vilket avtal avvikelsen gäller.")
            if agreement_spec
            else _("Er organisation har inget avtal registrerat. Kontakta kommunen.")
        )
        return _render_new(
            sheet,
            SubmissionKind.DEVIATION_REPORT,
            posted.values,
            posted=posted,
            errors={"agreement_id": message},
            status=422,
            form_key=request.form.get("form_key"),
        )
    submission = _create_once(
        lambda: start_deviation_report(
            current_user._get_current_object(),
            chosen,
            posted.values.get("title", "").strip()[:300],
        )
    )
    sheet = sheet_for(submission, agreements)
    return _save(submission, sheet, posted)


_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _create_once(create) -> Submission:
    """The report of this "new report" form: created by the first post of the form,
    found again by a second one (a double click), also when both arrive at once."""
    key = request.form.get("form_key", "")
    if not _KEY.fullmatch(key):
        return create()
    known = db.session.get(CreationKey, key)
    if known is None:
        submission = create()
        db.session.add(CreationKey(key=key, submission_id=submission.id))
        try:
            db.session.flush()
            return submission
        except IntegrityError:
            db.session.rollback()  # the other post was first; use its report
            known = db.session.get(CreationKey, key)
    return policy.load(Submission, known.submission_id, Action.ANSWER)


def _spec(sheet: Sheet, key: str) -> Spec | None:
    return next((s for s in sheet.specs if s.key == key), None)


def _render_new(
    sheet, kind, values, *, posted=None, errors=None, status=200, basis=None, form_key=None
):
    marks, file_marks = _marks(sheet, None, posted)
    return render_template(
        "provider/answer.html",
        sheet=sheet,
        submission=None,
        values=values,
        errors=errors or {},
        error_items=_error_items(sheet, errors or {}),
        files={},
        marks=marks,
        file_marks=file_marks,
        measures=_measure_rows(None, posted, 0) if sheet.has_measures else [],
        note=posted.note if posted else "",
        identity=[],
        conflict=False,
        clarification=None,
        new_kind=kind,
        basis=basis,
        draft=None,
        heading=_heading(sheet, None, kind),
        form_key=form_key or secrets.token_urlsafe(24),
    ), status


def _plan_basis() -> tuple[Submission | None, Finding | None] | None:
    """(deviation, finding) a new action plan is for, from the address; None: not chosen yet."""
    deviation_id = request.args.get("avvikelse", type=int)
    finding_id = request.args.get("iakttagelse", type=int)
    if deviation_id:
        deviation = policy.load(Submission, deviation_id, Action.ANSWER)
        if deviation.kind != SubmissionKind.DEVIATION_REPORT or not deviation.submitted_versions:
            abort(404)
        return deviation, None
    if finding_id:
        return None, policy.load(Finding, finding_id, Action.VIEW)
    return None


def _plan_title(deviation: Submission | None, finding: Finding | None) -> str:
    return workflow.action_plan_title(
        deviation=deviation, agreement=finding.agreement if finding else None
    )


@bp.route("/atgardsplaner/ny", methods=["GET", "POST"])
@takes_files
@shows_form_on_refusal(_new_action_plan_again)
def new_action_plan():
    basis = _plan_basis()
    if basis is None:
        return _choose_basis()
    deviation, finding = basis
    draft = Submission(kind=SubmissionKind.ACTION_PLAN, provider_id=current_user.provider_id)
    sheet = sheet_for(draft, [])
    if request.method == "GET":
        title = _plan_title(deviation, finding)
        return _render_new(
            sheet, SubmissionKind.ACTION_PLAN, {"title": title}, basis=deviation or finding
        )
    posted = read_posted(sheet, request.form)
    submission = _create_once(
        lambda: start_action_plan(
            current_user._get_current_object(), deviation=deviation, finding=finding
        )
    )
    sheet = sheet_for(submission, [])
    return _save(submission, sheet, posted)


def _choose_basis():
    mine = policy.visible_submissions(current_user, sa.select(Submission))
    deviations = db.session.scalars(
        mine.where(
            Submission.kind == SubmissionKind.DEVIATION_REPORT,
            Submission.state.in_([S.SUBMITTED, S.APPROVED, S.CLARIFICATION_REQUESTED, S.CLOSED]),
        ).order_by(Submission.submitted_at.desc())
    ).all()
    findings = db.session.scalars(
        sa.select(Finding)
        .join(Agreement, Finding.agreement_id == Agreement.id)
        .where(Agreement.provider_id == current_user.provider_id)
        .where(sa.or_(Finding.meets_requirements.is_(False), Finding.deficiencies != ""))
        .order_by(Finding.assessed_on.desc())
    ).all()
    return render_template(
        "provider/new_action_plan.html", deviations=deviations, findings=findings
    )
