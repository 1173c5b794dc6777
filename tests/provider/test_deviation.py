"""Deviation reports: the form, the personal identity number warning, one report per form."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.dates import today
from portal.extensions import db
from portal.models import ReviewState, Submission, SubmissionKind
from portal.pii import find_personal_data
from tests.conftest import text_of, thread_context
from tests.pdfs import pdf_bytes

VALID_PNR = "19121212-1212"  # Skatteverket's test number: valid checksum
INVALID_PNR = "19121212-1213"  # the same with a wrong check digit
SAMORDNINGSNUMMER = "701063-2391"  # day + 60: a coordination number


def report_form(agreement, **values) -> dict:
    form = {
        "title": "Fördröjd läkemedelsutdelning",
        "agreement_id": str(agreement.id),
        "category": "deviation",
        "severity": "medium",
        "occurred_on": (today() - timedelta(days=1)).isoformat(),
        "description": "Kvällens läkemedel delades ut två timmar sent på avdelning 2.",
        "immediate_measures": "Extra personal inkallad och sjuksköterska informerad.",
        "form_key": "k" * 24,
    }
    form.update(values)
    return form


def reports() -> list[Submission]:
    return db.session.scalars(
        sa.select(Submission).where(Submission.kind == SubmissionKind.DEVIATION_REPORT)
    ).all()


def test_report_a_deviation_unasked(client, w, smtp_server):
    agreement = w.org_a.agreements[0]
    client.login(w.user_a)
    page = client.get("/utforare/avvikelser/ny")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in (
        "Typ av händelse",
        "Allvarlighetsgrad",
        "När hände det?",
        "Vad hände?",
        "Vilka åtgärder vidtogs direkt?",
        "Bilagor",
        agreement.reference,
    ):
        assert label in html
    response = client.post(
        "/utforare/avvikelser/ny",
        data={
            **report_form(agreement),
            "action": "submit",
            "attachments": (io.BytesIO(pdf_bytes()), "Händelseanalys.pdf"),
        },
    )
    assert response.status_code == 303
    (report,) = reports()
    assert report.state == ReviewState.SUBMITTED and report.request_id is None
    assert report.committee_id == agreement.committee_id == w.committee_x.id
    assert report.agreement_id == agreement.id
    assert report.service_area_id == agreement.service_area_id
    assert report.title == "Fördröjd läkemedelsutdelning"
    answers = report.versions[0].answers
    assert answers["category"] == "deviation" and answers["severity"] == "medium"
    assert answers["agreement_id"] == agreement.id
    assert answers["occurred_on"] == (today() - timedelta(days=1)).isoformat()
    assert [a.slot for a in report.versions[0].attachments] == ["attachments"]
    text = text_of(client.get(response.location))
    assert report.registration_number in text and "Händelseanalys.pdf" in text
    detail = text_of(client.get(f"/utforare/arenden/{report.id}"))
    assert "Avvikelse" in detail and "Medel" in detail and "två timmar sent" in detail
    assert "Fördröjd läkemedelsutdelning" in text_of(client.get("/utforare/"))
    assert smtp_server.subjects(w.user_a.email) == [
        f"Kvitto: {report.registration_number} har tagits emot"
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("occurred_on", (today() + timedelta(days=1)).isoformat(), "senare än i dag"),
        ("category", "", "Välj ett av alternativen."),
        ("category", "rykte", "Välj ett av alternativen."),
        ("severity", "", "Välj ett av alternativen."),
        ("description", "", "Fyll i svaret."),
        ("title", "", "Fyll i svaret."),
    ],
)
def test_deviation_fields_are_validated(client, w, field, value, message):
    client.login(w.user_a)
    form = report_form(w.org_a.agreements[0], **{field: value})
    response = client.post("/utforare/avvikelser/ny", data={**form, "action": "submit"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="fld-{field}-error"' in html and message in html
    (report,) = reports()
    assert report.state == ReviewState.DRAFT  # kept as a draft to correct


@pytest.mark.parametrize("number", [VALID_PNR, "121212-1212", "121212+1212", SAMORDNINGSNUMMER])
def test_identity_number_in_the_text_warns_before_submit(client, w, number):
    client.login(w.user_a)
    form = report_form(
        w.org_a.agreements[0], description=f"Brukaren {number} fick sina läkemedel för sent."
    )
    response = client.post("/utforare/avvikelser/ny", data={**form, "action": "submit"})
    assert response.status_code == 422
    text = text_of(response)
    assert "Texten verkar innehålla personnummer" in text
    (hit,) = find_personal_data(number)
    assert f"Vad hände?: {hit.masked}" in text  # where, and the number masked
    (report,) = reports()
    assert report.state == ReviewState.DRAFT and report.submitted_versions == []

    # Removing the number lets it through.
    form = report_form(w.org_a.agreements[0], description="En brukare fick läkemedel för sent.")
    response = client.post(f"/utforare/arenden/{report.id}/svar", data={**form, "action": "submit"})
    assert response.status_code == 303
    db.session.refresh(report)
    assert report.state == ReviewState.SUBMITTED


def test_invalid_checksum_does_not_warn(client, w):
    client.login(w.user_a)
    form = report_form(
        w.org_a.agreements[0], description=f"Ärende {INVALID_PNR} i verksamhetssystemet."
    )
    response = client.post("/utforare/avvikelser/ny", data={**form, "action": "submit"})
    assert response.status_code == 303
    (report,) = reports()
    assert report.state == ReviewState.SUBMITTED
    assert "personnummer" not in text_of(client.get(response.location))


def test_warning_can_be_confirmed_for_a_number_that_is_not_a_person(client, w):
    client.login(w.user_a)
    form = report_form(w.org_a.agreements[0], immediate_measures=f"Avvikelse nr {VALID_PNR}.")
    first = client.post("/utforare/avvikelser/ny", data={**form, "action": "submit"})
    assert first.status_code == 422
    assert 'name="pii_confirmed"' in first.get_data(as_text=True)
    (report,) = reports()
    confirmed = client.post(
        f"/utforare/arenden/{report.id}/svar",
        data={**form, "action": "submit", "pii_confirmed": "1"},
    )
    assert confirmed.status_code == 303
    db.session.refresh(report)
    assert report.state == ReviewState.SUBMITTED


def test_saving_a_draft_does_not_stop_for_the_warning(client, w):
    client.login(w.user_a)
    form = report_form(w.org_a.agreements[0], description=f"Gäller {VALID_PNR}.")
    response = client.post("/utforare/avvikelser/ny", data={**form, "action": "save"})
    assert response.status_code == 303
    (report,) = reports()
    assert report.current_draft.answers["description"] == f"Gäller {VALID_PNR}."


def test_double_clicked_new_report_creates_one_report(client, w):
    client.login(w.user_a)
    form = report_form(w.org_a.agreements[0])
    first = client.post("/utforare/avvikelser/ny", data={**form, "action": "submit"})
    second = client.post("/utforare/avvikelser/ny", data={**form, "action": "submit"})
    assert first.status_code == second.status_code == 303
    assert first.location == second.location
    (report,) = reports()
    assert len(report.versions) == 1
    assert "redan inskickat" in text_of(client.get(second.location))


def test_own_draft_can_be_removed(client, w):
    client.login(w.user_a)
    client.post(
        "/utforare/avvikelser/ny", data={**report_form(w.org_a.agreements[0]), "action": "save"}
    )
    (report,) = reports()
    assert client.post(f"/utforare/arenden/{report.id}/ta-tillbaka", data={}).status_code == 303
    db.session.refresh(report)
    assert report.state == ReviewState.WITHDRAWN
    assert "Fördröjd" not in text_of(client.get("/utforare/arenden"))


def test_asked_deviation_report_uses_the_request(client, w, make):
    from portal.models import FieldType, RequestField

    (asked,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        title="Rapportera fall under hösten",
        kind=SubmissionKind.DEVIATION_REPORT,
        fields=[RequestField(position=1, label="Antal fall", type=FieldType.NUMBER)],
    )
    db.session.commit()
    client.login(w.user_a)
    page = client.get(f"/utforare/arenden/{asked.id}/svar").get_data(as_text=True)
    assert "Typ av händelse" in page and "Antal fall" in page
    assert 'name="title"' not in page  # the committee's title
    form = report_form(w.org_a.agreements[0])
    form.pop("title")
    key = asked.request.fields[0].key
    response = client.post(
        f"/utforare/arenden/{asked.id}/svar", data={**form, key: "3", "action": "submit"}
    )
    assert response.status_code == 303
    db.session.refresh(asked)
    assert asked.versions[0].answers[key] == "3"
    assert asked.title == "Rapportera fall under hösten"


def test_concurrent_double_click_on_a_new_report_on_postgresql(pg_app, make):
    """Two posts of the same new-report form at once: one report, both end on its receipt."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    w = make.world()
    clients = [pg_app.test_client() for _ in range(2)]
    for c in clients:
        c.login(w.user_a)
    form = {**report_form(w.org_a.agreements[0]), "action": "submit"}
    barrier = threading.Barrier(2)

    def click(c):
        with thread_context(pg_app):
            barrier.wait()
            return c.post("/utforare/avvikelser/ny", data=dict(form))

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(click, clients))
    assert [r.status_code for r in responses] == [303, 303]
    assert responses[0].location == responses[1].location
    db.session.expire_all()
    (report,) = reports()
    assert report.state == ReviewState.SUBMITTED and len(report.versions) == 1


def test_receipt_docx_names_who_when_and_the_sha256_of_each_file(client, w):
    import hashlib

    import docx

    from portal.dates import local

    files = {"Händelseanalys.pdf": pdf_bytes(), "Tidslinje.txt": b"18.00 ordinarie tid\n"}
    client.login(w.user_a)
    response = client.post(
        "/utforare/avvikelser/ny",
        data={
            **report_form(w.org_a.agreements[0]),
            "action": "submit",
            "attachments": [(io.BytesIO(data), name) for name, data in files.items()],
        },
    )
    assert response.status_code == 303
    (report,) = reports()
    version = report.versions[0]
    assert sorted(a.display_name for a in version.attachments) == sorted(files)
    receipt = client.get(f"/utforare/arenden/{report.id}/kvitto/1.docx")
    document = docx.Document(io.BytesIO(receipt.data))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert report.registration_number in cells and "Fördröjd läkemedelsutdelning" in cells
    assert any(w.user_a.email in c for c in cells)
    assert local(version.submitted_at).strftime("%Y-%m-%d kl. %H:%M") in cells
    for name, data in files.items():
        assert name in cells and hashlib.sha256(data).hexdigest() in cells, name
