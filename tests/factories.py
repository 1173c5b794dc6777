"""Real objects for tests, saved in the test database. Each returns a flushed object."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from stdnum import luhn

from portal import workflow
from portal.auth.passwords import hash_password
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Agreement,
    Committee,
    FieldType,
    Impact,
    InformationRequest,
    Ownership,
    Provider,
    RequestField,
    Role,
    Route,
    ServiceArea,
    Submission,
    SubmissionKind,
    User,
)

PASSWORD = "Rätt-häst-batteri-häftklammer"
_seq = itertools.count(1)


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def _save(obj):
    db.session.add(obj)
    db.session.flush()
    return obj


def org_number() -> str:
    base = f"55{next(_seq):07d}"
    return base + luhn.calc_check_digit(base)


def committee(code: str | None = None, name: str | None = None) -> Committee:
    n = next(_seq)
    code = code or f"N{n}"
    return _save(Committee(code=code, name=name or f"Nämnd {code}"))


def service_area(committee_: Committee | None = None, name: str | None = None) -> ServiceArea:
    return _save(
        ServiceArea(committee=committee_ or committee(), name=name or f"Område {next(_seq)}")
    )


def provider(name: str | None = None, ownership: Ownership = Ownership.PRIVATE) -> Provider:
    return _save(
        Provider(
            name=name or f"Utförare {next(_seq)} AB", org_number=org_number(), ownership=ownership
        )
    )


def agreement(provider_: Provider, area: ServiceArea, **values) -> Agreement:
    values.setdefault("route", Route.CUSTOMER_CHOICE)
    values.setdefault("starts_on", date(2025, 1, 1))
    values.setdefault("yearly_value_sek", Decimal(1_000_000))
    values.setdefault("impact", Impact.LOW)
    return _save(
        Agreement(
            reference=f"AVT-{next(_seq)}",
            provider=provider_,
            committee=area.committee,
            service_area=area,
            **values,
        )
    )


def user(role: Role, *, provider_: Provider | None = None, committees=(), **values) -> User:
    if role.is_provider and provider_ is None:
        provider_ = provider()
    return _save(
        User(
            email=values.pop("email", f"user{next(_seq)}@insyn.example"),
            role=role,
            provider=provider_,
            committees=list(committees),
            password_hash=_password_hash(),
            **values,
        )
    )


def info_request(committee_: Committee, providers, actor: User, **values) -> list[Submission]:
    """Issue a request with one field of each type; returns the draft answers."""
    request = InformationRequest(
        committee=committee_,
        title=values.pop("title", "Kvalitetsredovisning"),
        deadline=values.pop("deadline", today() + timedelta(days=14)),
        fields=values.pop("fields", None)
        or [
            RequestField(position=i, label=f"Fråga {i}", type=t, required=t != FieldType.FILE)
            for i, t in enumerate(FieldType, 1)
        ],
        **values,
    )
    return workflow.issue_request(request, list(providers), actor)


def report(
    kind: SubmissionKind, provider_: Provider, committee_: Committee, actor: User, **values
) -> Submission:
    return workflow.start_report(
        Submission(
            kind=kind,
            provider=provider_,
            committee=committee_,
            title=values.pop("title", "Avvikelse"),
            **values,
        ),
        actor,
    )


def submitted(submission: Submission, actor: User, answers: dict | None = None) -> Submission:
    workflow.save_draft(submission, actor, answers or {"text": "svar"})
    return workflow.submit(submission, actor)


def world():
    """Two committees, two provider organisations and one user of each role, as a namespace."""
    from types import SimpleNamespace

    x, y = committee("VON"), committee("KFN")
    area_x, area_y = service_area(x, "Hemtjänst"), service_area(y, "Simhall")
    org_a, org_b = provider("Org A AB"), provider("Org B AB")
    agreement(org_a, area_x)
    agreement(org_b, area_x)
    agreement(org_b, area_y)
    w = SimpleNamespace(
        committee_x=x,
        committee_y=y,
        area_x=area_x,
        area_y=area_y,
        org_a=org_a,
        org_b=org_b,
        user_a=user(Role.PROVIDER_USER, provider_=org_a),
        admin_a=user(Role.PROVIDER_ADMIN, provider_=org_a),
        user_b=user(Role.PROVIDER_USER, provider_=org_b),
        reviewer_x=user(Role.REVIEWER, committees=[x]),
        reviewer_y=user(Role.REVIEWER, committees=[y]),
        publisher=user(Role.PUBLISHER, committees=[x, y]),
        admin=user(Role.ADMIN),
    )
    db.session.commit()
    return w


# --- publications (the public site) ------------------------------------------------------


def answered(
    submission: Submission,
    reviewer: User,
    answers: dict | None = None,
    files=(),
    author: User | None = None,
) -> Submission:
    """Answer ``submission`` as a user of its provider and approve it.

    ``answers`` by field key; ``files`` as (slot, filename, bytes), stored through the real
    upload pipeline (scanned clean only when the app has a scanner).
    """
    import io

    from werkzeug.datastructures import FileStorage

    from portal.attachments import accept_upload

    author = author or user(Role.PROVIDER_USER, provider_=submission.provider)
    draft = workflow.save_draft(submission, author, answers or {})
    for slot, filename, data in files:
        upload = FileStorage(stream=io.BytesIO(data), filename=filename)
        accept_upload(upload, uploader=author, slot=slot).version = draft
    db.session.commit()  # the scan jobs run at commit; only clean files may be sent
    workflow.submit(submission, author)
    return workflow.approve(submission, reviewer)


def published(
    submission: Submission,
    publisher: User,
    *,
    title: str | None = None,
    summary: str = "",
    answer_keys=None,
    redacted_answers=None,
    documents=None,
):
    """Publish an approved submission with all its answers and files (unless told otherwise)
    and index it as the staff publish page does; committed."""
    from portal import search
    from portal.models import PublishedDocument

    version = submission.latest
    if answer_keys is None:
        answer_keys = list(version.answers)
    if documents is None:
        documents = [PublishedDocument(attachment=a) for a in version.attachments]
    publication = workflow.publish(
        submission,
        publisher,
        title=title or submission.title,
        summary=summary,
        answer_keys=answer_keys,
        documents=documents,
        redacted_answers=redacted_answers,
    )
    search.refresh(publication)
    db.session.commit()
    return publication


def publication(
    w,
    provider_: Provider | None = None,
    *,
    area: ServiceArea | None = None,
    fields=None,
    answers=None,
    files=(),
    title: str | None = None,
    summary: str = "",
    **publish_values,
):
    """One published answer of ``provider_`` (default org A) to a request of the area's
    committee (default area X). ``answers`` by position of the field (1, 2, ...)."""
    area = area or w.area_x
    committee_ = area.committee
    reviewer = w.reviewer_x if committee_ is w.committee_x else w.reviewer_y
    fields = fields or [RequestField(position=1, label="Beskrivning", type=FieldType.TEXT)]
    (submission,) = info_request(
        committee_,
        [provider_ or w.org_a],
        reviewer,
        service_area=area,
        fields=fields,
        title=title or f"Redovisning {next(_seq)}",
    )
    keys = {f.position: f.key for f in submission.request.fields}
    by_key = {keys[position]: value for position, value in (answers or {1: "Svar"}).items()}
    answered(submission, reviewer, by_key, [(keys.get(s, s), n, d) for s, n, d in files])
    return published(submission, w.publisher, title=title, summary=summary, **publish_values)
