"""Models, migrations, policy loaders, health endpoints, CLI and demo data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal import create_app, demo, policy
from portal.extensions import db
from portal.models import Agreement, Impact, JobFailure, Provider, Role, Submission, User
from tests.conftest import text_of
from tests.factories import PASSWORD


def test_org_number_is_validated_and_normalised(app):
    provider = Provider(name="X AB", org_number="5566778899", ownership="private")
    assert provider.org_number == "556677-8899"
    with pytest.raises(ValueError):
        Provider(name="Y AB", org_number="556677-8898", ownership="private")


@pytest.mark.parametrize(
    ("values", "strategic"),
    [
        ({"yearly_value_sek": 12_000_000, "impact": Impact.LOW}, True),
        ({"yearly_value_sek": 3_000_000, "impact": Impact.HIGH}, True),
        ({"yearly_value_sek": 3_000_000, "impact": Impact.MEDIUM}, False),
        ({"yearly_value_sek": 500_000, "impact": Impact.HIGH}, False),
    ],
)
def test_strategic_rule(values, strategic):
    assert Agreement(**values).strategic is strategic


def test_strategic_override_needs_reason(make):
    w = make.world()
    agreement = w.org_a.agreements[0]
    agreement.strategic_override = True
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    agreement.strategic_override, agreement.strategic_override_reason = True, "Känslig verksamhet"
    db.session.commit()
    assert agreement.strategic and not agreement.strategic_by_rule


def test_provider_users_must_belong_to_a_provider(make):
    db.session.add(User(email="x@insyn.example", role=Role.PROVIDER_USER))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(User(email="y@insyn.example", role=Role.REVIEWER, provider=make.provider()))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()


def test_registration_number_is_unique(make):
    w = make.world()
    a, b = make.info_request(w.committee_x, [w.org_a, w.org_b], w.reviewer_x)
    a.registration_number = b.registration_number = "VON 2026/99"
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()


def test_migrations_match_the_models_and_go_down_and_up(app_config, tmp_path):
    """The same migrations on the suite's database and on a fresh SQLite file."""
    for url in (app_config["SQLALCHEMY_DATABASE_URI"], f"sqlite:///{tmp_path / 'm.sqlite'}"):
        app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                # Objects the models cannot describe (the search index) are filtered by the
                # same include_object hook as `flask db migrate` uses.
                hook = app.extensions["migrate"].configure_args.get("include_object")
                context = MigrationContext.configure(conn, opts={"include_object": hook})
                diff = compare_metadata(context, db.metadata)
            assert diff == [], diff
            if url.startswith("sqlite"):
                downgrade(revision="base")
                assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
                upgrade()
            db.engine.dispose()


def test_policy_loader_answers_404_for_other_organisations(app, make):
    from werkzeug.exceptions import NotFound

    w = make.world()
    (sub_b,) = make.info_request(w.committee_x, [w.org_b], w.reviewer_x)
    db.session.commit()
    for user, visible in [
        (w.user_a, False),
        (w.user_b, True),
        (w.reviewer_x, True),
        (w.reviewer_y, False),
        (w.admin, True),
    ]:
        with app.test_request_context():
            from flask_login import login_user

            login_user(user)
            if visible:
                assert policy.load(Submission, sub_b.id) is sub_b
            else:
                with pytest.raises(NotFound):
                    policy.load(Submission, sub_b.id)
            with pytest.raises(NotFound):
                policy.load(Submission, 987654)


def test_visible_submissions_is_confined(make):
    w = make.world()
    make.info_request(w.committee_x, [w.org_a, w.org_b], w.reviewer_x)
    make.info_request(w.committee_y, [w.org_b], w.reviewer_y)
    db.session.commit()

    def count(user):
        return len(
            db.session.scalars(policy.visible_submissions(user, sa.select(Submission))).all()
        )

    assert (
        count(w.user_a),
        count(w.user_b),
        count(w.reviewer_x),
        count(w.reviewer_y),
        count(w.admin),
    ) == (1, 2, 2, 1, 3)


