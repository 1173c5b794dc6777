"""The registry: committees, service areas, providers and agreements."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from admin.registry import operations
from portal.extensions import db
from portal.models import (
    Agreement,
    AuditAction,
    AuditEvent,
    Committee,
    Impact,
    Ownership,
    Provider,
    Route,
    ServiceArea,
)
from tests.conftest import text_of


def agreement_form(w, **values) -> dict:
    data = {
        "reference": "AVT-2026-7",
        "provider_id": str(w.org_a.id),
        "committee_id": str(w.committee_x.id),
        "service_area_id": str(w.area_x.id),
        "route": "procurement",
        "starts_on": "2026-01-01",
        "ends_on": "2028-12-31",
        "yearly_value_sek": "2 500 000 kr",
        "impact": "high",
        "strategic_override": "",
        "strategic_override_reason": "",
        "responsible_officer": "Lars Ek",
        "quality_requirements": "Kontaktperson för varje brukare.",
    }
    data.update(values)
    return data


def test_provider_with_a_valid_organisation_number(w, browser):
    client = browser(w.reviewer_x)
    refused = client.post(
        "/handlaggare/utforare/ny",
        data={"name": "Nya Omsorg AB", "org_number": "556677-8890", "ownership": "private"},
    )
    assert refused.status_code == 200
    assert "Organisationsnumret är inte giltigt" in text_of(refused)
    ok = client.post(
        "/handlaggare/utforare/ny",
        data={
            "name": "Nya Omsorg AB",
            "org_number": "5566778899",
            "ownership": "non_profit",
            "email": "info@nyaomsorg.example",
            "website": "https://nyaomsorg.example",
        },
    )
    assert ok.status_code == 302
    provider = db.session.scalar(sa.select(Provider).filter_by(name="Nya Omsorg AB"))
    assert provider.org_number == "556677-8899" and provider.ownership == Ownership.NON_PROFIT
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="provider.create"))
    assert event.detail["changes"]["org_number"] == [None, "556677-8899"]


def test_any_reviewer_keeps_providers_but_not_publishers(w, browser):
    response = browser(w.reviewer_y).post(
        f"/handlaggare/utforare/{w.org_a.id}/andra",
        data={"name": "Org A Omsorg AB", "org_number": w.org_a.org_number, "ownership": "private"},
    )
    assert response.status_code == 302
    assert db.session.get(Provider, w.org_a.id).name == "Org A Omsorg AB"
    assert browser(w.publisher).get("/handlaggare/utforare/ny").status_code == 404
    assert browser(w.user_a).get("/handlaggare/utforare").status_code == 404


def test_provider_list_search_filter_and_csv(w, make, browser):
    make.provider("Hemtjänsten egen regi", ownership=Ownership.IN_HOUSE)
    db.session.commit()
    client = browser(w.reviewer_x)
    page = text_of(client.get("/handlaggare/utforare?driftform=in_house"))
    assert "Hemtjänsten egen regi" in page and "Org A AB" not in page
    assert "Org B AB" in text_of(client.get(f"/handlaggare/utforare?q={w.org_b.org_number}"))
    by_area = text_of(client.get(f"/handlaggare/utforare?omrade={w.area_x.id}"))
    assert "Org A AB" in by_area and "egen regi" not in by_area
    csv = client.get("/handlaggare/utforare?format=csv").get_data().decode("utf-8-sig")
    assert csv.splitlines()[0] == ("Namn;Organisationsnummer;Regiform;E-post;Webbplats;Antal avtal")
    assert "Hemtjänsten egen regi;" in csv and ";Egen regi;" in csv


def test_agreement_strategic_by_rule_and_override_needs_a_reason(w, browser):
    client = browser(w.reviewer_x)
    ok = client.post("/handlaggare/avtal/ny", data=agreement_form(w))
    assert ok.status_code == 302
    agreement = db.session.scalar(sa.select(Agreement).filter_by(reference="AVT-2026-7"))
    assert agreement.yearly_value_sek == Decimal(2_500_000)
    assert agreement.route == Route.PROCUREMENT and agreement.impact == Impact.HIGH
    assert agreement.strategic_override is None and agreement.strategic, "high impact ≥ 2 Mkr"
    page = text_of(client.get(f"/handlaggare/avtal/{agreement.id}"))
    assert "Ja (enligt regeln)" in page
    assert "minst 10 000 000 kr" in page, "the rule is shown"

    url = f"/handlaggare/avtal/{agreement.id}/andra"
    refused = client.post(url, data=agreement_form(w, strategic_override="no"))
    assert "Motivera varför regeln inte ska gälla för avtalet." in text_of(refused)
    assert db.session.get(Agreement, agreement.id).strategic
    client.post(
        url,
        data=agreement_form(
            w, strategic_override="no", strategic_override_reason="Kortvarigt avtal."
        ),
    )
    agreement = db.session.get(Agreement, agreement.id)
    assert not agreement.strategic and agreement.strategic_override_reason == "Kortvarigt avtal."
    changes = db.session.scalar(sa.select(AuditEvent).filter_by(action="agreement.update")).detail[
        "changes"
    ]
    assert changes["strategic_override"] == [None, False]


def test_agreement_validation(w, make, browser):
    client = browser(w.reviewer_x)
    page = text_of(
        client.post(
            "/handlaggare/avtal/ny",
            data=agreement_form(
                w,
                yearly_value_sek="två miljoner",
                ends_on="2025-01-01",
                service_area_id=str(w.area_y.id),
            ),
        )
    )
    assert "Ange beloppet i hela kronor" in page
    assert "Slutdatum kan inte vara före startdatum." in page
    assert "Välj ett verksamhetsområde som hör till nämnden." in page
    duplicate = w.org_a.agreements[0].reference
    page = text_of(
        client.post("/handlaggare/avtal/ny", data=agreement_form(w, reference=duplicate))
    )
    assert "Nämnden har redan ett avtal med det numret." in page
    assert db.session.scalar(sa.select(sa.func.count(Agreement.id))) == 3


def test_agreement_of_another_committee(w, browser):
    agreement = w.org_a.agreements[0]
    client = browser(w.reviewer_y)
    assert client.get(f"/handlaggare/avtal/{agreement.id}").status_code == 404
    assert client.get(f"/handlaggare/avtal/{agreement.id}/andra").status_code == 404
    assert (
        client.post(
            f"/handlaggare/avtal/{agreement.id}/andra", data=agreement_form(w, reference="X")
        ).status_code
        == 404
    )
    refused = client.post("/handlaggare/avtal/ny", data=agreement_form(w))
    assert refused.status_code == 200 and "Nämnd: Inte ett giltigt val" in text_of(refused)
    assert db.session.get(Agreement, agreement.id).reference != "X"
    assert agreement.reference not in text_of(client.get("/handlaggare/avtal"))


def test_agreement_list_filters_and_csv(w, make, browser):
    big = make.agreement(
        w.org_a, w.area_x, yearly_value_sek=Decimal(15_000_000), route=Route.PROCUREMENT
    )
    db.session.commit()
    client = browser(w.reviewer_x)
    strategic = text_of(client.get("/handlaggare/avtal?strategiskt=ja"))
    assert big.reference in strategic and "1 träff" in strategic
    assert "2 träffar" in text_of(client.get("/handlaggare/avtal?strategiskt=nej"))
    assert big.reference in text_of(client.get("/handlaggare/avtal?avtalsform=procurement"))
    assert "1 träff" in text_of(client.get(f"/handlaggare/avtal?q={big.reference}"))
    csv = client.get("/handlaggare/avtal?format=csv&strategiskt=ja").get_data().decode("utf-8-sig")
    header, row = csv.split("\r\n")[:2]
    assert header.split(";")[:3] == ["Avtalsnummer", "Utförare", "Organisationsnummer"]
    assert ";15000000;" in row and ";Ja;" in row and "Upphandling (LOU)" in row


def test_csv_cells_are_not_formulas(w, make, browser):
    make.provider('=HYPERLINK("http://evil.example","klicka")')
    db.session.commit()
    csv = browser(w.reviewer_x).get("/handlaggare/utforare?format=csv").get_data()
    assert b"'=HYPERLINK" in csv


def test_committees_and_service_areas_are_kept_by_the_administrator(w, browser):
    assert browser(w.reviewer_x).get("/handlaggare/namnder/ny").status_code == 404
    admin = browser(w.admin)
    created = admin.post(
        "/handlaggare/namnder/ny", data={"name": "Kultur- och fritidsnämnden", "code": "kfn2"}
    )
    assert created.status_code == 302
    committee = db.session.scalar(sa.select(Committee).filter_by(code="KFN2"))
    assert committee is not None
    clash = admin.post("/handlaggare/namnder/ny", data={"name": "Ny", "code": "VON"})
    assert "Det finns redan en nämnd" in text_of(clash)
    assert (
        admin.post(
            "/handlaggare/verksamhetsomraden/ny",
            data={"name": "Simhall Norr", "committee_id": str(committee.id)},
        ).status_code
        == 302
    )
    assert db.session.scalar(sa.select(ServiceArea).filter_by(name="Simhall Norr"))
    listing = text_of(browser(w.reviewer_x).get("/handlaggare/verksamhetsomraden"))
    assert "Hemtjänst" in listing and "Simhall Norr" not in listing
    csv = admin.get("/handlaggare/namnder?format=csv").get_data().decode("utf-8-sig")
    assert "Kultur- och fritidsnämnden;KFN2" in csv


def test_a_service_area_name_in_use_is_a_form_error(w, browser):
    admin = browser(w.admin)
    url = f"/handlaggare/verksamhetsomraden/{w.area_x.id}/andra"
    clash = admin.post(url, data={"name": "Simhall", "committee_id": str(w.committee_x.id)})
    assert clash.status_code == 200
    assert "Det finns redan ett verksamhetsområde med det namnet." in text_of(clash)
    db.session.expire_all()
    assert db.session.get(ServiceArea, w.area_x.id).name == "Hemtjänst"
    assert not db.session.scalar(
        sa.select(AuditEvent).filter_by(action=AuditAction.SERVICE_AREA_UPDATE)
    )


def test_a_committee_saved_at_the_same_moment_gets_the_form_error_not_a_500(
    w, browser, monkeypatch
):
    """Another post saves the same code between the check and the write: the unique
    constraint refuses the write, and the user sees the same message as for a plain clash."""
    checks = []

    def clash_missed_once(model, obj, *conditions):
        found = other(model, obj, *conditions)

        def clash():
            checks.append(model)
            return found() if len(checks) > 1 else None  # the first check comes too early

        return clash

    other = operations._other
    monkeypatch.setattr(operations, "_other", clash_missed_once)
    response = browser(w.admin).post(
        "/handlaggare/namnder/ny", data={"name": "Vård- och omsorgsnämnd 2", "code": "von"}
    )
    assert response.status_code == 200 and len(checks) == 2
    assert "Det finns redan en nämnd med det namnet eller den koden." in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count(Committee.id))) == 2
    assert not db.session.scalar(
        sa.select(AuditEvent).filter_by(action=AuditAction.COMMITTEE_CREATE)
    )


def test_registry_changes_are_audited_under_their_action_names(w, browser):
    admin = browser(w.admin)
    admin.post(
        f"/handlaggare/namnder/{w.committee_x.id}/andra",
        data={"name": w.committee_x.name, "code": "VON", "phone": " 010-123 45 "},
    )
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="committee.update"))
    assert event.detail["changes"] == {"phone": [None, "010-123 45"]}
    admin.post(
        f"/handlaggare/namnder/{w.committee_x.id}/andra",
        data={"name": w.committee_x.name, "code": "VON", "phone": "010-123 45"},
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).filter_by(action="committee.update")
        )
        == 1
    ), "an unchanged record leaves no event"
