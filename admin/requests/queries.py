"""What the request pages read: the recipients a request would go to, the filtered list
with each request's progress, and one request's answers and successor."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from admin.lists import arg, choice_arg, int_arg, search
from admin.requests.forms import RequestForm
from admin.scoping import in_my_committees
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Agreement,
    InformationRequest,
    Provider,
    ReviewState,
    Submission,
    SubmissionKind,
)

WAITING = [ReviewState.DRAFT, ReviewState.CLARIFICATION_REQUESTED, ReviewState.SUBMITTED]


def active_agreements(committee_id: int, on: date | None = None):
    """A select of the committee's agreements running on ``on`` or starting within a year."""
    on = on or today()
    return sa.select(Agreement).where(
        Agreement.committee_id == committee_id,
        Agreement.starts_on <= on + timedelta(days=366),
        sa.or_(Agreement.ends_on.is_(None), Agreement.ends_on >= on),
    )


def recipients_of(form: RequestForm) -> list[Provider]:
    """The providers a request as described by ``form`` goes to, one each."""
    if form.recipients.data == "agreement":
        agreement = db.session.get(Agreement, form.agreement_id.data or 0)
        return [agreement.provider] if agreement else []
    agreements = active_agreements(form.committee_id.data)
    if form.recipients.data == "service_area":
        agreements = agreements.where(Agreement.service_area_id == form.service_area_id.data)
    provider_ids = agreements.with_only_columns(Agreement.provider_id).distinct()
    return list(
        db.session.scalars(
            sa.select(Provider).where(Provider.id.in_(provider_ids)).order_by(Provider.name)
        )
    )


def filters() -> dict:
    """The list's filters from the query string."""
    return {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "kind": choice_arg("typ", SubmissionKind),
        "recurring": arg("aterkommande") == "ja",
        "open": choice_arg("status", ["oppna", "avslutade"]),
    }


def requests_of(f: dict):
    """A select of the requests of the user's committees that ``f`` asks for, latest first."""
    waiting = (
        sa.select(Submission.id)
        .where(Submission.request_id == InformationRequest.id, Submission.state.in_(WAITING))
        .exists()
    )
    select = (
        sa.select(InformationRequest)
        .where(
            in_my_committees(InformationRequest.committee_id),
            search(f["q"], InformationRequest.registration_number, InformationRequest.title),
        )
        .order_by(InformationRequest.deadline.desc(), InformationRequest.id.desc())
    )
    if f["committee"]:
        select = select.where(InformationRequest.committee_id == f["committee"])
    if f["kind"]:
        select = select.where(InformationRequest.kind == SubmissionKind(f["kind"]))
    if f["recurring"]:
        select = select.where(InformationRequest.recurs_yearly.is_(True))
    if f["open"] == "oppna":
        select = select.where(waiting)
    elif f["open"] == "avslutade":
        select = select.where(~waiting)
    return select


def progress(request_ids: list[int]) -> dict[int, dict]:
    """Per request: how many answers there are in each state."""
    out: dict[int, dict] = {i: {} for i in request_ids}
    for request_id, state, count in db.session.execute(
        sa.select(Submission.request_id, Submission.state, sa.func.count())
        .where(Submission.request_id.in_(request_ids or [-1]))
        .group_by(Submission.request_id, Submission.state)
    ):
        out[request_id][state] = count
    return out


def answers_to(info_request: InformationRequest) -> list[Submission]:
    """The request's answers, one per provider, by the provider's name."""
    return db.session.scalars(
        sa.select(Submission)
        .join(Submission.provider)
        .where(Submission.request_id == info_request.id)
        .options(joinedload(Submission.provider))
        .order_by(Provider.name)
    ).all()


def successor(info_request: InformationRequest) -> InformationRequest | None:
    """The next year's occurrence of a recurring request, once it is issued."""
    return db.session.scalar(
        sa.select(InformationRequest).where(InformationRequest.previous_id == info_request.id)
    )


def recipient(info_request: InformationRequest, provider_id: int) -> Provider | None:
    """The provider ``provider_id`` when the request went to it."""
    return db.session.scalar(
        sa.select(Provider)
        .join(Submission, Submission.provider_id == Provider.id)
        .where(Submission.request_id == info_request.id, Provider.id == provider_id)
    )
