"""Information requests: create, expand to recipients, letters, deadline extension, lists."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.dates import today
from portal.extensions import db
from portal.models import (
    AuditEvent,
    FieldType,
    InformationRequest,
    ReviewEvent,
    ReviewState,
    Submission,
)
from tests.admin.helpers import answer, docx_text, reopen
from tests.conftest import text_of


def request_form(w, **values) -> dict:
    deadline = today() + timedelta(days=30)
    data = {
        "committee_id": str(w.committee_x.id),
        "title": "Kvalitetsredovisning hemtjänst 2026",
        "kind": "transparency_info",
        "instructions": "Uppgifterna avser den 1 oktober.",
        "deadline": deadline.isoformat(),
        "recipients": "service_area",
        "service_area_id": str(w.area_x.id),
        "agreement_id": "0",
        "fields-0-label": "Antal brukare",
        "fields-0-type": "number",
        "fields-0-unit": "personer",
        "fields-0-required": "y",
        "fields-0-for_publication": "y",
        "fields-1-label": "Kvalitetsberättelse",
        "fields-1-type": "file",
        "fields-1-for_publication": "y",
        "fields-2-label": "",
        "fields-2-type": "text",
        "action": "issue",
    }
    data.update(values)
    return data


def test_request_to_a_service_area_goes_to_each_provider(w, browser):
    form = request_form(w, **{"fields-0-help_text": "Räkna dem med beslut den 1 oktober."})
    del form["fields-1-for_publication"]
    response = browser(w.reviewer_x).post("/handlaggare/begaranden/ny", data=form)
    assert response.status_code == 302
    info_request = db.session.scalar(sa.select(InformationRequest))
    assert info_request.registration_number.startswith("VON ")
    assert [
        (f.label, f.type, f.unit, f.required, f.for_publication) for f in info_request.fields
    ] == [
        ("Antal brukare", FieldType.NUMBER, "personer", True, True),
        ("Kvalitetsberättelse", FieldType.FILE, "", False, False),
    ]
    assert info_request.fields[0].help_text == "Räkna dem med beslut den 1 oktober."
    assert info_request.kind.value == "transparency_info"
    answers = db.session.scalars(
        sa.select(Submission).where(Submission.request_id == info_request.id)
    ).all()
    assert sorted(s.provider.name for s in answers) == ["Org A AB", "Org B AB"]
    assert all(
        s.state == ReviewState.DRAFT and s.deadline == info_request.deadline for s in answers
    )
    assert db.session.scalar(sa.select(AuditEvent).filter_by(action="request.issue"))


def test_preview_shows_recipients_and_issues_nothing(w, browser):
    response = browser(w.reviewer_x).post(
        "/handlaggare/begaranden/ny", data=request_form(w, action="preview")
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "Begäran går till 2 utförare" in page and "Org A AB" in page
    assert db.session.scalar(sa.select(InformationRequest.id)) is None


def test_more_field_rows_without_javascript(w, browser):
    response = browser(w.reviewer_x).post(
        "/handlaggare/begaranden/ny", data=request_form(w, action="add_rows")
    )
    assert response.status_code == 200
    assert 'name="fields-5-label"' in response.get_data(as_text=True)


def test_request_needs_fields_a_future_deadline_and_a_recurring_agreement(w, browser):
    client = browser(w.reviewer_x)
    refused = client.post(
        "/handlaggare/begaranden/ny",
        data=request_form(
            w,
            **{
                "fields-0-label": "",
                "fields-1-label": "",
                "deadline": today().isoformat(),
                "recurs_yearly": "y",
            },
        ),
    )
    assert refused.status_code == 422
    page = text_of(refused)
    assert "Ange minst en uppgift som utförarna ska lämna." in page
    assert "Svarsdagen måste vara efter i dag." in page
    assert "En återkommande begäran måste gälla ett avtal." in page
    assert db.session.scalar(sa.select(InformationRequest.id)) is None


def test_recurring_request_via_agreement(w, browser):
    agreement = w.org_a.agreements[0]
    response = browser(w.reviewer_x).post(
        "/handlaggare/begaranden/ny",
        data=request_form(
            w, recipients="agreement", agreement_id=str(agreement.id), recurs_yearly="y"
        ),
    )
    assert response.status_code == 302
    info_request = db.session.scalar(sa.select(InformationRequest))
    assert info_request.recurs_yearly and info_request.agreement_id == agreement.id
    assert info_request.service_area_id == agreement.service_area_id
    (only,) = db.session.scalars(sa.select(Submission)).all()
    assert only.provider_id == w.org_a.id


def test_reviewer_cannot_send_for_another_committee(w, browser):
    response = browser(w.reviewer_y).post("/handlaggare/begaranden/ny", data=request_form(w))
    assert response.status_code == 422, "committee X is not a choice for reviewer Y"
    assert db.session.scalar(sa.select(InformationRequest.id)) is None
    assert browser(w.publisher).get("/handlaggare/begaranden/ny").status_code == 404


def test_request_letter_is_a_docx_with_the_precise_request(w, make, browser, app):
    subs = make.info_request(
        w.committee_x, [w.org_a, w.org_b], w.reviewer_x, title="Bemanning nattetid"
    )
    db.session.commit()
    info_request = subs[0].request
    client = browser(w.reviewer_x)
    response = client.get(f"/handlaggare/begaranden/{info_request.id}/brev/{w.org_a.id}.docx")
    assert response.status_code == 200
    assert response.mimetype.endswith("wordprocessingml.document")
    text = docx_text(reopen(response.get_data()))
    for expected in (
        app.config["MUNICIPALITY"],
        w.committee_x.name,
        info_request.registration_number,
        "Bemanning nattetid",
        "Org A AB",
        info_request.deadline.isoformat(),
        "Fråga 1",
        "Fråga 6",
    ):
        assert expected in text, expected
    everyone = client.get(f"/handlaggare/begaranden/{info_request.id}/brev.docx")
    assert everyone.status_code == 200
    not_recipient = make.provider("Ej mottagare AB")
    db.session.commit()
    assert (
        client.get(
            f"/handlaggare/begaranden/{info_request.id}/brev/{not_recipient.id}.docx"
        ).status_code
        == 404
    )
    assert (
        browser(w.reviewer_y)
        .get(f"/handlaggare/begaranden/{info_request.id}/brev.docx")
        .status_code
        == 404
    )


def test_extend_the_deadline_of_everyone_still_waiting(w, make, browser):
    first, second = make.info_request(w.committee_x, [w.org_a, w.org_b], w.reviewer_x)
    answer(first, w.user_a, {"x": "1"})
    info_request = first.request
    new = info_request.deadline + timedelta(days=14)
    client = browser(w.reviewer_x)
    url = f"/handlaggare/begaranden/{info_request.id}/forlang"
    assert client.post(url, data={"deadline": new.isoformat(), "reason": ""}).status_code == 422
    response = client.post(
        url, data={"deadline": new.isoformat(), "reason": "Utförarna har begärt anstånd."}
    )
    assert response.status_code == 302
    assert db.session.get(InformationRequest, info_request.id).deadline == new
    assert db.session.get(Submission, second.id).deadline == new
    assert db.session.get(Submission, first.id).deadline != new, "already answered"
    (event,) = db.session.scalars(sa.select(ReviewEvent).filter_by(action="extend_deadline"))
    assert event.submission_id == second.id and event.comment == "Utförarna har begärt anstånd."
    audited = db.session.scalar(sa.select(AuditEvent).filter_by(action="request.extend_deadline"))
    assert audited.detail["reason"] == "Utförarna har begärt anstånd."
    assert (
        browser(w.reviewer_y)
        .post(url, data={"deadline": new.isoformat(), "reason": "x"})
        .status_code
        == 404
    )


def test_request_page_list_and_answers_csv(w, make, browser):
    first, second = make.info_request(
        w.committee_x, [w.org_a, w.org_b], w.reviewer_x, title="Nöjdhet 2026"
    )
    keys = [f.key for f in first.request.fields]
    answer(first, w.user_a, {keys[0]: "Bra", keys[1]: "12", keys[3]: "yes"})
    client = browser(w.reviewer_x)
    page = text_of(client.get(f"/handlaggare/begaranden/{first.request_id}"))
    assert "Org A AB" in page and "Inskickad" in page and "Inte inskickat ännu" in page

    listing = text_of(client.get("/handlaggare/begaranden?q=nöjdhet&status=oppna"))
    assert "Nöjdhet 2026" in listing
    assert "Nöjdhet 2026" not in text_of(client.get("/handlaggare/begaranden?status=avslutade"))
    assert "Nöjdhet 2026" not in text_of(browser(w.reviewer_y).get("/handlaggare/begaranden"))

    csv = client.get(f"/handlaggare/begaranden/{first.request_id}?format=csv")
    rows = csv.get_data().decode("utf-8-sig").split("\r\n")
    assert rows[0].split(";")[:4] == ["Utförare", "Organisationsnummer", "Diarienummer", "Status"]
    org_a = next(r for r in rows if r.startswith("Org A AB"))
    assert ";Bra;12;" in org_a and ";Ja;" in org_a
    listing_csv = client.get("/handlaggare/begaranden?format=csv").get_data().decode("utf-8-sig")
    assert "Nöjdhet 2026" in listing_csv


def test_request_to_every_provider_of_the_committee_is_one_per_provider(w, make, browser):
    """Recipients "the committee": each provider with an agreement in any of its service
    areas gets one request, however many agreements it has; other committees' do not."""
    other_area = make.service_area(w.committee_x, "Daglig verksamhet LSS")
    third = make.provider("Org C AB")
    make.agreement(third, other_area)
    make.agreement(w.org_a, other_area)  # org A: a second agreement with the committee
    make.agreement(make.provider("Bara KFN AB"), w.area_y)
    db.session.commit()
    client = browser(w.reviewer_x)
    preview = text_of(
        client.post(
            "/handlaggare/begaranden/ny",
            data=request_form(w, recipients="committee", action="preview"),
        )
    )
    assert "Begäran går till 3 utförare" in preview and "Bara KFN AB" not in preview
    response = client.post(
        "/handlaggare/begaranden/ny", data=request_form(w, recipients="committee")
    )
    assert response.status_code == 302
    info_request = db.session.scalar(sa.select(InformationRequest))
    assert info_request.service_area_id is None and info_request.agreement_id is None
    answers = db.session.scalars(
        sa.select(Submission).where(Submission.request_id == info_request.id)
    ).all()
    assert sorted(s.provider.name for s in answers) == ["Org A AB", "Org B AB", "Org C AB"]
    assert all(
        s.committee_id == w.committee_x.id and s.deadline == info_request.deadline for s in answers
    )
    page = text_of(client.get(f"/handlaggare/begaranden/{info_request.id}"))
    assert "Org C AB" in page and "Bara KFN AB" not in page


