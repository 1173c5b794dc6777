"""Every page and every export a staff member can reach by a link works.

Each staff role (reviewer, publisher, administrator) logs in to the demo municipality
(plus one published answer with a PDF and a Word file, so that file links exist),
starts at the staff start page and follows every same-site link (``<a href>``; forms
and logout are not followed). Every HTML page must answer 200, or redirect to a page
that does; every export link (``format=csv``, a path ending in ``.csv``, ``.docx`` or
``.pdf``, an ``<a download>``) and every response that is a file must answer 200 with
the right Content-Type and a body. Nothing here lists the exports: a new one is found
by its link.

The client behaves as a WSGI server does: no application context of the test is
around a request, so Flask pops the request's contexts (and runs every teardown)
before the body is read; a streamed export that loses its database session then
fails here as it would under gunicorn.

The crawl is bounded: URLs are grouped by their path with numbers replaced and the
names of their query arguments, a few of each group are visited, and pages outside the
staff area are visited once for all roles.
"""

from __future__ import annotations

import contextvars
import re
from collections import Counter, deque
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import EnvironBuilder, FlaskClient
from lxml import html as lxml_html

from portal import csv_files, demo
from portal.extensions import db
from portal.models import Committee, FieldType, Provider, RequestField, ServiceArea, User
from tests.admin.helpers import make_docx
from tests.conftest import FormClient, load_demo
from tests.pdfs import pdf_bytes

STAFF_ROLES = {
    "reviewer": "handlaggare@exempelby.example",
    "publisher": "publicerare@exempelby.example",
    "admin": "admin@exempelby.example",
}
START = "/handlaggare/"
STAFF_AREA = ("/handlaggare", "/konto")
HOST = "insyn.test"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILE_TYPES = {"csv": "text/csv", "docx": DOCX, "pdf": "application/pdf"}
MAGIC = {"docx": b"PK", "pdf": b"%PDF"}

PAGES_PER_GROUP = 5  # pages with the same path pattern and query arguments
EXPORTS_PER_GROUP = 5
MAX_REQUESTS = 400  # per role
MAX_REDIRECTS = 5
SKIPPED_PATHS = re.compile(r"/logga-ut|^/static/")
SKIPPED_ARGS = {"lang"}  # switches the language of the session, not a page of its own


