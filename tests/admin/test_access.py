"""Every staff route against every role: committee X's objects are 404 for everyone outside it.

The table below lists each URL rule of the staff blueprint; a new route that is not in
it fails :func:`test_every_staff_route_is_in_the_table`.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal import workflow
from portal.extensions import db
from portal.models import (
    Attachment,
    Finding,
    FollowUpForm,
    FollowUpItem,
    FollowUpPlan,
    InformationRequest,
    JobFailure,
    OutboundMail,
    Publication,
    PublicationState,
    ReviewState,
    Role,
    Submission,
)
from portal.models.base import utcnow
from tests.admin.helpers import answer, make_docx, upload

# rule → what a reviewer of ANOTHER committee gets on GET ("404" for committee X's objects,
# "200" for lists and forms that are filtered to the reviewer's own committees, "shared" for
# the provider registry, which all committees share). POST-only rules are "post".
TABLE = {
    "/handlaggare/": "200",
    "/handlaggare/anvandare": "admin",
    "/handlaggare/anvandare/<int:staff_id>": "admin",
    "/handlaggare/anvandare/<int:staff_id>/aktivera": "admin",
    "/handlaggare/anvandare/<int:staff_id>/inaktivera": "admin",
    "/handlaggare/anvandare/<int:staff_id>/nollstall-tvafaktor": "admin",
    "/handlaggare/anvandare/<int:staff_id>/skicka-lank": "admin",
    "/handlaggare/anvandare/ny": "admin",
    "/handlaggare/anvandare/tvafaktor": "admin",
    "/handlaggare/arenden": "200",
    "/handlaggare/arenden/<int:submission_id>": "404",
    "/handlaggare/arenden/<int:submission_id>/<slug>": "post",
    "/handlaggare/arsrapport": "200",
    "/handlaggare/arsrapport.docx": "200",
    "/handlaggare/avtal": "200",
    "/handlaggare/avtal/<int:agreement_id>": "404",
    "/handlaggare/avtal/<int:agreement_id>/andra": "404",
    "/handlaggare/avtal/<int:agreement_id>/iakttagelser/ny": "404",
    "/handlaggare/avtal/ny": "200",
    "/handlaggare/begaranden": "200",
    "/handlaggare/begaranden/<int:request_id>": "404",
    "/handlaggare/begaranden/<int:request_id>/brev.docx": "404",
    "/handlaggare/begaranden/<int:request_id>/brev/<int:provider_id>.docx": "404",
    "/handlaggare/begaranden/<int:request_id>/forlang": "post",
    "/handlaggare/begaranden/ny": "200",
    "/handlaggare/bilagor/<int:attachment_id>": "404",
    "/handlaggare/iakttagelser": "200",
    "/handlaggare/jobb": "admin",
    "/handlaggare/jobb/<int:failure_id>/kor-igen": "admin",
    "/handlaggare/jobb/epost/<int:mail_id>/kor-igen": "admin",
    "/handlaggare/logg": "admin",
    "/handlaggare/namnder": "200",
    "/handlaggare/namnder/<int:committee_id>/andra": "admin",
    "/handlaggare/namnder/ny": "admin",
    "/handlaggare/publicering": "200",
    "/handlaggare/publicering/<int:submission_id>": "404",
    "/handlaggare/publicering/<int:submission_id>/bilagor/<int:attachment_id>/maskad": "post",
    "/handlaggare/publicering/<int:submission_id>/maskade/<int:copy_id>/ta-bort": "post",
    "/handlaggare/publiceringar": "200",
    "/handlaggare/publiceringar/<int:publication_id>": "404",
    "/handlaggare/uppfoljningsplaner": "200",
    "/handlaggare/uppfoljningsplaner/<int:plan_id>": "404",
    "/handlaggare/uppfoljningsplaner/<int:plan_id>/kopiera": "post",
    "/handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>": "404",
    "/handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>/ta-bort": "post",
    "/handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/ny": "404",
    "/handlaggare/uppfoljningsplaner/<int:plan_id>/uppfoljningsplan.docx": "404",
    "/handlaggare/uppfoljningsplaner/ny": "200",
    "/handlaggare/utforare": "200",
    "/handlaggare/utforare/<int:provider_id>": "shared",
    "/handlaggare/utforare/<int:provider_id>/andra": "shared",
    "/handlaggare/utforare/ny": "200",
    "/handlaggare/verksamhetsomraden": "200",
    "/handlaggare/verksamhetsomraden/<int:area_id>/andra": "admin",
    "/handlaggare/verksamhetsomraden/ny": "admin",
}
# Rules whose objects a reviewer of committee X may not reach either (publisher's work).
PUBLISHER_ONLY = {
    "/handlaggare/publicering/<int:submission_id>",
    "/handlaggare/publicering/<int:submission_id>/bilagor/<int:attachment_id>/maskad",
    "/handlaggare/publicering/<int:submission_id>/maskade/<int:copy_id>/ta-bort",
}


def staff_rules(app) -> dict[str, set[str]]:
    rules = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            rules[rule.rule] = rule.methods - {"HEAD", "OPTIONS"}
    return rules


@pytest.fixture
def x(w, make):
    """One object of each kind in committee X; ``x.urls`` fills every rule."""
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    answer(sub, w.user_a, {"a": "1"})
    (done,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    answer(done, w.user_a, {"a": "1"}, files=[("f1", "a.docx", make_docx("Text"))])
    workflow.approve(done, w.reviewer_x)
    original = done.submitted_versions[0].attachments[0]
    copy = workflow.attach_redacted_copy(
        original, upload(w.publisher, "maskad.docx", make_docx("Maskad")), w.publisher
    )
    (published,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    answer(published, w.user_a, {"a": "1"})
    workflow.approve(published, w.reviewer_x)
    publication = workflow.publish(
        published, w.publisher, title="P", summary="", answer_keys=["a"], documents=[]
    )
    agreement = w.org_a.agreements[0]
    plan = FollowUpPlan(committee=w.committee_x, year=2027)
    plan.items = [
        FollowUpItem(
            service_area=w.area_x,
            form=FollowUpForm.SUPERVISION,
            responsible="Lars Ek",
            interval="Löpande",
        )
    ]
    db.session.add(plan)
    failure = JobFailure(task="deliver_mail", arguments={"mail_id": 0}, error="OSError: down")
    given_up = OutboundMail(recipient="x@kommun.example", subject="s", body="b", failed_at=utcnow())
    db.session.add_all([failure, given_up])
    db.session.commit()
    ids = {
        "failure_id": failure.id,
        "mail_id": given_up.id,
        "submission_id": sub.id,
        "request_id": sub.request_id,
        "provider_id": w.org_a.id,
        "attachment_id": original.id,
        "agreement_id": agreement.id,
        "plan_id": plan.id,
        "item_id": plan.items[0].id,
        "publication_id": publication.id,
        "copy_id": copy.id,
        "committee_id": w.committee_x.id,
        "area_id": w.area_x.id,
        "slug": "godkann",
        "staff_id": w.reviewer_x2.id,
    }
    publishing = {"submission_id": done.id}

    def url(rule: str) -> str:
        values = ids | (publishing if rule in PUBLISHER_ONLY else {})
        out = rule
        for name, value in values.items():
            out = out.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        return out

    x = type("X", (), {})()
    x.url, x.sub, x.done, x.copy, x.publication, x.plan = url, sub, done, copy, publication, plan
    return x


def test_every_staff_route_is_in_the_table(app):
    assert set(staff_rules(app)) == set(TABLE)


def test_anonymous_is_sent_to_login(app, w, x):
    client = app.test_client()
    for rule, methods in staff_rules(app).items():
        method = "GET" if "GET" in methods else "POST"
        response = client.open(x.url(rule), method=method, data={"csrf_token": client.csrf_token()})
        assert response.status_code == 302, rule
        assert "/logga-in" in response.location, rule


@pytest.mark.parametrize("who", ["user_a", "admin_a", "user_b"])
def test_provider_users_get_404_everywhere(app, w, x, browser, who):
    client = browser(getattr(w, who))
    for rule, methods in staff_rules(app).items():
        for method in methods:
            response = client.open(
                x.url(rule), method=method, data={"csrf_token": client.csrf_token(), "reason": "x"}
            )
            assert response.status_code == 404, (rule, method)


def _unchanged(x) -> None:
    db.session.expire_all()
    assert db.session.get(Submission, x.sub.id).state == ReviewState.SUBMITTED
    assert db.session.get(InformationRequest, x.sub.request_id).deadline == x.sub.request.deadline
    assert db.session.get(Publication, x.publication.id).state == PublicationState.PUBLISHED
    assert db.session.get(Attachment, x.copy.id) is not None
    assert len(db.session.get(FollowUpPlan, x.plan.id).items) == 1
    assert db.session.scalar(sa.select(sa.func.count(Finding.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 2
    assert db.session.scalar(sa.select(sa.func.count(Publication.id))) == 1


def test_reviewer_of_another_committee_gets_404_on_every_object(app, w, x, browser):
    client = browser(w.reviewer_y)
    form = {
        "csrf_token": client.csrf_token(),
        "reason": "Skäl",
        "comment": "x",
        "question": "x",
        "deadline": "2999-01-01",
        "adopted_on": "2026-01-01",
        "assessed_on": "2026-01-01",
        "meets_requirements": "yes",
        "responsible": "x",
        "interval": "x",
        "form": "supervision",
        "subject": "service_area",
    }
    for rule, methods in staff_rules(app).items():
        expected = TABLE[rule]
        url = x.url(rule)
        if "GET" in methods:
            status = client.get(url).status_code
            wanted = {"404": 404, "admin": 404, "200": 200, "shared": 200}[expected]
            assert status == wanted, (rule, status)
        if "POST" in methods and expected in ("404", "post", "admin"):
            assert client.post(url, data=form).status_code == 404, rule
    _unchanged(x)


def test_reviewer_of_the_committee_reaches_its_objects(app, w, x, browser):
    client = browser(w.reviewer_x)
    for rule, methods in staff_rules(app).items():
        if "GET" not in methods:
            continue
        status = client.get(x.url(rule)).status_code
        if TABLE[rule] == "admin" or rule in PUBLISHER_ONLY:
            assert status == 404, rule
        else:
            assert status == 200, (rule, status)


def test_publisher_reaches_publishing_but_decides_nothing(w, x, browser):
    client = browser(w.publisher)
    assert client.get(x.url("/handlaggare/publicering/<int:submission_id>")).status_code == 200
    assert (
        client.post(
            x.url("/handlaggare/arenden/<int:submission_id>/<slug>"), data={"comment": ""}
        ).status_code
        == 404
    )
    assert client.get("/handlaggare/begaranden/ny").status_code == 404
    other = browser(_publisher_of_y(w))
    assert other.get(x.url("/handlaggare/publicering/<int:submission_id>")).status_code == 404
    assert other.get(x.url("/handlaggare/publiceringar/<int:publication_id>")).status_code == 404
    _unchanged(x)


def _publisher_of_y(w):
    from tests import factories

    user = factories.user(Role.PUBLISHER, committees=[w.committee_y])
    db.session.commit()
    return user


def test_posts_without_csrf_token_are_refused(app, w, x, browser):
    client = browser(w.reviewer_x)
    for rule, methods in staff_rules(app).items():
        if "POST" in methods:
            response = client.post(x.url(rule), data={"reason": "x"}, csrf=False)
            assert response.status_code == 400, rule
    _unchanged(x)
