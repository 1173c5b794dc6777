"""The scanner against a real clamd (and a clamd that hangs)."""

from __future__ import annotations

import io
import time

import pytest

from storage.scan import Scanner, ScannerUnavailable, ScanOutcome, parse_reply
from tests.fixtures_services import ClamdService
from tests.pdfs import pdf_bytes
from tests.storage.files import (
    EICAR,
    SIGNATURE,
    docx_bytes,
    with_zip_member,
    zip_bytes,
)


@pytest.fixture
def scanner(clamd_url) -> Scanner:
    return Scanner(clamd_url, timeout=10)


def test_ping_and_version(scanner):
    scanner.ping()
    assert "ClamAV" in scanner.version()


def test_eicar_plain(scanner):
    result = scanner.scan_stream(io.BytesIO(EICAR))
    assert result.outcome is ScanOutcome.INFECTED
    assert result.signature.startswith(SIGNATURE)


def test_eicar_in_zip_renamed_docx(scanner, tmp_path):
    path = tmp_path / "rapport.docx"
    path.write_bytes(zip_bytes({"word/eicar.com": EICAR}))
    result = scanner.scan_file(path)
    assert result.infected and result.signature.startswith(SIGNATURE)


def test_eicar_inside_real_docx(scanner):
    data = docx_bytes(EICAR.decode())
    assert scanner.scan_stream(io.BytesIO(data)).infected
    embedded = with_zip_member(docx_bytes(), "word/media/bilaga.bin", EICAR)
    assert scanner.scan_stream(io.BytesIO(embedded)).infected


def test_clean_pdf_and_docx(scanner):
    assert scanner.scan_stream(io.BytesIO(pdf_bytes())).clean
    assert scanner.scan_stream(io.BytesIO(docx_bytes())).clean


def test_encrypted_zip_is_not_clean(scanner):
    # A zip member flagged as encrypted (traditional PKWARE) is reported by AlertEncrypted.
    data = bytearray(zip_bytes({"hemlig.txt": "hemligt innehåll".encode() * 100}))
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 6] |= 0x01
    data[central + 8] |= 0x01
    result = scanner.scan_stream(io.BytesIO(bytes(data)))
    assert not result.clean
    assert result.outcome is ScanOutcome.INFECTED
    assert "Encrypted" in result.signature


def test_clamd_down_is_unavailable_not_clean(tmp_path):
    scanner = Scanner(f"unix://{tmp_path}/no-clamd.sock", timeout=2)
    result = scanner.scan_stream(io.BytesIO(b"hello"))
    assert result.outcome is ScanOutcome.UNAVAILABLE and result.reason
    with pytest.raises(ScannerUnavailable):
        scanner.ping()


def test_hanging_clamd_times_out(hanging_clamd):
    scanner = Scanner(hanging_clamd.url, timeout=0.5)
    started = time.monotonic()
    result = scanner.scan_stream(io.BytesIO(b"x" * 100_000))
    assert result.outcome is ScanOutcome.UNAVAILABLE
    assert time.monotonic() - started < 5
    with pytest.raises(ScannerUnavailable):
        scanner.ping()


def test_clamd_that_never_reads_times_out_while_sending():
    from tests.fixtures_services import HangingClamd

    fake = HangingClamd(read=False)
    try:
        scanner = Scanner(fake.url, timeout=0.5)
        started = time.monotonic()
        result = scanner.scan_stream(io.BytesIO(b"x" * (8 * 1024 * 1024)))
        assert result.outcome is ScanOutcome.UNAVAILABLE
        assert time.monotonic() - started < 5
    finally:
        fake.close()


def test_stream_over_stream_max_length_is_not_clean():
    small = ClamdService(max_bytes=1024 * 1024)
    small.start()
    try:
        result = Scanner(small.url, timeout=10).scan_stream(io.BytesIO(b"a" * (3 * 1024 * 1024)))
    finally:
        small.close()
    assert result.outcome is ScanOutcome.UNAVAILABLE
    assert "limit" in result.reason.lower() or "closed" in result.reason.lower()


@pytest.mark.parametrize(
    ("reply", "outcome", "signature"),
    [
        ("stream: OK", ScanOutcome.CLEAN, ""),
        ("stream: Eicar-Test FOUND", ScanOutcome.INFECTED, "Eicar-Test"),
        ("INSTREAM size limit exceeded. ERROR", ScanOutcome.UNAVAILABLE, ""),
        ("stream: OK trailing", ScanOutcome.UNAVAILABLE, ""),
        ("", ScanOutcome.UNAVAILABLE, ""),
        (None, ScanOutcome.UNAVAILABLE, ""),
        ("stream:  FOUND", ScanOutcome.UNAVAILABLE, ""),
        ("Can't allocate memory ERROR", ScanOutcome.UNAVAILABLE, ""),
    ],
)
def test_reply_parsing_never_reads_an_error_as_clean(reply, outcome, signature):
    result = parse_reply(reply)
    assert result.outcome is outcome
    assert result.signature == signature


def test_url_forms():
    assert Scanner("tcp://127.0.0.1:3310").url == "tcp://127.0.0.1:3310"
    with pytest.raises(ValueError):
        Scanner("http://clamd")
