"""Test setup: a real database (PostgreSQL when TEST_DATABASE_URL is set, else SQLite),
migrated once per run and emptied after each test; real services come from
``tests.fixtures_services``."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from flask_migrate import upgrade
from hypothesis import settings
from itsdangerous import URLSafeTimedSerializer

from portal import create_app, tenancy
from portal.extensions import db
from portal.models import Municipality
from tests import factories

pytest_plugins = ["tests.fixtures_services", "tests.fixtures_jobs", "tests.browser"]


IMMEDIATE = "immediate://"
HOME = "exempelby"  # the municipality every test runs in unless it says otherwise
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# Fuzzing is reproducible by default (a CI run is judged once); HYPOTHESIS_PROFILE=explore
# draws new examples on every run.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def _make_database(tmp_path_factory, base: str | None) -> tuple[str, callable]:
    """A fresh, migrated database for this run (and this xdist worker)."""
    if not base:
        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        return _migrated(f"sqlite:///{path}"), lambda: None
    url = sa.make_url(base)
    name = f"insyn_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return _migrated(url.set(database=name).render_as_string(hide_password=False)), drop


def _migrated(url: str) -> str:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "JOBS_URL": IMMEDIATE})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The database of the suite: TEST_DATABASE_URL's server, else SQLite."""
    url, drop = _make_database(tmp_path_factory, os.environ.get("TEST_DATABASE_URL"))
    yield url
    drop()


@pytest.fixture(scope="session")
def postgres_url(database_url, tmp_path_factory):
    """A PostgreSQL database for what only PostgreSQL can show (row locks, triggers).

    The suite's own when it runs on PostgreSQL, else one on the local server; a
    missing server is an error, not a skip.
    """
    if database_url.startswith("postgresql"):
        yield database_url
        return
    url, drop = _make_database(
        tmp_path_factory, os.environ.get("TEST_POSTGRES_URL", LOCAL_POSTGRES)
    )
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request, tmp_path_factory, database_url):
    """A database of its own for a migration test, on both engines: an SQLite file, and on
    PostgreSQL the suite's server or, in an SQLite run, the local one (migrated to head;
    a missing server is an error, not a skip)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('scratch') / 'm.sqlite'}"
        return
    server = database_url if database_url.startswith("postgresql") else LOCAL_POSTGRES
    url, drop = _make_database(tmp_path_factory, server)
    yield url
    drop()


@pytest.fixture
def pg_app(postgres_url, app_config):
    """The app on PostgreSQL, for concurrency tests."""
    app_config["SQLALCHEMY_DATABASE_URI"] = postgres_url
    yield from _app(app_config)


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """Per-test configuration; tests may change it before asking for ``app``."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "STORAGE_URL": f"file://{tmp_path / 'files'}",
        "UPLOAD_TMP": str(tmp_path / "upload-tmp"),
        "SMTP_URL": "",
        "SERVER_NAME": "insyn.test",
        "BASE_URL": "http://insyn.test",
        # The only municipality (made by ``app``): its site is the whole site, whatever the
        # host name, as in a single-municipality installation.
        "TEST_MUNICIPALITY": HOME,
        # Jobs run inside the enqueue, at the request's commit, so pages behave as if the
        # work were done in the request. A stand-in for the pages' tests only: the engine,
        # its faults and its timing are tested with real brokers (tests/jobs/).
        "JOBS_URL": IMMEDIATE,
    }


@pytest.fixture
def app(app_config):
    yield from _app(app_config)


def _app(app_config):
    app = create_app(app_config)
    app.test_client_class = FormClient
    with app.app_context():
        # One municipality per database, shared by the apps of a test that has two (``app``
        # and ``pg_app`` on the same PostgreSQL database).
        home = db.session.scalar(sa.select(Municipality).filter_by(slug=HOME))
        if home is None:
            home = Municipality(slug=HOME, name=app.config["MUNICIPALITY"])
            db.session.add(home)
            db.session.flush()
        home_id = app.config["TEST_MUNICIPALITY_ID"] = home.id
        db.session.commit()
        with tenancy.use(home_id):
            yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def load_demo(app) -> None:
    """``demo load`` in a test: two municipalities from then on, so the tests' host name is
    given to the tests' municipality (the other one is at its path prefix)."""
    from portal import demo

    demo.load()
    app.config["MUNICIPALITY_URLS"] = {HOME: "http://insyn.test"}


@contextlib.contextmanager
def thread_context(app):
    """An app context for a thread the test starts, in the test's municipality (a new
    thread starts in the national scope, which sees no municipality's rows)."""
    with app.app_context(), tenancy.use(app.config["TEST_MUNICIPALITY_ID"]):
        yield


def _empty_tables() -> None:
    tables = [f'"{t.name}"' for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(sa.text(f"DELETE FROM {table}"))


@pytest.fixture
def client(app) -> FormClient:
    return app.test_client()


@pytest.fixture
def make(app):
    """Factories for real objects: ``make.provider()``, ``make.user(role)``, ..."""
    return factories


def _carries_files(data: dict) -> bool:
    def is_file(value) -> bool:
        return isinstance(value, tuple) or hasattr(value, "read")

    return any(
        is_file(v) or (isinstance(v, list) and any(is_file(x) for x in v)) for v in data.values()
    )


class FormClient(FlaskClient):
    """A test client that behaves like separate browser requests to a real server.

    Each request runs in its own app context (its own ``g`` and database session,
    as under gunicorn) instead of reusing the test's; afterwards the test's session
    is expired so it reads what the request committed. Form posts get a valid CSRF
    token, as a browser would send.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", uuid.uuid4().hex)
        secret = self.application.config["SECRET_KEY"]
        return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)

    def post(self, *args, data=None, csrf: bool = True, **kwargs):
        if csrf and isinstance(data, dict) and "csrf_token" not in data:
            data = {**data, "csrf_token": self.csrf_token()}
            if args and _carries_files(data) and "upload_token=" not in args[0]:
                # As the page's form does: its address carries the upload token.
                separator = "&" if "?" in args[0] else "?"
                args = (f"{args[0]}{separator}upload_token={data['csrf_token']}", *args[1:])
        return super().post(*args, data=data, **kwargs)

    def login(self, user, password: str = factories.PASSWORD, *, site: str = ""):
        """Sign in at ``site`` (a municipality's path prefix, default the only one's)."""
        data = {"email": user.email, "password": password}
        response = self.post(f"{site}/logga-in", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response


def text_of(response) -> str:
    """The visible text of an HTML response, tags removed and whitespace collapsed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture(scope="session")
def compiled_translations():
    """The English catalogue compiled as ``make translations`` does (the .mo files are not
    committed), so that a test run straight from a checkout has them."""
    root = Path(__file__).resolve().parents[1] / "translations"
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)
    return root
