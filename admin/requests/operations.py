"""The writes of information requests: issue a new request once per form, and give
everyone still waiting a later deadline. The workflow opens the answers, audits and
mails; nothing here commits: the view runs these in :func:`portal.transactions.committed`.
"""

from __future__ import annotations

from datetime import date

from admin.requests.fields import request_fields
from admin.requests.forms import RequestForm
from portal import form_keys, workflow
from portal.extensions import db
from portal.models import (
    Agreement,
    Committee,
    InformationRequest,
    Provider,
    Submission,
    SubmissionKind,
    User,
)


def _new_request(form: RequestForm) -> InformationRequest:
    """The request ``form`` describes (not yet added, numbered or sent)."""
    agreement = None
    area_id = None
    if form.recipients.data == "agreement":
        agreement = db.session.get(Agreement, form.agreement_id.data)
        area_id = agreement.service_area_id
    elif form.recipients.data == "service_area":
        area_id = form.service_area_id.data
    return InformationRequest(
        committee=db.session.get(Committee, form.committee_id.data),
        title=form.title.data.strip(),
        instructions=(form.instructions.data or "").strip(),
        kind=SubmissionKind(form.kind.data),
        deadline=form.deadline.data,
        service_area_id=area_id or None,
        agreement=agreement,
        recurs_yearly=bool(form.recurs_yearly.data) and agreement is not None,
        fields=request_fields(form),
    )


def issue_request(
    form: RequestForm, providers: list[Provider], actor: User
) -> tuple[InformationRequest, bool]:
    """Send the request ``form`` describes to ``providers``, and whether this post sent it:
    a second post of the same form (a double click, a reload, both posts at once) sends
    nothing and returns the request the first one sent."""

    def issue() -> Submission:
        return workflow.issue_request(_new_request(form), providers, actor)[0]

    first_answer, created_now = form_keys.create_once(issue)
    return first_answer.request, created_now


def extend_deadline(
    info_request: InformationRequest, actor: User, deadline: date, reason: str
) -> list[Submission]:
    """Move the request's deadline, and that of every answer still waiting, to ``deadline``."""
    return workflow.extend_request_deadline(info_request, actor, deadline, reason.strip())