def test_role_start_pages(client, make):
    w = make.world()
    make.info_request(w.committee_x, [w.org_a], w.reviewer_x, title="Bemanning vecka 40")
    db.session.commit()
    client.login(w.user_a)
    page = client.get("/utforare/")
    assert page.status_code == 200 and "Bemanning vecka 40" in page.get_data(as_text=True)
    assert client.get("/handlaggare/").status_code == 404
    client.post("/logga-ut", data={})
    client.login(w.reviewer_y)
    assert client.get("/utforare/").status_code == 404
    assert client.get("/handlaggare/").status_code == 200


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"]["database"]["status"] == "ok"
    assert ready.json["checks"]["storage"]["status"] == "ok"
    assert ready.json["checks"]["scanner"]["status"] == "disabled"
    jobs = ready.json["checks"]["jobs"]
    assert jobs == {
        "status": "ok",
        "broker": "ok",
        "waiting": 0,
        "scheduled": 0,
        "oldest_waiting_seconds": None,
        "failed": 0,
        "last_sweep_seconds": None,
    }
    assert ready.json["status"] == "ok"


def test_readyz_is_degraded_but_ready_when_jobs_lag_or_failed(client):
    db.session.add(JobFailure(task="deliver_mail", arguments={"mail_id": 1}, error="boom"))
    db.session.commit()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "degraded"
    assert ready.json["checks"]["jobs"]["status"] == "degraded"
    assert ready.json["checks"]["jobs"]["failed"] == 1
    assert ready.json["checks"]["database"]["status"] == "ok"


def test_readyz_is_degraded_when_no_worker_sweeps(app_config, tmp_path):
    app = create_app({**app_config, "JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite'}"})
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "degraded"
    jobs = ready.json["checks"]["jobs"]
    assert jobs["last_sweep_seconds"] is None
    assert jobs["problems"] == ["no sweep has run yet: is a worker running?"]


def test_readyz_is_unavailable_when_the_job_broker_is_down(app_config):
    app = create_app({**app_config, "JOBS_URL": "redis://127.0.0.1:1/0"})
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.json["status"] == "unavailable"
    assert ready.json["checks"]["jobs"]["status"] == "down"
    assert ready.json["checks"]["jobs"]["broker"] == "down"
    assert ready.json["checks"]["database"]["status"] == "ok"


def test_readyz_reports_a_down_scanner_and_database(app_config, tmp_path):
    app = create_app({**app_config, "CLAMD_URL": f"unix://{tmp_path / 'no-clamd.sock'}"})
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["scanner"]["status"] == "down"
    assert ready.json["checks"]["database"]["status"] == "ok"
    broken = create_app(
        {
            **app_config,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
        }
    )
    ready = broken.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["database"]["status"] == "down"


def test_production_needs_secret_and_scanner(monkeypatch):
    from portal.config import ConfigError

    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY"):
        create_app()
    monkeypatch.setenv("PORTAL_SECRET_KEY", "x" * 32)
    monkeypatch.delenv("PORTAL_CLAMD_URL", raising=False)
    with pytest.raises(ConfigError, match="PORTAL_CLAMD_URL"):
        create_app()
    monkeypatch.setenv("PORTAL_CLAMD_URL", "tcp://127.0.0.1:9")
    monkeypatch.delenv("PORTAL_JOBS_URL", raising=False)  # the embedded SQLite queue
    with pytest.raises(ConfigError, match="PORTAL_JOBS_URL must be a redis"):
        create_app()
    monkeypatch.setenv("PORTAL_DAILY_AT", "02:30")
    monkeypatch.setenv("PORTAL_JOBS_URL", "redis://127.0.0.1:6379/15")
    with pytest.raises(ConfigError, match="daylight saving"):
        create_app()


def test_security_headers(client):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "nonce-" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in headers