def test_request_to_one_provider_via_its_agreement(w, browser):
    agreement = next(a for a in w.org_b.agreements if a.committee_id == w.committee_x.id)
    response = browser(w.reviewer_x).post(
        "/handlaggare/begaranden/ny",
        data=request_form(w, recipients="agreement", agreement_id=str(agreement.id)),
    )
    assert response.status_code == 302
    (only,) = db.session.scalars(sa.select(Submission)).all()
    assert only.provider_id == w.org_b.id and only.agreement_id == agreement.id


def _form_key(page: str) -> str:
    import re

    return re.search(r'name="form_key" value="([^"]+)"', page).group(1)


def test_a_form_shown_again_keeps_its_key_and_is_sent_once(w, browser):
    """The key survives a re-shown form (an error, more rows); the corrected form posted
    twice sends one request, and the second post shows the request already sent."""
    client = browser(w.reviewer_x)
    key = _form_key(client.get("/handlaggare/begaranden/ny").get_data(as_text=True))
    refused = client.post(
        "/handlaggare/begaranden/ny", data=request_form(w, form_key=key, title="")
    )
    assert refused.status_code == 422 and _form_key(refused.get_data(as_text=True)) == key
    more = client.post(
        "/handlaggare/begaranden/ny", data=request_form(w, form_key=key, action="add_rows")
    )
    assert _form_key(more.get_data(as_text=True)) == key
    first = client.post("/handlaggare/begaranden/ny", data=request_form(w, form_key=key))
    second = client.post("/handlaggare/begaranden/ny", data=request_form(w, form_key=key))
    assert first.status_code == second.status_code == 302 and first.location == second.location
    (issued,) = db.session.scalars(sa.select(InformationRequest)).all()
    assert f"Begäran {issued.registration_number} är redan skickad" in text_of(
        client.get(second.location)
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 2
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).filter_by(action="request.issue")
        )
        == 1
    )


