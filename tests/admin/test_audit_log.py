"""The audit log page, its export, and that the log cannot be altered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import html as lxml_html

from portal import audit, workflow
from portal.extensions import db
from portal.models import AuditEvent
from tests.conftest import text_of

ROOT = Path(__file__).resolve().parents[2]


def tree(response):
    return lxml_html.fromstring(response.get_data(as_text=True))


def test_only_administrators_read_the_log(w, browser):
    for user in (w.reviewer_x, w.publisher, w.user_a):
        assert browser(user).get("/handlaggare/logg").status_code == 404
        assert browser(user).get("/handlaggare/logg?format=csv").status_code == 404
    assert browser(w.admin).get("/handlaggare/logg").status_code == 200


def test_filters_and_csv(w, make, browser):
    make.info_request(w.committee_x, [w.org_a], w.reviewer_x, title="Loggad begäran")
    audit.record("test.other", actor=w.reviewer_y, note="annat")
    db.session.commit()
    client = browser(w.admin)
    everything = text_of(client.get("/handlaggare/logg"))
    # Events by their names (an unknown one by its code), never the raw codes of known ones.
    assert "Begäran skickad" in everything and "test.other" in everything
    assert "request.issue" not in everything

    by_action = text_of(client.get("/handlaggare/logg?handelse=request"))
    assert "Begäran skickad" in by_action and "test.other" not in by_action
    by_actor = text_of(client.get(f"/handlaggare/logg?vem={w.reviewer_y.email}"))
    assert "test.other" in by_actor and "Begäran skickad" not in by_actor
    issued = db.session.scalar(sa.select(AuditEvent).filter_by(action="request.issue"))
    by_object = text_of(
        client.get(f"/handlaggare/logg?objekt=informationrequest&id={issued.object_id}")
    )
    assert "Begäran skickad" in by_object and "Inloggad" not in by_object
    future = text_of(client.get("/handlaggare/logg?fran=2999-01-01"))
    assert "Inga händelser matchar urvalet." in future

    csv = client.get("/handlaggare/logg?format=csv&handelse=request").get_data()
    lines = csv.decode("utf-8-sig").split("\r\n")
    assert (
        lines[0] == "Tid;Vem;Användar-id;IP-adress;Händelse;Händelsekod;Objekt;Objekt-id;Detaljer"
    )
    assert ";Begäran skickad;request.issue;Begäran;" in lines[1]
    assert w.reviewer_x.email in lines[1] and "Diarienummer: VON" in lines[1]


def test_the_log_reads_in_words(w, make, browser):
    """Actions, objects and details by their names; states by the staff's words."""
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    make.submitted(sub, w.user_a)
    workflow.approve(sub, w.reviewer_x)
    db.session.commit()
    page = browser(w.admin).get(f"/handlaggare/logg?objekt=submission&id={sub.id}")
    rows = [" ".join(tr.text_content().split()) for tr in tree(page).xpath("//tbody/tr")]
    approved = next(r for r in rows if "Godkänd" in r)
    assert f"Ärende {sub.id}" in approved
    assert "Från status: Inskickad" in approved and "Till status: Godkänd" in approved
    assert "submission.approve" not in approved and "{" not in approved
    options = tree(page).xpath("//select[@id='handelse']/option/text()")
    assert "Ärende" in options and "submission" not in options


def test_no_code_path_updates_or_deletes_audit_events():
    """The log is append-only in the code too: no UPDATE or DELETE of audit_event anywhere."""
    patterns = [
        re.compile(r"(update|delete)\(\s*AuditEvent\b"),
        re.compile(r"AuditEvent\)\s*\.\s*(update|delete)\("),
        re.compile(r"(UPDATE|DELETE\s+FROM)\s+\"?audit_event", re.IGNORECASE),
    ]
    offenders = []
    for package in ("portal", "admin", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            offenders += [
                f"{path.relative_to(ROOT)}: {p.pattern}" for p in patterns if p.search(text)
            ]
    assert offenders == []


def test_the_database_refuses_to_change_the_log_on_postgresql(pg_app):
    audit.record("test.kept", actor=None, note="original")
    db.session.commit()
    event = db.session.scalar(sa.select(AuditEvent))
    event.detail = {"note": "ändrad"}
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(sa.select(AuditEvent)))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(AuditEvent.detail)) == {"note": "original"}
