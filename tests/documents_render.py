"""Generated .docx files rendered to PDF by LibreOffice, as a reader's word processor lays
them out: the one way the tests render documents.

LibreOffice is required, never optional: a test that renders fails, naming the Debian
packages to install, when it or the fonts are missing (``make system-packages`` installs
them, as root). The documents use Calibri and Courier New; LibreOffice renders them with
their metric twins Carlito and Liberation Mono, so that lines break where Word breaks them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

PACKAGES = ("libreoffice-writer-nogui", "fonts-crosextra-carlito", "fonts-liberation2")
FONTS = {"Carlito", "Liberation Mono"}
# LibreOffice takes seconds to start, more on a loaded machine; one run converts them all.
TIMEOUT_SECONDS = 240


def _missing(what: str) -> None:
    pytest.fail(
        f"{what}, so the generated .docx files cannot be rendered. Install the Debian "
        f"packages {', '.join(PACKAGES)} (`make system-packages` does, as root).",
        pytrace=False,
    )


def libreoffice() -> str:
    """The LibreOffice program, with its fonts; fails the test, saying what to install, when
    either is missing."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        _missing("LibreOffice is not installed")
    listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    families = {name.strip() for line in listed.splitlines() for name in line.split(",")}
    if missing := FONTS - families:
        _missing(f"The fonts {', '.join(sorted(missing))} are not installed")
    return office


def libreoffice_pdfs(documents: dict[str, bytes], tmp_path: Path) -> dict[str, Path]:
    """Each .docx of ``documents`` (by name) converted to PDF in one LibreOffice run; the PDF
    of each by name, under ``tmp_path``."""
    office = libreoffice()
    sources = []
    for name, data in documents.items():
        sources.append(tmp_path / f"{name}.docx")
        sources[-1].write_bytes(data)
    out = tmp_path / "pdf"
    # Its own profile: two test runs at once must not share LibreOffice's profile lock.
    profile = (tmp_path / "lo-profile").as_uri()
    command = [office, f"-env:UserInstallation={profile}", "--headless", "--norestore"]
    result = subprocess.run(
        [*command, "--convert-to", "pdf", "--outdir", str(out), *map(str, sources)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    pdfs = {name: out / f"{name}.pdf" for name in documents}
    failed = sorted(name for name, pdf in pdfs.items() if not pdf.exists())
    if result.returncode != 0 or failed:
        pytest.fail(
            f"LibreOffice did not convert {', '.join(failed) or 'the documents'} "
            f"(exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}",
            pytrace=False,
        )
    return pdfs


def pdf_texts(documents: dict[str, bytes], tmp_path: Path) -> dict[str, str]:
    """The text of each document (by name) as LibreOffice renders it, page after page."""
    texts = {}
    for name, pdf in libreoffice_pdfs(documents, tmp_path).items():
        reader = pypdf.PdfReader(pdf)
        assert len(reader.pages) >= 1, name
        texts[name] = "\n".join(page.extract_text() for page in reader.pages)
    return texts
