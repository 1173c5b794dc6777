"""Bad uploads through the provider's answer page (the portal's real entry for files), with
the real clamd: every case gets a clear message, a 4xx status and no stack trace, and leaves
no usable attachment, no stored object and no spool file behind (a file found infected keeps
its row as the record of what was removed); the answers typed beside a refused file are kept
as a draft, and the same page then takes a good file. A refused type is refused in the
request, before the scan: an infected archive is refused as an archive.

(The pipeline itself is tested case by case in tests/storage/; here each issue-7 case goes
through the page a provider uses.)"""

from __future__ import annotations

import io
import os
import time
import uuid
import zipfile

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Attachment, AuditEvent, ReviewState, ScanStatus
from storage import current_store
from tests.conftest import text_of
from tests.pdfs import pdf_bytes
from tests.provider.conftest import commit_and_send, each_type_fields, keys, valid_form
from tests.storage.files import EICAR, docx_bytes, with_zip_member, zip_bytes

MIB = 1024 * 1024


@pytest.fixture
def w(make):
    return make.world()


@pytest.fixture
def asked(make, w):
    """Org A's answer to a request with one (required) field of each type, a file among them."""
    (submission,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        title="Kvalitetsredovisning 2026",
        fields=each_type_fields(),
    )
    commit_and_send()
    return submission


def answer_url(submission) -> str:
    return f"/utforare/arenden/{submission.id}/svar"


def nested_zip(depth: int, inner: bytes, name: str = "eicar.com") -> bytes:
    data = zip_bytes({name: inner})
    for level in range(depth - 1):
        data = zip_bytes({f"niva-{level}.zip": data})
    return data


def zip_bomb(unpacked: int) -> bytes:
    """A .docx-looking zip whose document part unpacks to ``unpacked`` zero bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", docx_bytes_member("[Content_Types].xml"))
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * MIB
            for _ in range(unpacked // MIB):
                member.write(chunk)
    return out.getvalue()


def docx_bytes_member(name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx_bytes())) as archive:
        return archive.read(name)


ENCRYPTED_DOCX = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    + b"\x00" * 504
    + "EncryptionInfo".encode("utf-16-le")
    + b"\x00" * 1024
)

# (case, file bytes (made lazily), file name, expected status, words of the message)
CASES = [
    ("EICAR raw", lambda: EICAR, "rapport.txt", 422, "skadlig kod"),
    ("EICAR zipped", lambda: zip_bytes({"eicar.com": EICAR}), "bilagor.zip", 415, "arkiv"),
    ("EICAR nested three zips deep", lambda: nested_zip(3, EICAR), "bilagor.zip", 415, "arkiv"),
    ("EICAR in a DOCX", lambda: docx_bytes(EICAR.decode()), "åtgärdsplan.docx", 422, "skadlig kod"),
    (
        "EICAR as an image inside a DOCX",
        lambda: with_zip_member(docx_bytes(), "word/media/image1.png", EICAR),
        "plan.docx",
        422,
        "skadlig kod",
    ),
    (
        "zip bomb (300 MB of zeros in a DOCX)",
        lambda: zip_bomb(300 * MIB),
        "rapport.docx",
        422,
        "zip-bomb",
    ),
    ("zip bomb (20 zips deep)", lambda: nested_zip(20, b"hej"), "rapport.zip", 415, "arkiv"),
    ("encrypted PDF", lambda: pdf_bytes(password="hemligt"), "skyddad.pdf", 422, "krypterad"),
    ("encrypted DOCX", lambda: ENCRYPTED_DOCX, "skyddad.docx", 422, None),
    (
        "macro DOCX",
        lambda: with_zip_member(
            docx_bytes(), "word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\0" * 60
        ),
        "makro.docx",
        422,
        "makro",
    ),
    (
        "EXE renamed to .pdf",
        lambda: b"MZ\x90\x00\x03" + b"\x00" * 500,
        "faktura.pdf",
        415,
        "program",
    ),
    (
        "HTML named x.pdf.html",
        lambda: b"<html><body><script>alert(1)</script></body></html>",
        "x.pdf.html",
        415,
        "HTML",
    ),
    ("a PDF named x.pdf.html", lambda: pdf_bytes(), "x.pdf.html", 422, "slutar på .html"),
]


@pytest.mark.parametrize(
    ("case", "content", "name", "status", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_refused_file_through_the_answer_page(
    app, client, w, asked, case, content, name, status, words
):
    client.login(w.user_a)
    k = keys(asked)
    form = {**valid_form(asked), "action": "submit"}
    form[k["file"]] = (io.BytesIO(content()), name)
    started = time.monotonic()
    response = client.post(answer_url(asked), data=form)
    # On SQLite the infected-file audit once waited out the 10 s busy timeout.
    assert time.monotonic() - started < 8
    page = response.get_data(as_text=True)
    assert response.status_code == status, (case, text_of(response)[:600])
    assert "Traceback" not in page and 'File "' not in page
    # The message stands next to the file field, and says nothing was kept.
    assert f'id="fld-{k["file"]}-error"' in page, case
    if words is not None:
        assert words in text_of(response), (case, text_of(response)[:600])
    refusal = ("Inget har sparats", "kan inte", "kan därför inte", "Kontrollera att du har valt")
    assert any(words in text_of(response) for words in refusal), case
    assert_nothing_of_the_file_kept(app, asked)
    if words == "skadlig kod":  # every infected file is audited, with its signature
        (event,) = db.session.scalars(sa.select(AuditEvent).filter_by(action="attachment.infected"))
        assert event.detail["uploaded_by_id"] == w.user_a.id and event.detail["signature"]
    # The other answers are kept as a draft; a good file then goes through.
    assert asked.current_draft.answers[k["number"]] == "1234"
    again = client.post(answer_url(asked), data={**valid_form(asked), "action": "submit"})
    assert again.status_code == 303, text_of(again)[:500]
    assert attachment_count() == 1


def attachment_count() -> int:
    """Attachments other than the records of files found infected."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Attachment)
        .where(Attachment.scan_status != ScanStatus.INFECTED)
    )


