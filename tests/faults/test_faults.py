"""Fault injection through the pages people use: a clear message to the user, nothing lost
or half-kept, and recovery by itself or with the documented command.

Here: S3 stopped during a multipart upload, sent while the request is read (scanning on)
or once the file is checked (scanning off) (``storage reconcile --delete`` aborts what it
left), the database connection dropped between object put and commit (reconcile removes the
orphan), the spool disk full, clamd stopped or hanging (the answer is saved, the file waits;
the sweep releases it once clamd answers), two reviewers deciding differently at once, and
the staff's new-request form posted twice (also at once).
Elsewhere: the scan job killed and clamd down on a real broker
(tests/faults/test_scan_faults.py), S3 down before an upload
(tests/storage/test_uploads.py) and S3 failing in the middle of one
(tests/storage/test_streaming.py), SMTP down and ``flask mail retry``
(tests/provider/test_notifications.py), two approvals at once
(tests/admin/test_concurrent_pages.py), the provider's answer and new report posted twice
(tests/provider/test_answering.py, test_deviation.py)."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import boto3
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.jobs.scan import sweep_scans
from portal.models import Attachment, ReviewState
from portal.models.base import utcnow
from storage import current_store
from storage.scan import open_scanner
from tests.conftest import text_of, thread_context
from tests.fixtures_services import S3Service
from tests.pdfs import pdf_bytes
from tests.provider.conftest import keys, valid_form

MIB = 1024 * 1024


def answer_url(submission) -> str:
    return f"/utforare/arenden/{submission.id}/svar"


def attachment_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Attachment))


def big_form(submission, size: int) -> dict:
    """The valid answer with a large text file in the file field."""
    data = valid_form(submission)
    data[keys(submission)["file"]] = (
        io.BytesIO(b"Kvalitetsarbete.\n" * (size // 17)),
        "Kvalitetsberättelse.txt",
    )
    return {**data, "action": "submit"}


def s3_client(s3_server):
    return boto3.client(
        "s3",
        endpoint_url=f"http://{s3_server.endpoint}",
        aws_access_key_id=S3Service.ACCESS_KEY,
        aws_secret_access_key=S3Service.SECRET_KEY,
        region_name="us-east-1",
    )


@pytest.fixture
def on_s3(app_config, s3_url):
    """The app of this test stores in a fresh bucket on the S3 server (asked before ``app``)."""
    from storage.store import open_store

    open_store(s3_url, create_bucket=True)
    app_config["STORAGE_URL"] = s3_url
    app_config["CLAMD_URL"] = ""


@pytest.fixture(params=[False, True], ids=["scanning off", "scanning on"])
def scanning(request, on_s3, app_config):
    """Scanning on: the file goes to ``quarantine/<upload id>`` while the request is read;
    off: to ``clean/<sha256>`` once checked (asked before ``app``)."""
    if request.param:
        app_config["CLAMD_URL"] = request.getfixturevalue("clamd_url")
    return request.param


def test_s3_stopped_during_a_multipart_upload(scanning, s3_server, s3_url, app, client, w, asked):
    bucket = s3_url.split("/")[-1].split("?")[0]
    s3 = s3_client(s3_server)
    stopped = threading.Event()

    def stop_when_the_upload_is_under_way():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
            if uploads and s3.list_parts(
                Bucket=bucket, Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"]
            ).get("Parts"):
                s3_server.stop()
                stopped.set()
                return
            time.sleep(0.01)

    client.login(w.user_a)
    watcher = threading.Thread(target=stop_when_the_upload_is_under_way, daemon=True)
    watcher.start()
    try:
        response = client.post(answer_url(asked), data=big_form(asked, 40 * MIB))
    finally:
        watcher.join(60)
        s3_server.start()
    assert stopped.is_set(), "the multipart upload was never seen in progress"
    page = text_of(response)
    assert response.status_code in (200, 503), page[:500]
    assert "Inget har sparats. Försök igen om en stund." in page
    db.session.refresh(asked)
    assert asked.state is not ReviewState.SUBMITTED and attachment_count() == 0
    assert list(current_store().list()) == []
    # minio's abort of the multipart upload cannot reach a stopped server, so the parts
    # already sent stay on it. The documented command lists the unfinished upload and, with
    # --delete, aborts it once it is a day old (moto dates every upload in 2010; the bucket's
    # lifecycle rule is the second net, which moto keeps but does not run).
    (left,) = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    runner = app.test_cli_runner()
    found = runner.invoke(args=["storage", "reconcile"])
    assert "unfinished uploads: 1" in found.output, found.output
    assert f"unfinished upload of {left['Key']}" in found.output
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) != []
    aborted = runner.invoke(args=["storage", "reconcile", "--delete"])
    assert f"unfinished upload of {left['Key']}" in aborted.output, aborted.output
    assert "(aborted)" in aborted.output
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "unfinished uploads: 0" in runner.invoke(args=["storage", "reconcile"]).output
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert any(
        r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1
        and r["Status"] == "Enabled"
        for r in rules
    ), rules
    # The user simply tries again once the store is back.
    again = client.post(answer_url(asked), data=big_form(asked, 10 * MIB))
    assert again.status_code == 303, text_of(again)[:500]
    assert attachment_count() == 1


@pytest.fixture
def on_postgres(app_config, postgres_url):
    """Run the app of this test on PostgreSQL (asked before ``app``)."""
    app_config["SQLALCHEMY_DATABASE_URI"] = postgres_url
    as_in_production(app_config)


def as_in_production(app_config) -> None:
    """Unexpected errors get the error page, as in production, instead of reaching the test."""
    app_config["HANDLE_ERRORS"] = True
    app_config["PROPAGATE_EXCEPTIONS"] = False


def test_database_connection_dropped_between_put_and_commit(
    on_postgres, app, client, w, asked, postgres_url
):
    store_dir = app.config["STORAGE_URL"].removeprefix("file://")
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    killed = []

    def terminate_before_commit(conn):
        # The file is in the store and the attachment row in this transaction: drop the
        # database connection now, before COMMIT reaches the server.
        if killed or not any(files for _d, _s, files in os.walk(store_dir)):
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        with admin.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killed.append(pid)

    client.login(w.user_a)
    sa.event.listen(db.engine, "commit", terminate_before_commit)
    try:
        response = client.post(answer_url(asked), data={**valid_form(asked), "action": "submit"})
    finally:
        sa.event.remove(db.engine, "commit", terminate_before_commit)
        admin.dispose()
    assert killed
    page = text_of(response)
    assert response.status_code == 500, page[:500]
    assert "Traceback" not in page and "psycopg" not in page
    assert "Inget av det du skickade har sparats; försök igen om en stund." in page
    db.session.rollback()
    db.session.refresh(asked)
    assert asked.state is not ReviewState.SUBMITTED and attachment_count() == 0

    # The documented command finds the orphan; --delete removes it once older than a day.
    runner = app.test_cli_runner()
    found = runner.invoke(args=["storage", "reconcile"])
    assert "objects without a row: 1" in found.output, found.output
    orphans = [os.path.join(d, f) for d, _s, files in os.walk(store_dir) for f in files]
    assert len(orphans) == 1
    old = time.time() - 2 * 86400
    os.utime(orphans[0], (old, old))
    removed = runner.invoke(args=["storage", "reconcile", "--delete"])
    assert "(deleted)" in removed.output, removed.output
    assert not any(files for _d, _s, files in os.walk(store_dir))
    # The user's retry goes through.
    again = client.post(answer_url(asked), data={**valid_form(asked), "action": "submit"})
    assert again.status_code == 303, text_of(again)[:500]


@pytest.fixture
def full_spool(app_config):
    """UPLOAD_TMP on a 1 MB tmpfs (root mounts it; failing to is an error, not a skip)."""
    spool = Path(tempfile.mkdtemp(prefix="insyn-full-spool-"))
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(spool)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.fail(f"could not mount a 1 MB tmpfs for the spool: {result.stderr}", pytrace=False)
    app_config["UPLOAD_TMP"] = str(spool)
    as_in_production(app_config)
    yield spool
    gc.collect()  # the failed request's spool file objects
    subprocess.run(["umount", str(spool)], check=True)
    spool.rmdir()


def test_upload_spool_disk_full(full_spool, app, client, w, asked):
    client.login(w.user_a)
    response = client.post(answer_url(asked), data=big_form(asked, 3 * MIB))
    page = text_of(response)
    assert response.status_code == 503, page[:500]
    assert "Traceback" not in page and "No space" not in page
    assert "Servern kan inte ta emot filer just nu. Inget har sparats." in page
    db.session.refresh(asked)
    assert asked.state is not ReviewState.SUBMITTED and attachment_count() == 0
    assert list(current_store().list()) == []
    assert os.listdir(full_spool) == []  # no spool file left filling the disk
    # Once there is room again (a smaller file fits), the same form goes through.
    again = client.post(answer_url(asked), data={**valid_form(asked), "action": "submit"})
    assert again.status_code == 303, text_of(again)[:500]
    assert attachment_count() == 1


@pytest.fixture(params=["clamd stopped", "clamd hanging"])
def scanner_fault(request, app_config, clamd_service, clamd_url):
    """The app of this test (asked before ``app``) scans with a clamd that is stopped, or with
    one that accepts and never answers (given up on after a second)."""
    app_config["CLAMD_TIMEOUT"] = 1.0
    if request.param == "clamd stopped":
        app_config["CLAMD_URL"] = clamd_url
        clamd_service.stop()
    else:
        app_config["CLAMD_URL"] = request.getfixturevalue("hanging_clamd").url
    yield request.param
    clamd_service.start()


def test_scanner_down_the_answer_is_received_and_the_file_waits(
    scanner_fault, clamd_service, clamd_url, app, client, w, asked
):
    """The provider's answer is saved at once (nothing lost), the file waits in quarantine
    with the reason, where nobody can open it; with the scanner back the sweep releases it
    without a command, and the answer can be sent."""
    client.login(w.user_a)
    started = time.monotonic()
    response = client.post(answer_url(asked), data={**valid_form(asked), "action": "save"})
    took = time.monotonic() - started
    assert response.status_code == 303, text_of(response)[:500]
    assert took < 10, f"the answer waited {took:.1f} s for the scanner"
    (file,) = asked.current_draft.attachments
    assert file.scan_status == "pending_scan" and file.scan_error and file.scan_attempts == 1
    assert [i.key for i in current_store().list()] == [f"quarantine/{file.sha256}"]
    assert client.get(f"/utforare/filer/{file.id}").status_code in (404, 409)

    # The scanner back (clamd restarted; the hung one replaced by a working one): the
    # sweep's PING answers and the file is scanned and released.
    clamd_service.start()
    if scanner_fault == "clamd hanging":
        app.extensions["scanner"] = open_scanner(clamd_url, 60)
    report = sweep_scans(utcnow(), broker_empty=True)
    assert report["scans_enqueued"] == 1, report
    db.session.refresh(file)
    assert file.scan_status == "clean" and file.scan_error == ""
    assert [i.key for i in current_store().list()] == [f"clean/{file.sha256}"]
    sent = client.post(answer_url(asked), data={**valid_form(asked), "action": "submit"})
    assert sent.status_code == 303, text_of(sent)[:500]
    db.session.refresh(asked)
    assert asked.state is ReviewState.SUBMITTED
    reviewer = app.test_client()
    reviewer.login(w.reviewer_x)
    released = reviewer.get(f"/handlaggare/bilagor/{file.id}")
    assert released.status_code == 200 and released.data == pdf_bytes()


@pytest.mark.parametrize(
    "decisions",
    [("godkann", "avsla"), ("begar-komplettering", "godkann")],
    ids=["approve vs reject", "clarification vs approve"],
)
def test_two_reviewers_deciding_differently_at_once(pg_app, decisions):
    """Two reviewers press different decision buttons at the same moment: exactly one decision
    is kept, the other reviewer is told and nothing of theirs is half-recorded.
    (tests/admin/test_concurrent_pages.py has two approvals at once.)"""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    from portal.dates import today
    from portal.models import ReviewEvent, Role, Submission
    from tests import factories
    from tests.admin.helpers import answer

    w = factories.world()
    second = factories.user(Role.REVIEWER, committees=[w.committee_x])
    (sub,) = factories.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    answer(sub, w.user_a, {"a": "1"})
    forms = {
        "godkann": {"comment": "Bra"},
        "avsla": {"reason": "Saknar uppgifter"},
        "begar-komplettering": {
            "question": "Bifoga rutinen.",
            "deadline": (today() + timedelta(days=7)).isoformat(),
        },
    }
    clients = []
    for reviewer in (w.reviewer_x, second):
        client = pg_app.test_client()
        client.login(reviewer)
        clients.append(client)
    posts = [
        (
            clients[i],
            f"/handlaggare/arenden/{sub.id}/{slug}",
            {**forms[slug], "csrf_token": clients[i].csrf_token()},
        )
        for i, slug in enumerate(decisions)
    ]
    barrier = threading.Barrier(2)

    def press(post):
        client, url, data = post
        with thread_context(pg_app):
            barrier.wait()
            try:
                return client.post(url, data=data)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(press, posts))
    assert sorted(r.status_code for r in responses) == [302, 409], [
        text_of(r)[:300] for r in responses
    ]
    winner = decisions[[r.status_code for r in responses].index(302)]
    loser = next(r for r in responses if r.status_code == 409)
    assert "Ärendet har redan ändrats" in text_of(loser) and "Ladda om sidan" in text_of(loser)
    db.session.expire_all()
    state = db.session.get(Submission, sub.id).state
    assert (
        state
        == {
            "godkann": ReviewState.APPROVED,
            "avsla": ReviewState.REJECTED,
            "begar-komplettering": ReviewState.CLARIFICATION_REQUESTED,
        }[winner]
    )
    actions = db.session.scalars(
        sa.select(ReviewEvent.action).where(
            ReviewEvent.submission_id == sub.id, ReviewEvent.action != "submit"
        )
    ).all()
    assert len(actions) == 1, actions


def test_the_same_new_request_form_posted_twice_issues_one_request(client, w, smtp_server):
    """A double click (or a reload of the post) on "Skicka begäran": one request, one draft
    per provider, one mail each; the second post lands on the same request, and says so."""
    import re

    from portal.models import InformationRequest, Submission
    from tests.admin.test_requests import request_form

    client.login(w.reviewer_x)
    page = client.get("/handlaggare/begaranden/ny").get_data(as_text=True)
    key = re.search(r'name="form_key" value="([^"]+)"', page)
    assert key, "the form carries a one-time key"
    form = request_form(w, form_key=key.group(1))
    first = client.post("/handlaggare/begaranden/ny", data=form)
    second = client.post("/handlaggare/begaranden/ny", data=form)
    assert first.status_code == second.status_code == 302, text_of(second)[:500]
    assert first.location == second.location
    (issued,) = db.session.scalars(sa.select(InformationRequest)).all()
    assert f"Begäran {issued.registration_number} är redan skickad" in text_of(
        client.get(second.location)
    )
    answers = db.session.scalars(sa.select(Submission).filter_by(request_id=issued.id)).all()
    assert sorted(s.provider_id for s in answers) == sorted([w.org_a.id, w.org_b.id])
    assert len(smtp_server.to(w.user_a.email)) == 1
    # A new form (a new key) is a new request.
    again = client.get("/handlaggare/begaranden/ny").get_data(as_text=True)
    other = re.search(r'name="form_key" value="([^"]+)"', again).group(1)
    assert other != key.group(1)
    assert (
        client.post("/handlaggare/begaranden/ny", data=request_form(w, form_key=other)).status_code
        == 302
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InformationRequest)) == 2


def test_the_same_new_request_form_posted_twice_at_once_on_postgresql(pg_app):
    """Both posts of a double click arrive together: still one request, with one number."""
    import re
    from concurrent.futures import ThreadPoolExecutor

    from portal.models import InformationRequest
    from tests import factories
    from tests.admin.test_requests import request_form

    w = factories.world()
    clients = [pg_app.test_client() for _ in range(2)]
    for c in clients:
        c.login(w.reviewer_x)
    page = clients[0].get("/handlaggare/begaranden/ny").get_data(as_text=True)
    key = re.search(r'name="form_key" value="([^"]+)"', page).group(1)
    forms = [{**request_form(w, form_key=key), "csrf_token": c.csrf_token()} for c in clients]
    barrier = threading.Barrier(2)

    def click(job):
        c, form = job
        with thread_context(pg_app):
            barrier.wait()
            try:
                return c.post("/handlaggare/begaranden/ny", data=form)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(click, zip(clients, forms, strict=True)))
    assert [r.status_code for r in responses] == [302, 302], [text_of(r)[:300] for r in responses]
    assert responses[0].location == responses[1].location
    db.session.expire_all()
    (issued,) = db.session.scalars(sa.select(InformationRequest)).all()
    assert issued.registration_number.endswith("/1")


def test_the_same_finding_form_posted_twice_asks_for_one_action_plan(client, w):
    """A finding that requires an action plan, posted twice: one finding, one plan request to
    the provider; the second post says it was already recorded."""
    import re

    from portal.models import Finding, Submission, SubmissionKind
    from tests.admin.test_findings_and_plans import finding_form

    agreement = w.org_a.agreements[0]
    url = f"/handlaggare/avtal/{agreement.id}/iakttagelser/ny"
    client.login(w.reviewer_x)
    key = re.search(r'name="form_key" value="([^"]+)"', client.get(url).get_data(as_text=True))
    assert key, "the form carries a one-time key"
    form = finding_form(form_key=key.group(1))
    first = client.post(url, data=form)
    second = client.post(url, data=form)
    assert first.status_code == second.status_code == 302, text_of(second)[:500]
    assert first.location == second.location
    assert "Iakttagelsen är redan registrerad" in text_of(client.get(second.location))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Finding)) == 1
    plans = db.session.scalars(
        sa.select(Submission).filter_by(kind=SubmissionKind.ACTION_PLAN)
    ).all()
    assert len(plans) == 1 and plans[0].provider_id == w.org_a.id
