"""Type sniffing from content, and display names."""

from __future__ import annotations

import pytest

from storage.names import safe_display_name, with_extension
from storage.sniff import TypeRefused, sniff
from tests.pdfs import pdf_bytes
from tests.storage.files import (
    docx_bytes,
    jpeg_bytes,
    odf_bytes,
    png_bytes,
    with_zip_member,
    xlsx_bytes,
    zip_bytes,
)


def kind_of(tmp_path, data: bytes, name: str):
    path = tmp_path / "upload"
    path.write_bytes(data)
    return sniff(path, name)


def refusal(tmp_path, data: bytes, name: str) -> TypeRefused:
    with pytest.raises(TypeRefused) as caught:
        kind_of(tmp_path, data, name)
    return caught.value


@pytest.mark.parametrize(
    ("make", "name", "kind", "mime"),
    [
        (pdf_bytes, "rapport.pdf", "pdf", "application/pdf"),
        (
            docx_bytes,
            "Åtgärdsplan.DOCX",
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            xlsx_bytes,
            "statistik.xlsx",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (odf_bytes, "text.odt", "odt", "application/vnd.oasis.opendocument.text"),
        (
            lambda: odf_bytes("application/vnd.oasis.opendocument.spreadsheet"),
            "kalkyl.ods",
            "ods",
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        (png_bytes, "bild.png", "png", "image/png"),
        (jpeg_bytes, "foto.JPG", "jpeg", "image/jpeg"),
        (
            lambda: "Hej världen\r\nRad två\n".encode(),
            "anteckning.txt",
            "txt",
            "text/plain; charset=utf-8",
        ),
        (
            lambda: "namn;antal\nÖrebro;3\n".encode("cp1252"),
            "lista.csv",
            "csv",
            "text/csv; charset=windows-1252",
        ),
        (
            lambda: "\ufeffnamn,antal\n".encode("utf-8"),
            "lista.csv",
            "csv",
            "text/csv; charset=utf-8",
        ),
        (
            lambda: "text på svenska".encode("utf-16"),
            "utf16.txt",
            "txt",
            "text/plain; charset=utf-16",
        ),
        (pdf_bytes, "utan-filandelse", "pdf", "application/pdf"),
    ],
)
def test_allowed(tmp_path, make, name, kind, mime):
    result = kind_of(tmp_path, make(), name)
    assert (result.name, result.mime) == (kind, mime)


@pytest.mark.parametrize(
    ("data", "name", "code", "status", "words"),
    [
        (b"", "tom.pdf", "empty", 422, "tom"),
        (
            lambda: with_zip_member(docx_bytes(), "word/vbaProject.bin", b"\xd0\xcf\x11\xe0"),
            "makro.docx",
            "macro",
            422,
            "makroaktiverad",
        ),
        (docx_bytes, "rapport.docm", "macro", 422, "makroaktiverad"),
        (lambda: xlsx_bytes(macro=True), "kalkyl.xlsx", "macro", 422, ".xlsx utan makron"),
        (
            lambda: odf_bytes(extra={"Basic/Standard/Module1.xml": b"<x/>"}),
            "a.odt",
            "macro",
            422,
            "makro",
        ),
        (b"MZ\x90\x00" + b"\x00" * 200, "program.pdf", "executable", 415, "program"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "a.txt", "executable", 415, "körbar"),
        (b"\xcf\xfa\xed\xfe" + b"\x00" * 100, "a.png", "executable", 415, "körbar"),
        (b"#!/bin/sh\nrm -rf /\n", "skript.txt", "script", 415, "skript"),
        (b"echo hej\n", "run.bat", "script", 415, "skript"),
        (lambda: zip_bytes({"a.txt": b"hej"}), "arkiv.zip", "archive", 415, "arkiv"),
        (lambda: zip_bytes({"a.txt": b"hej"}), "arkiv.docx", "archive", 415, "Packa upp"),
        (b"Rar!\x1a\x07\x01\x00" + b"\x00" * 50, "a.rar", "archive", 415, "arkiv"),
        (b"7z\xbc\xaf\x27\x1c" + b"\x00" * 50, "a.7z", "archive", 415, "arkiv"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 50, "a.gz", "archive", 415, "arkiv"),
        (lambda: pdf_bytes(password="hemligt"), "skyddad.pdf", "encrypted", 422, "lösenord"),
        (b"%PDF-1.7\ngarbage without any structure", "trasig.pdf", "damaged", 422, "skadad"),
        (pdf_bytes, "rapport.docx", "extension_mismatch", 422, "slutar på .docx"),
        (png_bytes, "bild.jpg", "extension_mismatch", 422, "PNG-bild"),
        (b"hello", "data.pdf", "extension_mismatch", 422, "textfil"),
        (b"<!DOCTYPE html><html><script>alert(1)</script>", "sida.txt", "markup", 415, "HTML"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "bild.svg", "markup", 415, "SVG"),
        (b'<?xml version="1.0"?><a/>', "data.xml", "markup", 415, "XML"),
        (b"plain words", "sida.html", "markup", 415, "HTML"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
            "gammal.doc",
            "legacy_office",
            415,
            "äldre Office-format",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le"),
            "skyddad.docx",
            "encrypted",
            422,
            "lösenordsskyddad",
        ),
        (b"GIF89a" + b"\x00" * 20, "anim.gif", "image_format", 415, "PNG eller JPEG"),
        (b"\x00\x01\x02\x03binary", "data.bin", "unknown", 415, "Tillåtna filtyper"),
        (
            lambda: odf_bytes("application/vnd.oasis.opendocument.presentation"),
            "a.odp",
            "not_allowed",
            415,
            "Presentationer",
        ),
    ],
)
def test_refused_with_own_message(tmp_path, data, name, code, status, words):
    refused = refusal(tmp_path, data() if callable(data) else data, name)
    assert (refused.code, refused.status) == (code, status)
    assert words in refused.message


def test_each_refusal_has_a_distinct_message(tmp_path):
    samples = [
        (b"MZ" + b"\x00" * 10, "a.exe"),
        (b"#!/bin/sh\n", "a.sh"),
        (zip_bytes({"a": b"b"}), "a.zip"),
        (pdf_bytes(password="x"), "a.pdf"),
        (with_zip_member(docx_bytes(), "word/vbaProject.bin", b"x"), "a.docx"),
        (b"<html></html>", "a.txt"),
        (pdf_bytes(), "a.docx"),
    ]
    messages = {refusal(tmp_path, data, name).message for data, name in samples}
    assert len(messages) == len(samples)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("rapport.pdf", "rapport.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system32\\evil.pdf", "evil.pdf"),
        ("C:\\Users\\anna\\Dokument\\Åtgärdsplan.docx", "Åtgärdsplan.docx"),
        ("rapport\x00.pdf", "rapport.pdf"),
        ("rad\r\nbryt.pdf", "rad bryt.pdf"),
        ("fakturagpj\u202e.exe", "fakturagpj.exe"),
        ("A\u030angström.pdf", "Ångström.pdf"),
        ("  .dold.txt ", "dold.txt"),
        ("..", "fil"),
        ("", "fil"),
        (None, "fil"),
        ("CON.txt", "_CON.txt"),
        ('a<b>c:"d|e?f*.pdf', "a_b_c__d_e_f_.pdf"),
    ],
)
def test_safe_display_name(raw, expected):
    assert safe_display_name(raw) == expected


def test_long_names_keep_their_extension():
    name = safe_display_name("å" * 300 + ".pdf")
    assert name.endswith("….pdf")
    assert len(name) <= 150 and len(name.encode()) <= 255
    assert safe_display_name("x" * 300).startswith("x")
    assert len(safe_display_name("x" * 300)) <= 150


def test_with_extension():
    assert with_extension("rapport", ".pdf") == "rapport.pdf"
    assert with_extension("rapport.pdf", ".pdf") == "rapport.pdf"
