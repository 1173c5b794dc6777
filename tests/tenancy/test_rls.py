"""Row-level security on PostgreSQL: a query that forgets the tenant returns nothing.

Raw SQL, as a role like the production app's (no superuser, no BYPASSRLS, owns nothing),
on every table with a ``municipality_id`` column: without ``app.municipality`` it sees no
municipality's rows; with A's it sees A's and nothing of B; it cannot write B's rows.
On the local PostgreSQL also when the suite runs on SQLite (a missing server fails).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal import create_app, municipalities, tenancy
from portal.extensions import db
from portal.models import Municipality
from tests import factories

ROLE = "insyn_test_app"


@pytest.fixture
def two_municipalities(pg_app):
    """Exempelby (the tests' own) and Provby, each with a world and an issued request."""
    provby = Municipality(slug="provby", name="Provby kommun")
    db.session.add(provby)
    db.session.commit()
    municipalities.forget()
    ids = {}
    for municipality_id in (pg_app.config["TEST_MUNICIPALITY_ID"], provby.id):
        with tenancy.use(municipality_id):
            w = factories.world()
            factories.info_request(w.committee_x, [w.org_a], w.reviewer_x)
            db.session.commit()
        ids[municipality_id] = w
    return list(ids)


@pytest.fixture
def app_role(pg_app):
    """An engine connected as a restricted role, granted what the app's role is granted."""
    owner = db.engine
    with owner.connect() as conn:
        conn.execute(
            sa.text(
                f"DO $$ BEGIN CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
        )
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {ROLE}"))
        conn.execute(
            sa.text(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE}"
            )
        )
        conn.execute(sa.text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ROLE}"))
        conn.commit()
    engine = sa.create_engine(owner.url.set(username=ROLE, password=None))
    yield engine
    engine.dispose()
    with owner.connect() as conn:
        conn.execute(sa.text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}"))
        conn.execute(sa.text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {ROLE}"))
        conn.execute(sa.text(f"REVOKE USAGE ON SCHEMA public FROM {ROLE}"))
        conn.commit()


def _tenant_tables(conn) -> list[str]:
    """Every table with a municipality_id column, but the national registrations of
    provider organisations (which municipalities each one serves)."""
    rows = conn.execute(
        sa.text(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'municipality_id'"
        )
    )
    return sorted(set(rows.scalars()) - {"provider_municipality"})


def _counts(conn, table: str) -> dict:
    rows = conn.execute(
        sa.text(f'SELECT municipality_id, count(*) FROM "{table}" GROUP BY municipality_id')
    )
    return dict(rows.all())


def test_the_app_role_sees_only_what_its_setting_names(two_municipalities, app_role):
    a, b = two_municipalities
    with db.engine.connect() as owner:
        tables = _tenant_tables(owner)
        truth = {table: _counts(owner, table) for table in tables}
        security = dict(
            owner.execute(
                sa.text(
                    "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity "
                    "AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid "
                    "AND p.polname = 'tenant_isolation') "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind = 'r'"
                )
            ).all()
        )
    assert len(tables) >= 20
    assert truth["committee"].keys() == {a, b}  # both municipalities have rows to hide
    for table in [*tables, "user_committee"]:
        assert security[table], f"{table} has no forced tenant_isolation policy"

    with app_role.connect() as conn:
        role = conn.execute(
            sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        assert tuple(role) == (False, False)
        for table in tables:
            national = truth[table].get(None, 0)
            assert _counts(conn, table) == ({None: national} if national else {}), table
        conn.rollback()
        for municipality in (a, b):
            with conn.begin():
                conn.execute(
                    sa.text("SELECT set_config('app.municipality', :m, true)"),
                    {"m": str(municipality)},
                )
                for table in tables:
                    expected = {
                        k: v for k, v in truth[table].items() if k == municipality or k is None
                    }
                    if table in ("audit_event", "outbound_mail"):  # national ones not here
                        expected.pop(None, None)
                    assert _counts(conn, table) == expected, (table, municipality)
                seen = conn.execute(sa.text("SELECT count(*) FROM user_committee")).scalar()
                mine = conn.execute(
                    sa.text(
                        'SELECT count(*) FROM user_committee uc JOIN "user" u '
                        "ON u.id = uc.user_id WHERE u.municipality_id = :m"
                    ),
                    {"m": municipality},
                ).scalar()
                assert seen == mine > 0


def test_the_app_role_cannot_write_another_municipalitys_rows(two_municipalities, app_role):
    a, b = two_municipalities
    with app_role.connect() as conn:
        conn.execute(sa.text("SELECT set_config('app.municipality', :m, false)"), {"m": str(a)})
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            conn.execute(
                sa.text(
                    "INSERT INTO committee (name, code, municipality_id) VALUES ('X', 'X', :b)"
                ),
                {"b": b},
            )
        conn.rollback()
        conn.execute(sa.text("SELECT set_config('app.municipality', :m, false)"), {"m": str(a)})
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            conn.execute(  # moving A's rows to B
                sa.text("UPDATE committee SET municipality_id = :b WHERE municipality_id = :a"),
                {"a": a, "b": b},
            )
        conn.rollback()


def test_the_app_serves_as_the_restricted_role_and_readyz_tells_a_bypassing_one(
    two_municipalities, app_role, app_config
):
    role_url = app_role.url.render_as_string(hide_password=False)
    owner_url = db.engine.url.render_as_string(hide_password=False)
    for url, expected in ((role_url, "ok"), (owner_url, "degraded")):
        production = {"PORTAL_ENV": "production", "CLAMD_URL": "tcp://127.0.0.1:9"}
        served = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url, **production})
        with served.app_context():
            client = served.test_client()
            ready = client.get("/readyz").get_json()["checks"]["database"]
            assert ready["status"] == expected, ready
            page = client.get("/exempelby/sok")  # the tests' municipality, through RLS
            assert page.status_code == 200
            assert "Redovisning" not in page.get_data(as_text=True)  # nothing published
            db.session.remove()
            db.engine.dispose()
