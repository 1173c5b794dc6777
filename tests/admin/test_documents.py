"""The generated Word documents: follow-up plan and yearly report, reopened and read back."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from docx.oxml.ns import qn

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Finding,
    FollowUpForm,
    FollowUpItem,
    FollowUpPlan,
    Impact,
    Submission,
    SubmissionKind,
)
from tests.admin.helpers import answer, docx_text, reopen
from tests.documents_render import pdf_texts


def field_codes(part_element) -> list[str]:
    return [t.text.strip() for t in part_element.iter(qn("w:instrText"))]


def headings(document, level: int) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == f"Heading {level}"]


def simple_fields(part_element) -> list[str]:
    return [f.get(qn("w:instr")).strip() for f in part_element.iter(qn("w:fldSimple"))]


def check_layout(document, municipality: str, title: str) -> None:
    """Letterhead, title, running header and page numbers; no table of contents, nothing
    that asks the reader to update fields (tests/admin/test_documents_layout.py checks
    the rest of the layout)."""
    assert document.core_properties.title == title
    letterhead = next(p for p in document.paragraphs if p.text)  # after the logo, if any
    assert letterhead.text.startswith(f"{municipality}\tDatum: ")
    assert any(p.style.name == "Title" and p.text == title for p in document.paragraphs)
    assert field_codes(document.element.body) == [], "no TOC"
    section = document.sections[0]
    assert section.header.paragraphs[0].text.startswith(f"{municipality} · ")
    for footer in (section.first_page_footer, section.footer):
        assert simple_fields(footer._element) == ["PAGE", "NUMPAGES"]
    assert document.settings.element.find(qn("w:updateFields")) is None


def follow_up_plan_docx(w, browser, app) -> bytes:
    """Committee X's plan for 2027 as .docx, reopened and checked."""
    agreement = w.org_a.agreements[0]
    plan = FollowUpPlan(committee=w.committee_x, year=2027, adopted_on=date(2026, 12, 10))
    plan.items = [
        FollowUpItem(
            service_area=w.area_x,
            form=FollowUpForm.OPERATIONS,
            responsible="Lars Ek",
            interval="Årligen, kvalitetsredovisning 31 mars",
            feedback_public=True,
            focus_areas="Nöjdhet, trygghet",
        ),
        FollowUpItem(
            agreement=agreement,
            form=FollowUpForm.CONTRACT,
            responsible="Eva Ström",
            planned_from=date(2027, 9, 1),
            planned_to=date(2027, 10, 31),
        ),
    ]
    db.session.add(plan)
    db.session.commit()
    response = browser(w.reviewer_x).get(
        f"/handlaggare/uppfoljningsplaner/{plan.id}/uppfoljningsplan.docx"
    )
    assert response.status_code == 200
    data = response.get_data()
    document = reopen(data)
    check_layout(document, app.config["MUNICIPALITY"], "Uppföljningsplan 2027")
    assert headings(document, 1) == [
        "Inledning",
        "Sammanställning",
        "Uppföljning per form",
        "Återkoppling och insyn",
    ]
    assert headings(document, 2) == [
        "Former för uppföljning",
        "Verksamhetsuppföljning",
        "Avtalsuppföljning",
    ]
    text = docx_text(document)
    assert "Beslutad av Nämnd VON 10 december 2026." in text
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == [
        "Vad som följs upp",
        "Form",
        "Ansvarig",
        "Tidplan",
        "Återkoppling till",
        "Fokusområden",
    ]
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert rows[0] == [
        "Verksamhetsområde: Hemtjänst",
        "Verksamhetsuppföljning",
        "Lars Ek",
        "Årligen, kvalitetsredovisning 31 mars",
        "nämnden, utföraren, allmänheten",
        "Nöjdhet, trygghet",
    ]
    assert rows[1][0] == f"Avtal {agreement.reference}: Org A AB (Hemtjänst)"
    assert rows[1][3] == "2027-09-01 – 2027-10-31"
    assert document.sections[0].orientation == 1, "landscape for the wide table"
    return data


def test_follow_up_plan_docx(w, browser, app):
    follow_up_plan_docx(w, browser, app)


