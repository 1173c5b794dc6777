"""Migration 0016_tenancy on a database seeded the old way (one municipality per
installation, schema at 0014_jobs): everything moves into one municipality, named by
``PORTAL_MUNICIPALITY``; provider organisations become national except in-house units;
staff, audit events and mail stay with the municipality. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal import create_app, tenancy
from portal.extensions import db
from portal.models import AuditEvent, Committee, Municipality, Provider, Setting, Submission, User

BEFORE = "0014_jobs"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _filler(column: sa.Column):
    """A value for a NOT NULL column the seed does not name."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return {}
    values = {bool: False, int: 0, Decimal: Decimal(0), str: "x", datetime: NOW, dict: {}}
    return values.get(kind, NOW.date() if kind is date else None)


def _insert(conn, table: str, **values) -> int:
    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
    for column in reflected.columns:
        if (
            column.name not in values
            and not column.nullable
            and not column.primary_key
            and column.server_default is None
        ):
            values[column.name] = _filler(column)
    return conn.execute(reflected.insert().values(**values).returning(reflected.c[0])).scalar()


def _seed_old_schema(conn) -> dict:
    committee = _insert(conn, "committee", name="Vård- och omsorgsnämnden", code="VON")
    area = _insert(conn, "service_area", name="Hemtjänst", committee_id=committee)
    private = _insert(
        conn, "provider", name="Omsorgshuset AB", org_number="556677-8899", ownership="private"
    )
    in_house = _insert(
        conn,
        "provider",
        name="Hemtjänsten (egen regi)",
        org_number="212000-0142",
        ownership="in_house",
    )
    for number, provider in enumerate((private, in_house), 1):
        _insert(
            conn,
            "agreement",
            reference=f"AVT-{number}",
            provider_id=provider,
            committee_id=committee,
            service_area_id=area,
            route="customer_choice",
            starts_on=date(2025, 1, 1),
            impact="low",
        )
    reviewer = _insert(conn, "user", email="granskare@kommun.example", role="reviewer")
    conn.execute(
        sa.text("INSERT INTO user_committee (user_id, committee_id) VALUES (:u, :c)"),
        {"u": reviewer, "c": committee},
    )
    provider_user = _insert(
        conn, "user", email="chef@omsorgshuset.example", role="provider_user", provider_id=private
    )
    unit_user = _insert(
        conn, "user", email="chef@egenregi.example", role="provider_user", provider_id=in_house
    )
    request = _insert(
        conn,
        "information_request",
        committee_id=committee,
        registration_number="VON 2026/1",
        title="Kvalitet",
        kind="transparency_info",
        deadline=date(2026, 4, 1),
    )
    submission = _insert(
        conn,
        "submission",
        kind="transparency_info",
        state="submitted",
        committee_id=committee,
        provider_id=private,
        request_id=request,
        registration_number="VON 2026/2",
        title="Svar",
        lock_version=1,
    )
    conn.execute(sa.text("INSERT INTO setting (key, value) VALUES ('require_staff_totp', '1')"))
    _insert(conn, "audit_event", action="test.before", detail={})
    _insert(conn, "outbound_mail", recipient="a@b.example", subject="Hej", body="Text")
    return {
        "reviewer": reviewer,
        "provider_user": provider_user,
        "unit_user": unit_user,
        "private": private,
        "in_house": in_house,
        "submission": submission,
    }


def test_old_data_moves_into_one_municipality(scratch_url, app_config):
    app = create_app(
        {**app_config, "SQLALCHEMY_DATABASE_URI": scratch_url, "MUNICIPALITY": "Gamla kommun"}
    )
    with app.app_context():
        upgrade()  # the PostgreSQL scratch database comes migrated: down, then up again
        downgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            ids = _seed_old_schema(conn)
        upgrade()
        (municipality,) = db.session.scalars(sa.select(Municipality)).all()
        assert (municipality.name, municipality.slug) == ("Gamla kommun", "gamla")
        db.session.commit()
        with tenancy.use(municipality):
            assert db.session.scalar(sa.select(Committee.code)) == "VON"
            submission = db.session.get(Submission, ids["submission"])
            assert submission.registration_number == "VON 2026/2"
            assert db.session.get(Provider, ids["private"]).municipality_id is None
            assert db.session.get(Provider, ids["in_house"]).municipality_id == municipality.id
            assert db.session.get(User, ids["reviewer"]).municipality_id == municipality.id
            assert db.session.get(User, ids["provider_user"]).municipality_id is None
            assert db.session.get(User, ids["unit_user"]).municipality_id == municipality.id
            assert db.session.get(User, ids["reviewer"]).committees[0].code == "VON"
            assert Setting.of("require_staff_totp").value == "1"
            event = db.session.scalar(sa.select(AuditEvent).filter_by(action="test.before"))
            assert event.municipality_id == municipality.id
            db.session.rollback()
        with tenancy.use(None):  # nothing of the municipality is national
            assert db.session.scalars(sa.select(Committee)).all() == []
            assert db.session.get(User, ids["reviewer"]) is None
            assert db.session.get(User, ids["provider_user"]) is not None
            db.session.rollback()
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT value FROM setting").scalar() == "1"
            columns = {c["name"] for c in sa.inspect(conn).get_columns("committee")}
            assert "municipality_id" not in columns
        db.engine.dispose()


def test_an_empty_database_gets_no_municipality(tmp_path, app_config):
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'e.db'}"})
    with app.app_context():
        upgrade()
        assert db.session.scalars(sa.select(Municipality)).all() == []
        db.session.remove()
        db.engine.dispose()
