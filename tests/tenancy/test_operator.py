"""The operator's commands (``flask --app portal tenants …``): each change is audited
nationally and in the municipality; a refused one changes and audits nothing."""

from __future__ import annotations

import sqlalchemy as sa

from portal import municipalities, tenancy
from portal.extensions import db
from portal.models import AuditAction, AuditEvent, Municipality, OutboundMail, Role, User
from tests.conftest import text_of


def run(app, *args):
    return app.test_cli_runner().invoke(args=["tenants", *args])


def events(municipality_id: int | None) -> list[tuple[str, dict]]:
    db.session.commit()
    with tenancy.use(municipality_id):
        rows = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.detail).order_by(AuditEvent.id)
        ).all()
        db.session.rollback()
    return [(action, detail) for action, detail in rows if action.startswith("municipality.")]


def test_create_add_an_admin_and_deactivate_each_audited(app):
    created = run(
        app, "create", "--slug", "nacka", "--name", "Nacka kommun", "--phone", "08-718 80 00"
    )
    assert created.exit_code == 0, created.output
    assert "http://insyn.test/nacka/" in created.output
    nacka = db.session.scalar(sa.select(Municipality.id).filter_by(slug="nacka"))
    national = events(None)
    assert [a for a, _d in national] == [AuditAction.MUNICIPALITY_CREATE]
    assert national[0][1]["via"].startswith("cli:") and national[0][1]["slug"] == "nacka"
    assert [a for a, _d in events(nacka)] == [AuditAction.MUNICIPALITY_CREATE]

    added = run(app, "add-admin", "--municipality", "nacka", "--email", "Admin@Nacka.example")
    assert added.exit_code == 0, added.output
    db.session.commit()
    with tenancy.use(nacka):
        (admin,) = db.session.scalars(sa.select(User).where(User.role == Role.ADMIN)).all()
        assert admin.email == "admin@nacka.example" and admin.municipality_id == nacka
        (welcome,) = db.session.scalars(sa.select(OutboundMail)).all()
        assert "http://insyn.test/nacka/aterstall/" in welcome.body
        assert "Nacka kommun" in welcome.body and "Driften av Insyn" in welcome.body
        db.session.rollback()
    with tenancy.use(app.config["TEST_MUNICIPALITY_ID"]):  # not an account of Exempelby
        assert db.session.scalar(sa.select(User).filter_by(email="admin@nacka.example")) is None
        db.session.rollback()
    assert [a for a, _d in events(None)][-1] == AuditAction.MUNICIPALITY_ADMIN_ADD
    assert [a for a, _d in events(nacka)][-1] == AuditAction.MUNICIPALITY_ADMIN_ADD

    start = app.test_client().get("http://insyn.test/nacka/")
    assert start.status_code == 200 and "Kontakt: 08-718 80 00" in text_of(start)
    assert run(app, "deactivate", "--municipality", "nacka").exit_code == 0
    assert app.test_client().get("http://insyn.test/nacka/").status_code == 404
    assert [a for a, _d in events(None)][-1] == AuditAction.MUNICIPALITY_DEACTIVATE
    assert [a for a, _d in events(nacka)][-1] == AuditAction.MUNICIPALITY_DEACTIVATE
    assert "nacka" not in run(app, "list").output


def test_refused_changes_change_and_audit_nothing(app):
    for slug, name in (("sok", "Sök kommun"), ("x", "X kommun"), ("exempelby", "Ny kommun")):
        refused = run(app, "create", "--slug", slug, "--name", name)
        assert refused.exit_code == 1, (slug, refused.output)
    assert run(app, "create", "--slug", "ny", "--name", "Exempelby kommun").exit_code == 1
    assert events(None) == []
    db.session.commit()
    assert len(db.session.scalars(sa.select(Municipality)).all()) == 1
    home = municipalities.by_id(app.config["TEST_MUNICIPALITY_ID"])
    assert "exempelby" in run(app, "list").output and home is not None