def yearly_report_docx(w, make, browser, app) -> bytes:
    """Committee X's yearly report on its strategic agreements, reopened and checked."""
    year = today().year
    strategic = make.agreement(
        w.org_a,
        w.area_x,
        yearly_value_sek=Decimal(12_000_000),
        impact=Impact.HIGH,
        quality_requirements="Kontaktperson.",
    )
    overridden = make.agreement(
        w.org_b,
        w.area_x,
        yearly_value_sek=Decimal(500_000),
        strategic_override=True,
        strategic_override_reason="Enda utföraren av nattpatrull.",
    )
    make.agreement(w.org_b, w.area_x, yearly_value_sek=Decimal(3_000_000))  # not strategic
    finding = Finding(
        agreement=strategic,
        assessed_on=today(),
        meets_requirements=False,
        deficiencies="Genomförandeplaner saknas för 4 av 10 brukare.",
        goal_effect="Målet om delaktighet nås inte fullt ut.",
        action_plan_due=today() + timedelta(days=30),
    )
    plan = workflow.record_finding(finding, w.reviewer_x)
    db.session.commit()
    answer(
        plan,
        w.user_a,
        {
            "measures": [
                {
                    "description": "Upprätta planer",
                    "owner": "Chef",
                    "due": (today() + timedelta(days=20)).isoformat(),
                    "status": "in_progress",
                }
            ]
        },
    )
    deviation = make.report(
        SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a, service_area=w.area_x
    )
    answer(deviation, w.user_a, {"severity": "high", "description": "Utebliven insats"})

    client = browser(w.reviewer_x)
    preview = client.get(f"/handlaggare/arsrapport?namnd={w.committee_x.id}&ar={year}")
    assert preview.status_code == 200
    response = client.get(f"/handlaggare/arsrapport.docx?namnd={w.committee_x.id}&ar={year}")
    assert response.status_code == 200
    data = response.get_data()
    document = reopen(data)
    title = f"Årsrapport över strategiska avtal {year}"
    check_layout(document, app.config["MUNICIPALITY"], title)
    assert headings(document, 1) == ["Inledning", "Sammanfattning", "Redovisning per avtal"]
    assert headings(document, 2) == [
        f"{strategic.reference}: Org A AB",
        f"{overridden.reference}: Org B AB",
    ]
    summary = document.tables[0]
    assert [c.text for c in summary.rows[0].cells] == [
        "Avtal",
        "Utförare",
        "Verksamhetsområde",
        "Uppfyller kraven",
        "Brister",
        "Åtgärdsplaner",
    ]
    rows = {row.cells[0].text: [c.text for c in row.cells] for row in summary.rows[1:]}
    assert rows[strategic.reference][3:] == ["Nej", "Ja", "1 inskickad"]
    assert rows[overridden.reference][3:] == ["Inte bedömt under året", "Nej", "Ingen"]
    text = docx_text(document)
    for expected in (
        "Genomförandeplaner saknas för 4 av 10 brukare.",
        "Målet om delaktighet nås inte fullt ut.",
        "Avsteg från regeln: Enda utföraren av nattpatrull.",
        "12\u00a0000\u00a0000\u00a0kr",
        "0 av 1 åtgärder genomförda",
        "1 avvikelse rapporterad under året: 1 med allvarlighetsgrad hög.",
        "0 utförare uppfyller de väsentliga kvalitetskraven, 1 gör det inte och "
        "1 avtal har inte bedömts under året.",
    ):
        assert expected in text, expected
    assert "3\u00a0000\u00a0000" not in text, "not a strategic agreement"
    return data


def test_yearly_report_docx(w, make, browser, app):
    yearly_report_docx(w, make, browser, app)


def test_every_generated_document_opens_in_libreoffice(w, make, browser, app, tmp_path):
    """Follow-up plan, yearly report, request letter and receipt: each reopens with
    python-docx and converts with LibreOffice to a PDF with its text (the test fails when
    LibreOffice is missing)."""
    municipality = app.config["MUNICIPALITY"]
    documents = {
        "plan": follow_up_plan_docx(w, browser, app),
        "report": yearly_report_docx(w, make, browser, app),
    }
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x, title="Bemanning natt")
    db.session.commit()
    documents["letter"] = (
        browser(w.reviewer_x)
        .get(f"/handlaggare/begaranden/{sub.request_id}/brev/{w.org_a.id}.docx")
        .get_data()
    )
    answer(sub, w.user_a, {sub.request.fields[0].key: "Svar"})
    documents["receipt"] = (
        browser(w.user_a).get(f"/utforare/arenden/{sub.id}/kvitto/1.docx").get_data()
    )
    expected = {
        "plan": "Uppföljningsplan 2027",
        "report": "Årsrapport över strategiska avtal",
        "letter": "Bemanning natt",
        "receipt": sub.registration_number,
    }
    for name, data in documents.items():
        text = docx_text(reopen(data))
        assert expected[name] in text and municipality in text, name
    for name, text in pdf_texts(documents, tmp_path).items():
        assert expected[name] in text and municipality in text, name


def test_yearly_report_of_another_committee_is_not_found(w, browser):
    client = browser(w.reviewer_y)
    assert client.get(f"/handlaggare/arsrapport?namnd={w.committee_x.id}").status_code == 404
    assert client.get(f"/handlaggare/arsrapport.docx?namnd={w.committee_x.id}").status_code == 404


def test_yearly_report_csv(w, make, browser):
    make.agreement(w.org_a, w.area_x, yearly_value_sek=Decimal(20_000_000))
    db.session.commit()
    csv = browser(w.reviewer_x).get(f"/handlaggare/arsrapport?namnd={w.committee_x.id}&format=csv")
    lines = csv.get_data().decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("Avtal;Utförare;Organisationsnummer")
    assert "Org A AB" in lines[1] and ";20000000;" in lines[1]
    assert db.session.scalar(sa.select(Submission.id)) is None