def test_users_create_cli(app, make):
    provider = make.provider()
    make.committee("VON")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Ny@Utforare.example",
            "--role",
            "provider_admin",
            "--provider",
            provider.org_number.replace("-", ""),
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).filter_by(email="ny@utforare.example"))
    assert user.provider_id == provider.id and user.role == Role.PROVIDER_ADMIN
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "h@kommun.example",
            "--role",
            "reviewer",
            "--committee",
            "von",
            "--password-stdin",
        ],
        input="kort\n",
    )
    assert result.exit_code != 0 and "minst 12" in result.output
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "h@kommun.example",
            "--role",
            "reviewer",
            "--committee",
            "VON",
        ]
    )
    assert result.exit_code == 0
    assert [
        c.code
        for c in db.session.scalar(sa.select(User).filter_by(email="h@kommun.example")).committees
    ] == ["VON"]


def test_demo_load_twice_gives_the_same_data(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "reviewer" in first.output and "handlaggare@exempelby.example" in first.output
    # Provby (at its path prefix: two municipalities) asks Omsorgshuset, which serves both.
    assert "http://insyn.test/provby/logga-in" in first.output
    provider = app.test_client()
    chef = db.session.scalar(sa.select(User).filter_by(email="chef@omsorgshuset.example"))
    provider.login(chef, demo.PASSWORD, site="/exempelby")
    here = text_of(provider.get("/exempelby/utforare/"))
    there = text_of(provider.get("/provby/utforare/"))
    assert "Socialnämnden" in there and "Provby" not in here

    def snapshot():
        return {
            t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in db.metadata.sorted_tables
        }

    counts = snapshot()
    assert counts["submission"] >= 8 and counts["publication"] >= 1
    states = set(db.session.scalars(sa.select(Submission.state)).all())
    assert {s.value for s in states} >= {
        "draft",
        "submitted",
        "clarification_requested",
        "approved",
        "rejected",
        "closed",
        "withdrawn",
    }
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    db.session.expire_all()
    counts_after = snapshot()
    counts.pop("audit_event"), counts_after.pop("audit_event")
    assert counts_after == counts


def test_staff_pages_warn_when_scanning_is_off(client, make):
    w = make.world()
    client.login(w.reviewer_x)
    page = client.get("/handlaggare/").get_data(as_text=True)
    assert "Viruskontroll av filer är avstängd" in page
    client.post("/logga-ut", data={})
    client.login(w.user_a)
    assert "Viruskontroll" not in client.get("/utforare/").get_data(as_text=True)


def test_login_and_password_pages_in_english(client, make, compiled_translations):
    user = make.user(Role.REVIEWER, committees=[make.committee()])
    db.session.commit()
    assert "Forgotten your password?" in text_of(client.get("/logga-in?lang=en"))
    refused = client.post("/logga-in", data={"email": user.email, "password": "fel-lösenord-1"})
    assert "Wrong e-mail address or password." in text_of(refused)
    assert "Enter your e-mail address" in text_of(client.get("/glomt-losenord"))
    assert "Glömt lösenordet?" in text_of(client.get("/logga-in?lang=sv"))


@pytest.mark.parametrize("number", ["2200000000", "9223372036854775808"])
def test_ids_no_column_can_hold_are_404_or_a_form_error(client, make, number):
    """A number beyond the id column, in a URL, a query or a posted select: a clear answer,
    never a database error."""
    w = make.world()
    client.login(w.user_a)
    assert client.get(f"/utforare/arenden/{number}").status_code == 404
    assert client.get(f"/utforare/atgardsplaner/ny?avvikelse={number}").status_code == 404
    client.post("/logga-ut", data={})
    client.login(w.admin)
    agreements = db.session.scalar(sa.select(sa.func.count()).select_from(Agreement))
    response = client.post(
        "/handlaggare/avtal/ny",
        data={
            "provider_id": w.org_a.id,
            "committee_id": w.committee_x.id,
            "service_area_id": number,
            "reference": "AVT-1",
        },
    )
    assert response.status_code in (200, 422), response.status_code
    assert "Verksamhetsområde" in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agreement)) == agreements
