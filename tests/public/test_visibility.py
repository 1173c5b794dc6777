"""Nothing unpublished, withdrawn, quarantined, unscanned or replaced by a redacted copy is
reachable from a public page, the API, a feed or a file URL: every public URL there is
is fetched and searched for the secret parts."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from portal import workflow
from portal.attachments import accept_upload
from portal.extensions import db
from portal.models import (
    Attachment,
    FieldType,
    InformationRequest,
    Provider,
    Publication,
    PublishedDocument,
    RequestField,
    ScanStatus,
)
from storage.scan import open_scanner
from tests.pdfs import pdf_bytes
from tests.public.documents import make_docx


@pytest.fixture
def app_config(app_config, clamd_url):
    app_config["CLAMD_URL"] = clamd_url
    return app_config


def fields():
    return [
        RequestField(position=1, label="Svar", type=FieldType.TEXT),
        RequestField(position=2, label="Bilaga", type=FieldType.FILE, required=False),
    ]


def upload(name: str, data: bytes, user, slot: str = "") -> Attachment:
    return accept_upload(
        FileStorage(stream=io.BytesIO(data), filename=name), uploader=user, slot=slot
    )


@pytest.fixture
def world(app, make, w):
    """A live publication (one file with a redacted copy, one clean file, one unscanned,
    one in quarantine), a withdrawn one, an approved but unpublished answer and a draft."""
    # Live: four files, answered through the real upload pipeline; two never pass a scan.
    (sub,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        service_area=w.area_x,
        title="Synlig publicering",
        fields=fields(),
    )
    key, file_key = (f.key for f in sub.request.fields)
    draft = workflow.save_draft(sub, w.user_a, {key: "synligt svar"})
    original = upload(
        "original-hemlig.docx", make_docx("Personnummer HEMLIGT-ORIGINAL"), w.user_a, file_key
    )
    clean = upload("oppen.pdf", pdf_bytes("OPPEN-TEXT i dokumentet"), w.user_a, file_key)
    db.session.commit()  # the scan jobs run at commit
    scanner = app.extensions["scanner"]
    try:
        app.extensions["scanner"] = None  # scanning off: "not scanned", never public
        unscanned = upload("oskannad.pdf", pdf_bytes("OSKANNAD-TEXT"), w.user_a, file_key)
        app.extensions["scanner"] = open_scanner("unix:///nonexistent/insyn-clamd.sock", 1)
        quarantined = upload("karantan.pdf", pdf_bytes("KARANTAN-TEXT"), w.user_a, file_key)
        db.session.commit()  # its scan finds no scanner: the file stays in quarantine
    finally:
        app.extensions["scanner"] = scanner
    assert original.scan_status == clean.scan_status == ScanStatus.CLEAN
    assert unscanned.scan_status == ScanStatus.NOT_SCANNED
    assert quarantined.scan_status == ScanStatus.PENDING_SCAN
    for attachment in (original, clean, unscanned, quarantined):
        attachment.version = draft
    # Sending needs clean files now; the two others stand for rows a later rescan put back
    # (the publication must still never show them).
    states = {f: f.scan_status for f in (unscanned, quarantined)}
    for attachment in states:
        attachment.scan_status = ScanStatus.CLEAN
    db.session.flush()
    workflow.submit(sub, w.user_a)
    for attachment, state in states.items():
        attachment.scan_status = state
    workflow.approve(sub, w.reviewer_x)
    # The publisher replaces the original DOCX with a redacted PDF for the public.
    copy = upload("maskerad.pdf", pdf_bytes("MASKERAD-KOPIA utan personnummer"), w.publisher)
    db.session.commit()  # its scan runs at commit
    workflow.attach_redacted_copy(original, copy, w.publisher)
    live = make.published(
        sub,
        w.publisher,
        documents=[
            PublishedDocument(attachment=original, redacted=copy),
            PublishedDocument(attachment=clean),
            PublishedDocument(attachment=unscanned),
            PublishedDocument(attachment=quarantined),
        ],
    )

    gone = make.publication(
        w,
        w.org_b,
        title="Aterkallad-TITEL",
        summary="GONE-SAMMANFATTNING",
        fields=fields(),
        answers={1: "GONE-SVAR"},
        files=[(2, "gone.pdf", pdf_bytes("GONE-DOKUMENT"))],
    )
    workflow.withdraw_publication(gone, w.publisher, "Innehöll personuppgifter")

    (unpublished,) = make.info_request(
        w.committee_x,
        [w.org_b],
        w.reviewer_x,
        service_area=w.area_x,
        title="OPUBLICERAD-TITEL",
        fields=fields(),
    )
    make.answered(
        unpublished,
        w.reviewer_x,
        {unpublished.request.fields[0].key: "OPUBLICERAT-SVAR"},
        [(unpublished.request.fields[1].key, "opub.pdf", pdf_bytes("OPUB-DOKUMENT"))],
    )
    draft = make.report(
        make.SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a, title="UTKAST-TITEL"
    )
    workflow.save_draft(draft, w.user_a, {"description": "UTKAST-SVAR"})
    db.session.commit()
    return {
        "live": live,
        "gone": gone,
        "original": original,
        "copy": copy,
        "clean": clean,
        "unscanned": unscanned,
        "quarantined": quarantined,
        "w": w,
    }


NEVER = [
    "HEMLIGT-ORIGINAL",
    "original-hemlig",
    "OSKANNAD",
    "oskannad.pdf",
    "KARANTAN",
    "karantan.pdf",
    "GONE-SAMMANFATTNING",
    "GONE-SVAR",
    "GONE-DOKUMENT",
    "gone.pdf",
    "OPUBLICERAD-TITEL",
    "OPUBLICERAT-SVAR",
    "OPUB-DOKUMENT",
    "opub.pdf",
    "UTKAST-TITEL",
    "UTKAST-SVAR",
]


def public_urls(world) -> list[str]:
    """Every public page, API resource, export and feed, for every object that exists."""
    publications = db.session.scalars(sa.select(Publication.id)).all()
    providers = db.session.scalars(sa.select(Provider.id)).all()
    requests = db.session.scalars(sa.select(InformationRequest.id)).all()
    urls = [
        "/",
        "/sok",
        "/utforare",
        "/jamfor",
        "/om",
        "/tillganglighet",
        "/oppna-data",
        "/flode.atom",
        "/api/v1/",
        "/api/v1/publications",
        "/api/v1/publications.csv",
        "/api/v1/providers",
        "/api/v1/providers.csv",
        "/api/v1/comparisons",
        "/api/v1/committees",
        "/api/v1/service-areas",
    ]
    # (Searches for the secrets echo the query; test_searching_for_hidden_text_finds_nothing.)
    for pid in publications:
        urls += [f"/publicerat/{pid}", f"/api/v1/publications/{pid}"]
    for pid in providers:
        urls += [
            f"/utforare/{pid}",
            f"/api/v1/providers/{pid}",
            f"/flode.atom?provider={pid}",
            f"/sok?provider={pid}",
            f"/api/v1/publications.csv?provider={pid}",
        ]
    for rid in requests:
        urls += [
            f"/jamfor/{rid}",
            f"/jamfor/{rid}.csv",
            f"/api/v1/comparisons/{rid}",
            f"/api/v1/comparisons/{rid}.csv",
        ]
    return urls


def test_no_public_url_shows_anything_secret(client, world):
    gone = world["gone"]
    for url in public_urls(world):
        response = client.get(url)
        body = response.get_data(as_text=True)
        if response.is_json:
            body = json.dumps(response.get_json(), ensure_ascii=False)
        assert response.status_code in (200, 404, 410), url
        for secret in NEVER:
            assert secret not in body, (url, secret)
        # The withdrawn publication keeps its page (title and reason), and nothing else.
        if "Aterkallad-TITEL" in body:
            assert url in (f"/publicerat/{gone.id}", f"/api/v1/publications/{gone.id}"), url
            assert response.status_code == 410
            assert "Innehöll personuppgifter" in body


def test_searching_for_hidden_text_finds_nothing(client, world):
    for secret in NEVER + ["Aterkallad"]:
        assert client.get(f"/api/v1/publications?q={secret}").get_json()["total"] == 0, secret
        assert "Inga publiceringar hittades" in client.get(f"/sok?q={secret}").get_data(
            as_text=True
        )
        assert b"<entry>" not in client.get(f"/flode.atom?q={secret}").data
        csv_body = client.get(f"/api/v1/publications.csv?q={secret}").get_data(as_text=True)
        assert csv_body.count("\n") == 1, secret  # the header only
    assert client.get("/api/v1/publications?q=synligt").get_json()["total"] == 1
    assert client.get("/api/v1/publications?q=MASKERAD-KOPIA").get_json()["total"] == 1
    assert "HEMLIGT" not in world["live"].search_text
    assert "OSKANNAD" not in world["live"].search_text


def test_every_file_url_serves_only_clean_published_files(client, world):
    live, gone = world["live"], world["gone"]
    documents = db.session.scalars(sa.select(PublishedDocument)).all()
    publications = db.session.scalars(sa.select(Publication)).all()
    served = {}
    for publication in publications:
        for document in documents:
            url = f"/publicerat/{publication.id}/dokument/{document.id}"
            response = client.get(url)
            if response.status_code == 200:
                served[(publication.id, document.id)] = response.data
            elif publication.id == gone.id:
                assert response.status_code == 410, url
            else:
                assert response.status_code == 404, url
    by_attachment = {d.attachment_id: d.id for d in live.documents}
    assert set(served) == {
        (live.id, by_attachment[world["original"].id]),
        (live.id, by_attachment[world["clean"].id]),
    }
    # The redacted copy is served in place of the original, never the original.
    assert served[(live.id, by_attachment[world["original"].id])].startswith(b"%PDF")
    assert b"MASKERAD-KOPIA" in served[(live.id, by_attachment[world["original"].id])]
    assert b"OPPEN-TEXT" in served[(live.id, by_attachment[world["clean"].id])]
    # Nonexistent ids answer 404 too.
    assert client.get(f"/publicerat/{live.id}/dokument/999999").status_code == 404
    assert client.get("/publicerat/999999/dokument/1").status_code == 404
    assert client.get("/publicerat/99999999999999999999").status_code == 404


def test_public_file_download_streams_with_ranges_and_safe_headers(client, world):
    live = world["live"]
    document = next(d for d in live.documents if d.attachment_id == world["clean"].id)
    url = f"/publicerat/{live.id}/dokument/{document.id}"
    full = client.get(url)
    assert full.headers["X-Content-Type-Options"] == "nosniff"
    assert full.headers["Content-Disposition"].startswith('attachment; filename="oppen.pdf"')
    part = client.get(url, headers={"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.data == full.data[:8]
    again = client.get(url, headers={"If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304


def test_the_publication_page_lists_only_clean_published_documents(client, world):
    page = client.get(f"/publicerat/{world['live'].id}").get_data(as_text=True)
    assert "maskerad.pdf" in page and "oppen.pdf" in page
    assert "Uppgifter som omfattas av sekretess eller är personuppgifter är borttagna" in page
    api = client.get(f"/api/v1/publications/{world['live'].id}").get_json()
    assert sorted(d["name"] for d in api["documents"]) == ["maskerad.pdf", "oppen.pdf"]
    assert {d["redacted"] for d in api["documents"]} == {True, False}