def assert_nothing_of_the_file_kept(app, submission) -> None:
    db.session.expire_all()
    db.session.refresh(submission)
    assert submission.state is not ReviewState.SUBMITTED
    assert attachment_count() == 0
    assert list(current_store().list()) == []
    spool = app.config["UPLOAD_TMP"]
    assert not os.path.isdir(spool) or os.listdir(spool) == []


def raw_form(submission, file_name: bytes, content: bytes, csrf: str) -> tuple[bytes, str]:
    """The answer form as raw multipart bytes, so that the file name goes on the wire exactly
    as given (a test client would escape it)."""
    boundary = "insyn-" + uuid.uuid4().hex
    k = keys(submission)
    fields = {
        k["text"]: "Brukarråd varannan månad.",
        k["number"]: "1234",
        k["percentage"]: "85",
        k["yes_no"]: "yes",
        k["date"]: "2026-03-31",
        "action": "submit",
        "csrf_token": csrf,
    }
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k["file"]}"; filename="'.encode()
        + file_name
        + b'"\r\nContent-Type: application/pdf'
        b"\r\n\r\n" + content + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("file_name", "shown"),
    [
        (b"rap\x00port.pdf", "rapport.pdf"),
        (b"rapport.pdf\x00.html", None),
        ("Åtgärds\x00plan.pdf".encode(), "Åtgärdsplan.pdf"),
        (b"rap%0D%0AContent-Type: text/html%0D%0A.pdf", "html%0D%0A.pdf"),
        (b"rap\rport\nX-Injected: 1.pdf", None),
    ],
    ids=["NUL", "NUL before .html", "NUL in UTF-8", "encoded CRLF", "raw CR and LF"],
)
def test_nul_and_crlf_in_file_names(app, client, w, asked, file_name, shown):
    """Control characters never reach the stored name, the pages or a download header: the
    file is kept under a clean name, or refused next to its field (``shown`` None)."""
    client.login(w.user_a)
    body, content_type = raw_form(asked, file_name, pdf_bytes(), client.csrf_token())
    response = client.post(answer_url(asked), data=body, content_type=content_type)
    page = response.get_data(as_text=True)
    assert "Traceback" not in page and "\x00" not in page
    db.session.expire_all()
    stored = db.session.scalars(sa.select(Attachment)).all()
    if shown is None:
        assert response.status_code == 422, text_of(response)[:500]
        assert f'id="fld-{keys(asked)["file"]}-error"' in page
        assert_nothing_of_the_file_kept(app, asked)
        return
    assert response.status_code == 303, text_of(response)[:500]
    (attachment,) = stored
    assert attachment.display_name == shown
    download = client.get(f"/utforare/filer/{attachment.id}")
    assert download.status_code == 200 and download.data == pdf_bytes()
    for header, value in download.headers.items():
        assert not any(c in value for c in "\r\n\x00"), header
    assert download.headers["Content-Type"] == "application/pdf"
    assert shown.split(".")[0] in text_of(client.get(response.location))  # on the receipt


def test_10000_form_parts_are_refused_before_anything_is_kept(app, client, w, asked):
    client.login(w.user_a)
    before = asked.lock_version
    form = {**valid_form(asked), "action": "submit"}
    form.update({f"extra-{n}": "x" for n in range(10_000)})
    response = client.post(answer_url(asked), data=form)
    assert response.status_code == 413, text_of(response)[:500]
    assert "för stort för att tas emot" in text_of(response)
    assert "Traceback" not in response.get_data(as_text=True)
    assert_nothing_of_the_file_kept(app, asked)
    assert asked.current_draft is None and asked.lock_version == before


def test_a_10_mb_text_field_is_refused_before_anything_is_kept(app, client, w, asked):
    client.login(w.user_a)
    k = keys(asked)
    form = {**valid_form(asked), "action": "save", k["text"]: "å" * (5 * MIB)}  # 10 MB UTF-8
    response = client.post(answer_url(asked), data=form)
    assert response.status_code == 413, text_of(response)[:500]
    assert "för stort för att tas emot" in text_of(response)
    assert_nothing_of_the_file_kept(app, asked)
    assert asked.current_draft is None


@pytest.fixture
def one_mb_uploads(app_config):
    app_config["MAX_UPLOAD_BYTES"] = MIB


def test_chunked_upload_over_the_limit_without_content_length(
    one_mb_uploads, app, client, w, asked
):
    """No Content-Length: the limit is enforced while the body is read."""
    client.login(w.user_a)
    token = client.csrf_token()
    body, content_type = raw_form(asked, b"stor.txt", b"Kvalitet.\n" * (3 * MIB // 10), token)
    response = client.post(
        f"{answer_url(asked)}?upload_token={token}",  # as the page's form posts
        input_stream=io.BytesIO(body),
        content_type=content_type,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413, text_of(response)[:500]
    assert "för stor" in text_of(response) and "1,0 MB" in text_of(response)
    assert "Traceback" not in response.get_data(as_text=True)
    assert_nothing_of_the_file_kept(app, asked)
    assert asked.current_draft is None
