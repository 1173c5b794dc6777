"""Provider pages: the overview, the organisation's submissions, their versions and documents."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, jsonify, render_template, request
from flask_login import current_user

from portal import policy
from portal.attachments import send_attachment
from portal.dates import local, today
from portal.documents.receipt import receipt as receipt_document
from portal.documents.request_letter import request_letter
from portal.extensions import db, limiter, login_manager
from portal.models import (
    Attachment,
    ReviewEvent,
    ReviewState,
    Submission,
    SubmissionKind,
    SubmissionVersion,
    User,
)
from portal.policy import Action
from portal.provider import bp
from portal.provider.answers import (
    FIELD_TYPE_LABELS,
    KIND_LABELS,
    PROVIDER_VISIBLE_EVENTS,
    answer_rows,
    format_file_size,
    kind_label,
    measures_of,
    open_measures,
)
from portal.provider.operations import open_for_answer
from portal.provider.scanning import label_of, readiness, report, status_of, unfinished

S = ReviewState
# Reachable without an account: the invitation link sets the password.
PUBLIC_ENDPOINTS = {"provider.accept_invitation"}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Cases waiting for the municipality shown on the start page (all: the case list, filtered).
WAITING_SHOWN = 10


@bp.before_request
def _provider_only():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    policy.require(Action.ANSWER)
    return None


@bp.app_template_filter("moment")
def moment_filter(value) -> str:
    """A UTC timestamp as local time: ``2026-11-23 14:05``."""
    return local(value).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.app_template_filter("filesize")
def filesize_filter(size: int) -> str:
    return format_file_size(size)


@bp.context_processor
def _labels():
    return {
        "today": today(),
        "kind_label": kind_label,
        "KIND_LABELS": KIND_LABELS,
        "FIELD_TYPE_LABELS": FIELD_TYPE_LABELS,
        "can_manage_colleagues": policy.can(current_user, Action.MANAGE_COLLEAGUES),
    }


bp.add_app_template_global(answer_rows, "answer_rows")
bp.add_app_template_global(measures_of, "measures_of")
bp.add_app_template_global(status_of, "scan_status_of")
bp.add_app_template_global(label_of, "scan_label")
bp.add_app_template_global(readiness, "scan_readiness")
bp.add_app_template_global(unfinished, "scan_unfinished")


def _mine():
    return policy.visible_submissions(current_user, sa.select(Submission))


def _last_event(submission: Submission, action: str) -> ReviewEvent | None:
    return db.session.scalar(
        sa.select(ReviewEvent)
        .where(ReviewEvent.submission_id == submission.id, ReviewEvent.action == action)
        .order_by(ReviewEvent.id.desc())
        .limit(1)
    )


def _load(submission_id: int, action: Action = Action.VIEW) -> Submission:
    return policy.load(Submission, submission_id, action)


def _version(submission: Submission, number: int, *, submitted: bool = True) -> SubmissionVersion:
    for version in submission.versions:
        if version.number == number and (version.frozen or not submitted):
            return version
    abort(404)


@bp.get("/")
def start():
    mine = _mine()
    waiting = db.session.scalars(
        mine.where(Submission.state == S.DRAFT, Submission.deadline.is_not(None)).order_by(
            Submission.deadline, Submission.id
        )
    ).all()
    clarifications = db.session.scalars(
        mine.where(Submission.state == S.CLARIFICATION_REQUESTED).order_by(
            Submission.deadline, Submission.id
        )
    ).all()
    own_drafts = db.session.scalars(
        mine.where(Submission.state == S.DRAFT, Submission.deadline.is_(None)).order_by(
            Submission.created_at.desc()
        )
    ).all()
    deviations = db.session.scalars(
        mine.where(
            Submission.kind == SubmissionKind.DEVIATION_REPORT,
            Submission.state.not_in([S.DRAFT, S.WITHDRAWN]),
        )
        .order_by(Submission.submitted_at.desc())
        .limit(10)
    ).all()
    plans = db.session.scalars(
        mine.where(
            Submission.kind == SubmissionKind.ACTION_PLAN,
            Submission.state.in_([S.SUBMITTED, S.APPROVED, S.CLARIFICATION_REQUESTED]),
        ).order_by(Submission.submitted_at)
    ).all()
    plans = [
        (p, open_measures(p.submitted_versions[-1] if p.submitted_versions else None))
        for p in plans
    ]
    # Sent and not yet decided: the provider waits for the municipality.
    sent = mine.where(Submission.state == S.SUBMITTED)
    with_municipality = db.session.scalars(
        sent.order_by(Submission.submitted_at, Submission.id).limit(WAITING_SHOWN)
    ).all()
    with_municipality_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(sent.subquery())
    )
    decided = db.session.scalars(
        mine.where(Submission.decided_at.is_not(None))
        .order_by(Submission.decided_at.desc())
        .limit(10)
    ).all()
    return render_template(
        "provider/start.html",
        waiting=waiting,
        clarifications=[(s, _last_event(s, "ask_clarification")) for s in clarifications],
        own_drafts=own_drafts,
        deviations=deviations,
        plans=plans,
        with_municipality=with_municipality,
        with_municipality_count=with_municipality_count,
        decided=[(s, _decision_event(s)) for s in decided],
    )


def _decision_event(submission: Submission) -> ReviewEvent | None:
    return db.session.scalar(
        sa.select(ReviewEvent)
        .where(
            ReviewEvent.submission_id == submission.id,
            ReviewEvent.action.in_(["approve", "reject", "close"]),
        )
        .order_by(ReviewEvent.id.desc())
        .limit(1)
    )


@bp.get("/arenden")
def submissions():
    query = _mine().where(Submission.state != S.WITHDRAWN)
    kind = request.args.get("typ", "")
    if kind in SubmissionKind._value2member_map_:
        query = query.where(Submission.kind == kind)
    state = request.args.get("status", "")
    if state in ReviewState._value2member_map_:
        query = query.where(Submission.state == state)
    by = request.args.get("av", type=int)
    submitter = None
    if by:
        submitter = policy.load(User, by, Action.VIEW)
        query = query.where(
            Submission.id.in_(
                sa.select(SubmissionVersion.submission_id).where(
                    SubmissionVersion.submitted_by_id == submitter.id
                )
            )
        )
    rows = db.session.scalars(
        query.order_by(Submission.created_at.desc(), Submission.id.desc()).limit(500)
    ).all()
    return render_template(
        "provider/submissions.html",
        rows=rows,
        kind=kind,
        state=state,
        submitter=submitter,
        states=[s for s in ReviewState if s != S.WITHDRAWN],
    )


@bp.get("/arenden/<int:submission_id>")
def submission(submission_id: int):
    sub = _load(submission_id)
    events = [e for e in sub.events if e.action in PROVIDER_VISIBLE_EVENTS]
    clarification = (
        _last_event(sub, "ask_clarification") if sub.state == S.CLARIFICATION_REQUESTED else None
    )
    plans = []
    if sub.kind == SubmissionKind.DEVIATION_REPORT:
        plans = db.session.scalars(
            _mine().where(Submission.deviation_id == sub.id, Submission.state != S.WITHDRAWN)
        ).all()
    return render_template(
        "provider/submission.html",
        submission=sub,
        events=events,
        event_labels=PROVIDER_VISIBLE_EVENTS,
        clarification=clarification,
        plans=plans,
        editable=open_for_answer(sub) and policy.can(current_user, Action.ANSWER, sub),
        latest_submitted=sub.submitted_versions[-1] if sub.submitted_versions else None,
        draft_files=list(sub.current_draft.attachments) if sub.current_draft else [],
    )


def _per_user() -> str:
    return f"scan-status:{current_user.get_id()}"


@bp.get("/arenden/<int:submission_id>/filer/status")
@limiter.limit("60 per minute", key_func=_per_user)
def scan_status(submission_id: int):
    """The scan status of the files the answer pages show (polled by scan-status.js)."""
    response = jsonify(report(_load(submission_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/arenden/<int:submission_id>/versioner/<int:number>")
def version(submission_id: int, number: int):
    sub = _load(submission_id)
    ver = _version(sub, number, submitted=False)
    return render_template("provider/version.html", submission=sub, version=ver)


@bp.get("/arenden/<int:submission_id>/kvitto/<int:number>")
def receipt(submission_id: int, number: int):
    sub = _load(submission_id)
    ver = _version(sub, number)
    return render_template("provider/receipt.html", submission=sub, version=ver)


@bp.get("/arenden/<int:submission_id>/kvitto/<int:number>.docx")
def receipt_docx(submission_id: int, number: int):
    sub = _load(submission_id)
    ver = _version(sub, number)
    name = f"Kvitto {sub.registration_number} v{ver.number}".replace("/", "-")
    return _docx(receipt_document(ver), name)


@bp.get("/arenden/<int:submission_id>/begaran.docx")
def request_letter_docx(submission_id: int):
    sub = _load(submission_id)
    if sub.request is None:
        abort(404)
    name = f"Begäran {sub.request.registration_number}".replace("/", "-")
    return _docx(request_letter(sub.request, sub.provider), name)


def _docx(content: bytes, name: str) -> Response:
    from storage.downloads import content_disposition

    response = Response(content, mimetype=DOCX)
    response.headers["Content-Disposition"] = content_disposition("attachment", f"{name}.docx")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/filer/<int:attachment_id>")
def attachment(attachment_id: int):
    file = policy.load(Attachment, attachment_id, Action.VIEW)
    if file.version is None:
        abort(404)  # redacted copies are the publisher's, not the provider's
    return send_attachment(file)