class ServerLikeClient(FormClient):
    """Each request in an empty context (as a server's worker thread has), its body read
    after the request's contexts were popped."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(FlaskClient.open, self, *args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture
def demo_site(app, make):
    """The demo municipality, and one published answer of it with a PDF and a Word file."""
    load_demo(app)
    committee = db.session.scalar(sa.select(Committee).filter_by(code="VON"))
    area = db.session.scalar(sa.select(ServiceArea).filter_by(name="Hemtjänst"))
    provider = db.session.scalar(sa.select(Provider).filter_by(org_number="556677-8899"))
    reviewer, publisher, author = (
        db.session.scalar(sa.select(User).filter_by(email=email))
        for email in (
            STAFF_ROLES["reviewer"],
            STAFF_ROLES["publisher"],
            "kvalitet@omsorgshuset.example",
        )
    )
    (submission,) = make.info_request(
        committee,
        [provider],
        reviewer,
        service_area=area,
        title="Egenkontroll med bilagor",
        fields=[
            RequestField(position=1, label="Sammanfattning", type=FieldType.TEXT),
            RequestField(position=2, label="Egenkontroll", type=FieldType.FILE),
            RequestField(position=3, label="Rutin", type=FieldType.FILE),
        ],
    )
    keys = [f.key for f in submission.request.fields]
    make.answered(
        submission,
        reviewer,
        {keys[0]: "Egenkontrollen är gjord."},
        files=[
            (keys[1], "egenkontroll.pdf", pdf_bytes("Egenkontroll 2026")),
            (keys[2], "rutin.docx", make_docx("Rutin för avvikelser")),
        ],
        author=author,
    )
    make.published(submission, publisher, title="Egenkontroll med bilagor")
    db.session.commit()


def _group(url: str) -> tuple[str, tuple[str, ...]]:
    """The path with numbers replaced, and the names of the query's arguments: a few
    URLs of each group are visited (filter combinations would be thousands)."""
    parts = urlsplit(url)
    names = tuple(sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}))
    return re.sub(r"\d+", "#", parts.path), names


def _export_kind(url: str, link) -> str | None:
    """What the link promises: csv, docx, pdf, "file" (a download), or None (a page)."""
    parts = urlsplit(url)
    if ("format", "csv") in parse_qsl(parts.query) or parts.path.endswith(".csv"):
        return "csv"
    for kind in ("docx", "pdf"):
        if parts.path.endswith(f".{kind}"):
            return kind
    if link is not None and link.get("download") is not None:
        return "file"
    return None


def _is_file(response) -> bool:
    return response.mimetype in FILE_TYPES.values() or response.headers.get(
        "Content-Disposition", ""
    ).startswith("attachment")


def _same_site(base: str, href: str) -> str | None:
    """``href`` as a local path with query, or None when it leaves the site or is skipped."""
    href = href.strip()
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:")):
        return None
    parts = urlsplit(urljoin(f"http://{HOST}{base}", href))
    if parts.scheme not in ("http", "https") or parts.hostname != HOST:
        return None
    if SKIPPED_PATHS.search(parts.path):
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key in SKIPPED_ARGS for key, _ in query):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Crawl:
    def __init__(self, shared_seen: set[str]):
        self.shared_seen = shared_seen  # pages outside the staff area, visited once for all
        self.seen: set[str] = set()
        self.groups: Counter = Counter()
        self.failures: list[str] = []
        self.exports: dict[str, str] = {}  # url → kind
        self.pages = 0
        self.requests = 0

    def run(self, client: ServerLikeClient) -> None:
        staff: deque = deque([(START, None, "(start)")])
        other: deque = deque()
        while (staff or other) and self.requests < MAX_REQUESTS:
            url, link, source = (staff or other).popleft()
            for found in self.visit(client, url, link, source):
                (staff if found[0].startswith(STAFF_AREA) else other).append(found)

    def _take(self, url: str, kind: str | None) -> bool:
        if url in self.seen or url in self.shared_seen:
            return False
        group = _group(url)
        if self.groups[group] >= (EXPORTS_PER_GROUP if kind else PAGES_PER_GROUP):
            return False
        self.groups[group] += 1
        self.seen.add(url)
        if not url.startswith(STAFF_AREA):
            self.shared_seen.add(url)
        return True

    def visit(self, client, url: str, link, source: str) -> list:
        kind = _export_kind(url, link)
        if not self._take(url, kind):
            return []
        where = f"{url} (linked from {source})"
        try:
            response = self.get(client, url)
        except Exception as error:  # what a server would answer 500 to (or cut off)
            self.failures.append(f"{where}: {type(error).__name__}: {error}")
            return []
        if response is None:
            self.failures.append(f"{where}: redirects off the site or too often")
            return []
        if kind is not None or _is_file(response):
            self.check_file(where, url, kind, response)
            return []
        if response.status_code != 200:
            self.failures.append(f"{where}: {response.status_code}")
            return []
        self.pages += 1
        if response.mimetype != "text/html":
            return []
        doc = lxml_html.fromstring(response.get_data(as_text=True))
        found = []
        for a in doc.iter("a"):
            target = _same_site(url, a.get("href") or "")
            if target is not None:
                found.append((target, a, url))
        return found

    def get(self, client, url: str):
        """``url``, following redirects within the site; None for one that leaves it."""
        for _hop in range(MAX_REDIRECTS + 1):
            self.requests += 1
            response = client.get(url)
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            url = _same_site(url, response.headers.get("Location", ""))
            if url is None:
                return None
        return None

    def check_file(self, where: str, url: str, kind: str | None, response) -> None:
        body = response.get_data()
        problem = None
        if response.status_code != 200:
            problem = f"{response.status_code}"
        elif not body:
            problem = "empty body"
        elif kind in FILE_TYPES and response.mimetype != FILE_TYPES[kind]:
            problem = f"Content-Type {response.content_type}, expected {FILE_TYPES[kind]}"
        elif response.mimetype not in FILE_TYPES.values():
            problem = f"Content-Type {response.content_type} is not CSV, Word or PDF"
        else:
            actual = next(k for k, v in FILE_TYPES.items() if v == response.mimetype)
            if actual in MAGIC and not body.startswith(MAGIC[actual]):
                problem = f"not a {actual} file"
            elif actual == "csv" and not body.decode("utf-8").startswith("\ufeff"):
                problem = "CSV without byte-order mark"
            self.exports[url] = actual
        if problem:
            self.failures.append(f"{where}: {problem}")


def test_every_linked_page_and_export_works(app, demo_site, monkeypatch):
    # Streamed files in chunks of two rows: each chunk runs the generator again.
    monkeypatch.setattr(csv_files, "BATCH", 2)
    app.test_client_class = ServerLikeClient
    shared_seen: set[str] = set()
    report = {}
    for role, email in STAFF_ROLES.items():
        client = app.test_client()
        client.login(db.session.scalar(sa.select(User).filter_by(email=email)), demo.PASSWORD)
        crawl = Crawl(shared_seen)
        crawl.run(client)
        assert not crawl.failures, f"{role}:\n" + "\n".join(crawl.failures)
        assert crawl.requests < MAX_REQUESTS, f"{role}: the crawl hit its bound"
        report[role] = crawl

    # The crawl got somewhere: each role saw staff pages and exports of each kind.
    for role, crawl in report.items():
        kinds = set(crawl.exports.values())
        assert crawl.pages >= 15, (role, crawl.pages)
        assert {"csv", "docx"} <= kinds, (role, sorted(crawl.exports))
    every = {url: kind for crawl in report.values() for url, kind in crawl.exports.items()}
    assert "pdf" in every.values(), sorted(every)
    paths = {urlsplit(u).path for u in every}
    # The exports of issue 10 and the public ones are among those found by links.
    for path in ("/handlaggare/arenden", "/handlaggare/utforare", "/handlaggare/begaranden"):
        assert path in paths, path
    assert any(re.fullmatch(r"/handlaggare/begaranden/\d+", p) for p in paths)
    assert any(re.fullmatch(r"/jamfor/\d+\.csv", p) for p in paths)
    assert any(p.startswith("/api/v1/") and p.endswith(".csv") for p in paths), sorted(paths)


# --- the database session of a streamed export --------------------------------------------


def _start(app, server: contextvars.Context, path: str):
    """Call the app as a WSGI server's worker does (in ``server``, a context without the
    test's application context) and return the body iterable, not yet read."""
    environ = EnvironBuilder(app, path=path).get_environ()
    return server.run(app, environ, lambda status, headers, exc_info=None: None)


@pytest.mark.parametrize("read", ["all", "one chunk", "nothing"])
def test_a_stream_keeps_its_session_until_it_is_closed(app, make, monkeypatch, read):
    """The stream holds the request's connection while it runs, and gives it back when it
    ends or when the server closes it early (a client that went away)."""
    monkeypatch.setattr(csv_files, "BATCH", 1)
    w = make.world()
    for n in range(3):
        make.agreement(make.provider(f"Utförare {n} AB"), w.area_x)
    db.session.commit()
    db.session.close()
    pool = db.engine.pool
    before = pool.checkedout()
    server = contextvars.Context()
    body = _start(app, server, "/api/v1/providers.csv")
    # The request is over (its teardowns ran), and its session lives on in the stream.
    assert pool.checkedout() == before + 1
    chunks = iter(body)
    if read == "all":
        text = b"".join(server.run(list, chunks)).decode("utf-8")
        assert text.count("\r\n") == 1 + 5 and "Utförare 2 AB" in text
    elif read == "one chunk":
        assert server.run(next, chunks).startswith("\ufeffid,".encode())
    server.run(body.close)
    assert pool.checkedout() == before
