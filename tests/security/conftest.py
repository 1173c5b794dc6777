"""Shared pieces of the security tests: a world with objects on both sides of every fence,
URLs for every rule, and a fingerprint of every table row."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from werkzeug.routing import IntegerConverter, PathConverter

from portal import workflow
from portal.auth.tokens import invitation_token, reset_token
from portal.extensions import db
from portal.models import (
    FollowUpForm,
    FollowUpItem,
    FollowUpPlan,
    Invitation,
    Role,
    SubmissionKind,
)
from tests.admin.helpers import answer, make_docx, upload
from tests.pdfs import pdf_bytes

# Rows that a request may add without changing anything a user owns: the audit trail.
UNFINGERPRINTED = {"audit_event"}
ROLES = ("anonymous", "user_a", "admin_a", "reviewer_x", "publisher", "admin")


@pytest.fixture
def app_config(app_config, clamd_url):
    # The matrix logs in many times from one address; the limiter is tested in test_auth.
    app_config["RATELIMIT_ENABLED"] = False
    # The real scanner, so uploads are scanned clean and public downloads work.
    app_config["CLAMD_URL"] = clamd_url
    return app_config


def fingerprint() -> dict[str, str]:
    """A hash of every row of every table (except the audit trail), by table."""
    db.session.expire_all()
    out = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in UNFINGERPRINTED:
                continue
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


def _side(w, make, org, committee, area, reviewer, label: str) -> dict:
    """One object of each kind for ``org`` in ``committee``; the URL values that name them."""
    author = make.user(Role.PROVIDER_USER, provider_=org)
    (draft,) = make.info_request(committee, [org], reviewer, service_area=area)
    (submitted,) = make.info_request(committee, [org], reviewer, service_area=area)
    keys = {f.type.value: f.key for f in submitted.request.fields}
    answers = {
        keys["text"]: "svar",
        keys["number"]: "1",
        keys["percentage"]: "50",
        keys["yes_no"]: "yes",
        keys["date"]: "2026-01-01",
    }
    answer(
        submitted,
        author,
        answers,
        files=[(keys["file"], f"{label}.pdf", pdf_bytes(f"Bilaga {label}"))],
    )
    (approved,) = make.info_request(committee, [org], reviewer, service_area=area)
    answer(
        approved,
        author,
        answers,
        files=[(keys["file"], f"{label}-godkand.docx", make_docx(f"Godkänd {label}"))],
    )
    workflow.approve(approved, reviewer)
    original = approved.submitted_versions[0].attachments[0]
    copy = workflow.attach_redacted_copy(
        original, upload(w.publisher, "maskad.docx", make_docx("Maskad")), w.publisher
    )
    (shown,) = make.info_request(committee, [org], reviewer, service_area=area)
    answer(
        shown,
        author,
        answers,
        files=[(keys["file"], f"{label}-publicerad.pdf", pdf_bytes(f"Publicerad {label}"))],
    )
    workflow.approve(shown, reviewer)
    publication = make.published(shown, w.publisher, title=f"Publicerad {label}")
    deviation = make.report(SubmissionKind.DEVIATION_REPORT, org, committee, author)
    agreement = next(a for a in org.agreements if a.committee_id == committee.id)
    plan = FollowUpPlan(committee=committee, year=2027)
    plan.items = [
        FollowUpItem(
            service_area=area,
            form=FollowUpForm.SUPERVISION,
            responsible="Lars Ek",
            interval="Löpande",
        )
    ]
    db.session.add(plan)
    invitation = Invitation(
        provider=org,
        email=f"inbjuden-{label}@insyn.example",
        role=Role.PROVIDER_USER,
        invited_by=author,
    )
    db.session.add(invitation)
    # A staff account of the committee that no role of the matrix signs in as (an accepted
    # post may deactivate it).
    staff = make.user(Role.REVIEWER, committees=[committee])
    from portal.models import JobFailure, OutboundMail
    from portal.models.base import utcnow

    failure = JobFailure(task="deliver_mail", arguments={"mail_id": 1}, error="OSError: down")
    given_up = OutboundMail(recipient="x@example.se", subject="s", body="b", failed_at=utcnow())
    db.session.add_all([failure, given_up])
    db.session.commit()
    return {
        "failure_id": failure.id,
        "mail_id": given_up.id,
        "submission_id": submitted.id,
        "slug": "godkann",
        "municipality": "exempelby",
        "number": 1,
        "request_id": shown.request_id,
        "provider_id": org.id,
        "attachment_id": submitted.submitted_versions[0].attachments[0].id,
        "agreement_id": agreement.id,
        "plan_id": plan.id,
        "item_id": plan.items[0].id,
        "publication_id": publication.id,
        "document_id": publication.documents[0].id,
        "copy_id": copy.id,
        "committee_id": committee.id,
        "area_id": area.id,
        "user_id": author.id,
        "code": "en",
        "filename": "css/insyn.css",
        "invitation_id": invitation.id,
        "staff_id": staff.id,
        "token": invitation_token({"i": invitation.id, "e": invitation.email}),
        "reset_token": reset_token(author),
        # Rules that need an object in a particular state.
        "draft_id": draft.id,
        "approved_id": approved.id,
        "deviation_id": deviation.id,
    }


# Rules whose <submission_id> must be in a particular state to be reachable at all.
SUBMISSION_IN_STATE = {
    "/utforare/arenden/<int:submission_id>/svar": "draft_id",
    "/utforare/arenden/<int:submission_id>/ta-tillbaka": "draft_id",
    "/utforare/arenden/<int:submission_id>/kontrollera": "draft_id",
    "/utforare/arenden/<int:submission_id>/skicka-in": "draft_id",
    "/handlaggare/publicering/<int:submission_id>": "approved_id",
    "/handlaggare/publicering/<int:submission_id>/bilagor/<int:attachment_id>/maskad": "approved_id",  # noqa: E501
    "/handlaggare/publicering/<int:submission_id>/maskade/<int:copy_id>/ta-bort": "approved_id",
}


@pytest.fixture
def world(make):
    """Committee X and org A (own), committee Y and org B (foreign), an object of each kind."""
    w = make.world()
    w.own = _side(w, make, w.org_a, w.committee_x, w.area_x, w.reviewer_x, "a")
    w.foreign = _side(w, make, w.org_b, w.committee_y, w.area_y, w.reviewer_y, "b")
    return w


def url_for_rule(rule, values: dict) -> str:
    """``rule`` with its parameters filled from ``values``."""
    values = dict(values)
    if rule.rule in SUBMISSION_IN_STATE:
        values["submission_id"] = values[SUBMISSION_IN_STATE[rule.rule]]
    if rule.endpoint == "admin.redacted_copy":
        values["attachment_id"] = _approved_original(values["approved_id"])
    if rule.endpoint == "auth.reset_password":
        values["token"] = values["reset_token"]
    out = rule.rule
    for name in rule.arguments:
        converter = rule._converters[name]
        prefix = (
            "int:"
            if isinstance(converter, IntegerConverter)
            else "path:"
            if isinstance(converter, PathConverter)
            else ""
        )
        out = out.replace(f"<{prefix}{name}>", str(values[name]))
    return out


def _approved_original(submission_id: int) -> int:
    from portal.models import Submission

    return db.session.get(Submission, submission_id).submitted_versions[0].attachments[0].id


def client_for(app, w, role: str):
    client = app.test_client()
    if role != "anonymous":
        client.login(getattr(w, role))
    return client


__all__ = ["ROLES", "SimpleNamespace", "changed", "client_for", "fingerprint", "url_for_rule"]
