"""Two municipalities with a full world each, for the tests of what one must never see or
change of the other: Exempelby (A, the tests' own, at ``http://insyn.test``) and Provby
(B, at ``http://provby.insyn.test``; both also at ``http://riks.insyn.test/<slug>/``).

Each world has committees, staff, provider organisations, requests, submissions in
several states, a deviation report, a follow-up plan, an invitation, attachments, a
redacted copy and a publication (``tests/security/conftest._side``), made in its own
scope. One organisation, "Delad Omsorg AB", is national and has agreements in both; its
side of each world is the one with every state. B's data carries words that nothing of
A uses (:data:`B_MARKERS`), so that a leak shows in any page, export or document.
"""

from __future__ import annotations

import contextvars
import hashlib
import io
import re
import zipfile
from types import SimpleNamespace

import sqlalchemy as sa
from flask.testing import FlaskClient
from lxml import html as lxml_html

from portal import municipalities, tenancy
from portal.auth.tokens import invitation_token
from portal.extensions import db
from portal.models import (
    Committee,
    Invitation,
    Municipality,
    OutboundMail,
    Provider,
    Role,
    ServiceArea,
    User,
)
from portal.models.tenant import Tenant, TenantOrNational, TenantOrNationalStrict
from portal.models.user import user_committee
from tests import factories
from tests.conftest import HOME, IMMEDIATE, FormClient, _app
from tests.security.conftest import _side, url_for_rule

A_BASE = "http://insyn.test"
B_BASE = "http://provby.insyn.test"
NATIONAL_BASE = "http://riks.insyn.test"
HOSTS = {"exempelby": A_BASE, "provby": B_BASE}

# What B's committees and service areas are called (ASCII: the API's JSON escapes the
# rest). B's registration numbers then read "LODJ 2026/1", "GRVL 2026/1".
B_NAMES = {
    "committee_x": ("LODJ", "Lodjursnamnden"),
    "committee_y": ("GRVL", "Gravlingsnamnden"),
    "area_x": "Lodjursomsorg",
    "area_y": "Gravlingsbadet",
}
# Words only B's data holds (matched case-insensitively).
B_DATA = ("lodj", "grvl", "gravling")
B_MARKERS = (*B_DATA, "provby")
# Words only A's data holds: its committees' codes in registration numbers, its label.
A_DATA = ("VON 20", "KFN 20", "Nämnd VON", "ekorre")
A_MARKERS = (*A_DATA, "exempelby")

SHARED_ORG = "Delad Omsorg AB"

# URL parameters that name a municipality's own row: filled with B's ids, a page of A must
# answer 404. The others name national rows (organisations, their users and invitations)
# or no row at all.
TENANT_ARGUMENTS = {
    "submission_id",
    "request_id",
    "attachment_id",
    "agreement_id",
    "plan_id",
    "item_id",
    "publication_id",
    "document_id",
    "copy_id",
    "committee_id",
    "area_id",
    "staff_id",
    "failure_id",
    "mail_id",
}

REFUSED = {"404", "login"}


def open_site(database_url: str, tmp_path_factory):
    """The app with both worlds, for a module's tests (a module-scoped fixture's body: the
    worlds are made once, not for every test). Configured as ``tests/conftest.app_config``
    with each municipality's own host; a server error answers 500 instead of raising, so
    that a crawl reports it with the others. The tables are emptied at the end."""
    files = tmp_path_factory.mktemp("across")
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "STORAGE_URL": f"file://{files / 'files'}",
        "UPLOAD_TMP": str(files / "upload-tmp"),
        "SMTP_URL": "",
        "SERVER_NAME": "insyn.test",
        "BASE_URL": NATIONAL_BASE,
        "MUNICIPALITY_URLS": dict(HOSTS),
        "TEST_MUNICIPALITY": HOME,
        "JOBS_URL": IMMEDIATE,
        # Many logins from one address; the limiter is tested in tests/test_auth.py.
        "RATELIMIT_ENABLED": False,
        "PROPAGATE_EXCEPTIONS": False,
    }
    apps = _app(config)
    app = next(apps)
    try:
        provby = Municipality(slug="provby", name="Provby kommun")
        db.session.add(provby)
        db.session.commit()
        municipalities.forget()
        yield Site(app, build(app.config["TEST_MUNICIPALITY_ID"], provby.id))
    finally:
        next(apps, None)


class Site:
    """The app, the worlds' ids (:func:`build`) and clients signed in once per site."""

    def __init__(self, app, ids: SimpleNamespace):
        self.app = app
        self.ids = ids
        self.a, self.b = ids.a, ids.b
        self.home, self.other = ids.a["municipality_id"], ids.b["municipality_id"]
        self._clients: dict = {}

    def client(self, base: str, email: str | None = None, *, server_like: bool = False):
        """A client signed in as ``email`` at ``base`` (kept for the module's tests)."""
        key = (base, email, server_like)
        if key not in self._clients:
            client = (
                ServerLikeClient(self.app, self.app.response_class)
                if server_like
                else self.app.test_client()
            )
            self._clients[key] = client_at(self.app, base, email, client)
        return self._clients[key]