def test_a_new_request_from_an_agreement_and_the_units_of_its_fields(w, browser):
    agreement = w.org_a.agreements[0]
    client = browser(w.reviewer_x)
    page = client.get(f"/handlaggare/begaranden/ny?avtal={agreement.id}").get_data(as_text=True)
    assert f'<option selected value="{agreement.id}">' in page
    assert '<input checked id="recipients-0" name="recipients" type="radio" value="agreement">' in (
        page
    )
    assert '<input checked id="fields-0-required"' in page, "a new row's answer is required"
    foreign = next(a for a in w.org_b.agreements if a.committee_id != w.committee_x.id)
    other = client.get(f"/handlaggare/begaranden/ny?avtal={foreign.id}").get_data(as_text=True)
    assert '<input checked id="recipients-1"' in other, "not the committee's: the default"
    form = request_form(
        w,
        **{
            "fields-1-label": "Andel med genomförandeplan",
            "fields-1-type": "percentage",
            "fields-1-unit": "st",
            "fields-2-label": "Beskrivning",
            "fields-2-type": "text",
            "fields-2-unit": "st",
        },
    )
    assert client.post("/handlaggare/begaranden/ny", data=form).status_code == 302
    info_request = db.session.scalar(sa.select(InformationRequest))
    assert [(f.position, f.unit) for f in info_request.fields] == [
        (1, "personer"),
        (2, "%"),
        (3, ""),
    ]


def test_a_refused_extension_changes_nothing_and_shows_the_form_again(w, make, browser):
    (first,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    db.session.commit()
    info_request = first.request
    old = info_request.deadline
    response = browser(w.reviewer_x).post(
        f"/handlaggare/begaranden/{info_request.id}/forlang",
        data={"deadline": old.isoformat(), "reason": "Anstånd."},
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "Den nya svarsdagen måste vara senare än den nuvarande." in page
    assert "Anstånd." in page, "the form is shown again as posted"
    db.session.expire_all()
    assert db.session.get(InformationRequest, info_request.id).deadline == old
    assert db.session.get(Submission, first.id).deadline == old
    assert not db.session.scalar(sa.select(AuditEvent).filter_by(action="request.extend_deadline"))