def build(home_id: int, other_id: int) -> SimpleNamespace:
    """Both worlds, as ids: ``.a`` and ``.b`` (the values :func:`url_for_rule` takes, plus
    the world's users and organisations), ``.shared`` (the organisation serving both) and
    its users ``.s_user``/``.s_admin`` (national, with their e-mail addresses)."""
    db.session.commit()
    with tenancy.use(home_id):
        shared = factories.provider(SHARED_ORG)
        s_user = factories.user(Role.PROVIDER_USER, provider_=shared)
        s_admin = factories.user(Role.PROVIDER_ADMIN, provider_=shared)
        made = SimpleNamespace(
            shared=shared.id,
            s_user=SimpleNamespace(id=s_user.id, email=s_user.email),
            s_admin=SimpleNamespace(id=s_admin.id, email=s_admin.email),
        )
        db.session.commit()
    for slug, municipality_id, label in (("a", home_id, "ekorre"), ("b", other_id, "lodjur")):
        with tenancy.use(municipality_id):
            w = factories.world()
            if slug == "b":
                for name in ("committee_x", "committee_y"):
                    committee: Committee = getattr(w, name)
                    committee.code, committee.name = B_NAMES[name]
                for name in ("area_x", "area_y"):
                    area: ServiceArea = getattr(w, name)
                    area.name = B_NAMES[name]
                db.session.commit()
            org = db.session.get(Provider, made.shared)
            factories.agreement(org, w.area_x)
            values = _side(w, factories, org, w.committee_x, w.area_x, w.reviewer_x, label)
            # The invitation is the (national) organisation's, seen on both sites: it
            # carries no municipality's word.
            invitation = db.session.get(Invitation, values["invitation_id"])
            invitation.email = f"inbjuden-{slug}@insyn.example"
            values["token"] = invitation_token({"i": invitation.id, "e": invitation.email})
            # The organisation that serves this municipality alone has a request too.
            (alone,) = factories.info_request(w.committee_x, [w.org_a], w.reviewer_x)
            values.update(
                municipality_id=municipality_id,
                alone_submission_id=alone.id,
                org_a=w.org_a.id,
                users={
                    role: SimpleNamespace(id=user.id, email=user.email)
                    for role, user in vars(w).items()
                    if isinstance(user, User)
                },
            )
            db.session.commit()
            setattr(made, slug, values)
    return made


def client_at(app, base: str, email: str | None = None, client=None) -> FormClient:
    """A client signed in as ``email`` on the site at ``base`` (anonymous without one)."""
    client = client or app.test_client()
    if email is not None:
        response = sign_in(client, base, email)
        assert response.status_code == 302, (base, email, response.status_code)
    return client


def sign_in(client, base: str, email: str, password: str = factories.PASSWORD):
    """The login form of the site at ``base`` filled in and sent, as a browser does."""
    csrf = csrf_from_page(client, f"{base}/logga-in")
    return client.post(
        f"{base}/logga-in", data={"email": email, "password": password, "csrf_token": csrf}
    )


def outcome(response) -> str:
    response.get_data()
    response.close()
    if response.status_code in (302, 303) and "/logga-in" in (response.location or ""):
        return "login"
    return str(response.status_code)


def says_nothing(client, base: str, path: str, response) -> bool:
    """Whether ``response`` (to ``path``, a redirect) is the answer for rows and tokens
    that exist nowhere: a button's address opened with GET leads back to the button's page
    without looking its row up; a password link that is not one of this site's is
    "invalid or too old". A page (200) is never taken for one."""
    if not 300 <= response.status_code < 400:
        return False
    nowhere = re.sub(r"/\d+", "/999999999", path)
    nowhere = re.sub(r"/[\w.-]{20,}", "/" + "x" * 40, nowhere)
    other = client.get(base + nowhere)
    return (other.status_code, other.location) == (response.status_code, response.location)


def markers_in(text: str, markers=B_MARKERS) -> list[str]:
    lowered = text.lower()
    return [m for m in markers if m.lower() in lowered]


def body_text(response) -> str:
    """The body as text; of a .docx (or any zip), the text of every part in it."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
        return re.sub(r"<[^>]+>", "", "\n".join(parts))
    return data.decode("utf-8", "replace")


def text(response) -> str:
    """The body as text, whatever it holds."""
    return response.get_data().decode("utf-8", "replace")


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from_page(client, url: str) -> str:
    """The CSRF token a page of the client's site puts in its forms."""
    page = client.get(url).get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def urls(app, municipality_id: int, values: dict, *, methods=("GET",), tenant_only=False):
    """(method, rule, url) for every rule of the app with ``values`` (one municipality's
    objects); ``tenant_only``: only rules that name at least one municipal row. Built in
    that municipality's scope (a few rules look an object up to fill their parameters)."""
    out = []
    db.session.commit()
    with tenancy.use(municipality_id):
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if tenant_only and not set(rule.arguments) & TENANT_ARGUMENTS:
                continue
            for method in sorted(rule.methods & set(methods)):
                out.append((method, rule, url_for_rule(rule, values)))
        db.session.rollback()
    return out


def fingerprint(municipality_id: int) -> dict[str, tuple[int, str]]:
    """A hash of the rows of ``municipality_id`` in every table, read in its scope (the
    app's own filter): national rows, which every municipality shares, are left out."""
    db.session.commit()
    out = {}
    with tenancy.use(municipality_id):
        for mapper in sorted(db.Model.registry.mappers, key=lambda m: m.local_table.name):
            cls = mapper.class_
            if not issubclass(cls, Tenant | TenantOrNational | TenantOrNationalStrict):
                continue
            columns = [getattr(cls, attr.key) for attr in mapper.column_attrs]
            query = (
                sa.select(*columns)
                .where(cls.municipality_id == municipality_id)
                .order_by(*[getattr(cls, c.key) for c in mapper.primary_key])
            )
            rows = db.session.execute(query).all()
            out[mapper.local_table.name] = (len(rows), _digest(rows))
        links = db.session.execute(
            sa.select(user_committee.c.user_id, user_committee.c.committee_id)
            .join(Committee, Committee.id == user_committee.c.committee_id)
            .order_by(user_committee.c.user_id, user_committee.c.committee_id)
        ).all()
        out["user_committee"] = (len(links), _digest(links))
        db.session.rollback()
    return out


def mails_of(municipality_id: int) -> list[OutboundMail]:
    """The mails written in ``municipality_id``'s scope, oldest first (detached)."""
    db.session.commit()
    with tenancy.use(municipality_id):
        mails = db.session.scalars(sa.select(OutboundMail).order_by(OutboundMail.id)).all()
        for mail in mails:
            db.session.expunge(mail)
        db.session.rollback()
    return mails


def _digest(rows) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def changed(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


class ServerLikeClient(FormClient):  # as tests/security/test_export_crawl.py's
    """Each request in an empty context, as a server's worker thread has (the national
    scope, not the test's), its body read after the request's contexts were popped: a
    streamed export that lost its municipality shows here as it would under gunicorn."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(FlaskClient.open, self, *args, **kwargs)
        db.session.expire_all()
        return response


def cross_references() -> list[str]:
    """Rows of one municipality whose foreign key points at a row of another (read past
    the filter: the whole database, as its owner sees it), staff on another's committees
    included. National rows may point at any municipality's, and be pointed at."""
    out = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for fk in table.foreign_keys:
                target = fk.column.table
                if target.name == "municipality" or "municipality_id" not in target.c:
                    continue
                child, parent = table.alias("child"), target.alias("parent")
                joined = child.join(parent, parent.c[fk.column.name] == child.c[fk.parent.name])
                if "municipality_id" in table.c:
                    mine = child.c.municipality_id
                elif table.name == user_committee.name:
                    owner = db.metadata.tables["user"].alias("owner")
                    joined = joined.join(owner, owner.c.id == child.c.user_id)
                    mine = owner.c.municipality_id
                else:
                    continue
                query = (
                    sa.select(sa.func.count())
                    .select_from(joined)
                    .where(mine != parent.c.municipality_id)  # NULL on either side: national
                )
                if count := conn.execute(query).scalar():
                    out.append(f"{table.name}.{fk.parent.name} -> {target.name}: {count} rows")
    return out


def filled_form(page: str, values: dict) -> dict:
    """What a browser sends for the page's post form that has the fields of ``values``:
    the form's own values (hidden keys, defaults, the first option of each select), with
    ``values`` typed in."""
    document = lxml_html.fromstring(page)
    form = next(
        f
        for f in document.forms
        if (f.method or "").lower() == "post" and set(values) & set(f.fields.keys())
    )
    data: dict = {}
    for name, value in form.form_values():
        data.setdefault(name, []).append(value)
    for select in form.xpath(".//select[@name]"):
        options = [o.get("value", o.text_content()) for o in select.xpath(".//option")]
        if select.get("name") not in data and options and select.get("multiple") is None:
            data[select.get("name")] = [next((o for o in options if o), options[0])]
    data.update(
        {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in values.items()}
    )
    return {k: v[0] if len(v) == 1 else v for k, v in data.items()}
