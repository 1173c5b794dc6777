"""Personal-data finder: identity numbers, phone numbers, e-mail addresses.

Identity numbers here are Skatteverket's fictitious 19121212-1212 ("Tolvan
Tolvansson") and numbers built from it with the Luhn algorithm below; none
belongs to a person we know of.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from portal.pii import (
    CONTEXT_CHARS,
    Hit,
    PersonalDataKind,
    contains_identity_number,
    find_personal_data,
)


def luhn_digit(nine: str) -> str:
    """The check digit of YYMMDDNNN (weights 2,1,2,... from the left)."""
    total = 0
    for index, char in enumerate(nine):
        product = int(char) * (2 - index % 2)
        total += product - 9 if product > 9 else product
    return str((10 - total % 10) % 10)


def wrong_digit(nine: str) -> str:
    return str((int(luhn_digit(nine)) + 1) % 10)


def only(text: str) -> Hit:
    hits = find_personal_data(text)
    assert len(hits) == 1, hits
    return hits[0]


TOLVAN = "19121212-1212"
assert luhn_digit("121212121") == "2"  # the helper agrees with Skatteverket's example
SERIAL_123 = "121212123" + luhn_digit("121212123")  # 1912-12-12, serial 123
COORD = "121272121" + luhn_digit("121272121")  # samordningsnummer: day 12 + 60
COORD_456 = "121272456" + luhn_digit("121272456")
# 2007-01-23: ten digits starting with 0, the shape of a 070 mobile number.
LEADING_ZERO = "070123456" + luhn_digit("070123456")


# --- identity numbers that must be found ---------------------------------------


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        (TOLVAN, "19121212-1212"),
        ("19121212+1212", "19121212-1212"),  # 12 digits: the century says it all
        ("191212121212", "19121212-1212"),
        ("121212+1212", "19121212-1212"),  # plus: over 100 years old
        ("121212-1212", "20121212-1212"),  # dash: within the last 100 years
        ("1212121212", "20121212-1212"),
        (f"19{SERIAL_123[:6]}-{SERIAL_123[6:]}", f"19{SERIAL_123[:6]}-{SERIAL_123[6:]}"),
        (f"{SERIAL_123[:6]}+{SERIAL_123[6:]}", f"19{SERIAL_123[:6]}-{SERIAL_123[6:]}"),
        (f"19{SERIAL_123}", f"19{SERIAL_123[:6]}-{SERIAL_123[6:]}"),
        ("19121212\u20131212", "19121212-1212"),  # en dash from a word processor
        ("19121212\u20111212", "19121212-1212"),  # non-breaking hyphen
        ("19121212\u22121212", "19121212-1212"),  # minus sign
    ],
)
def test_personnummer_in_every_written_form(written: str, normalized: str) -> None:
    text = f"Brukaren ({written}) har beviljats insatser."
    hit = only(text)
    assert hit.kind is PersonalDataKind.PERSONNUMMER
    assert hit.kind == "personnummer"  # plain strings compare equal
    assert hit.text == written
    assert text[hit.start : hit.end] == written
    assert hit.normalized == normalized
    assert hit.is_identity_number
    assert contains_identity_number(text)


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        (f"19{COORD[:6]}-{COORD[6:]}", f"19{COORD[:6]}-{COORD[6:]}"),
        (f"19{COORD}", f"19{COORD[:6]}-{COORD[6:]}"),
        (f"{COORD[:6]}+{COORD[6:]}", f"19{COORD[:6]}-{COORD[6:]}"),
        (f"{COORD_456[:6]}-{COORD_456[6:]}", f"20{COORD_456[:6]}-{COORD_456[6:]}"),
        (COORD_456, f"20{COORD_456[:6]}-{COORD_456[6:]}"),
    ],
)
def test_samordningsnummer(written: str, normalized: str) -> None:
    hit = only(f"Samordningsnummer: {written}.")
    assert hit.kind is PersonalDataKind.SAMORDNINGSNUMMER
    assert hit.normalized == normalized
    assert hit.is_identity_number
    assert contains_identity_number(f"x {written} x")


@pytest.mark.parametrize(
    "text",
    [
        TOLVAN,
        f"pnr:{TOLVAN},",
        f"Pnr {TOLVAN}.",
        f"\t{TOLVAN}\n",
        f"[{TOLVAN}]",
        f"scan_{TOLVAN}.pdf",
        f"{TOLVAN};Anna;Andersson",  # a CSV row
    ],
)
def test_personnummer_between_punctuation(text: str) -> None:
    assert only(text).text == TOLVAN


# --- what must not be read as an identity number ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("19121212-1213", id="wrong check digit, 12 digits"),
        pytest.param("121212-1213", id="wrong check digit, 10 digits"),
        pytest.param("1212121213", id="wrong check digit, no separator"),
        pytest.param(
            f"19{SERIAL_123[:9]}{wrong_digit(SERIAL_123[:9])}", id="wrong check digit, serial 123"
        ),
        pytest.param(
            f"19{COORD[:6]}-{COORD[6:9]}{wrong_digit(COORD[:9])}", id="samordningsnummer, bad check"
        ),
        pytest.param(f"121212-000{luhn_digit('121212000')}", id="serial 000"),
        pytest.param(f"19121212000{luhn_digit('121212000')}", id="serial 000, 12 digits"),
        pytest.param(f"121332-121{luhn_digit('121332121')}", id="day 32, valid Luhn"),
        pytest.param(f"121312-121{luhn_digit('121312121')}", id="month 13, valid Luhn"),
        pytest.param(f"190230-121{luhn_digit('190230121')}", id="30 February, valid Luhn"),
        pytest.param(f"121292-121{luhn_digit('121292121')}", id="coordination day 92, valid Luhn"),
        pytest.param(f"000229+121{luhn_digit('000229121')}", id="29 February 1900"),
        pytest.param("16121212-1212", id="century 16"),
        pytest.param("119121212-1212", id="inside a longer digit run, before"),
        pytest.param("19121212-12123", id="inside a longer digit run, after"),
        pytest.param("0019121212121200", id="inside a longer digit run"),
        pytest.param("556677-8899", id="organisation number"),
        pytest.param("16556677-8899", id="organisation number, 12 digits"),
        pytest.param("2024-01-15", id="date"),
        pytest.param("20240101-20241231", id="date range"),
        pytest.param("1912-12-12 12:12", id="date and time"),
        pytest.param("19121212 1212", id="space is no separator"),
        pytest.param("", id="empty"),
    ],
)
def test_not_an_identity_number(text: str) -> None:
    assert not [h for h in find_personal_data(text) if h.is_identity_number]
    assert not contains_identity_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "Ring 08-123 456 78.",
        "Mobil 070-123 45 67",
        "070-1234567",
        "070 123 45 67",
        "+46 70 123 45 67",
        "+46701234567",
        "+46 (0)8-123 456 78",
        "0046 8 123 456 78",
        "(031) 12 34 56",
        "0500-12 34 56",
        f"Tel: {LEADING_ZERO}",
        f"mobilnummer {LEADING_ZERO}",
        f"ring mig på {LEADING_ZERO}",
    ],
)
def test_phone_numbers_are_not_identity_numbers(text: str) -> None:
    hits = find_personal_data(text)
    assert [h.kind for h in hits] == [PersonalDataKind.PHONE]
    assert not contains_identity_number(text)


def test_bare_ten_digits_with_leading_zero_count_as_identity_number() -> None:
    # Without a phone cue the guard would rather ask once too often.
    text = f"Brukarens nummer {LEADING_ZERO} enligt journal."
    hit = only(text)
    assert hit.kind is PersonalDataKind.PERSONNUMMER
    assert hit.normalized == f"20{LEADING_ZERO[:6]}-{LEADING_ZERO[6:]}"


def test_separated_identity_number_with_leading_zero_is_never_a_phone() -> None:
    written = f"{LEADING_ZERO[:6]}-{LEADING_ZERO[6:]}"
    assert only(f"Tel {written}").kind is PersonalDataKind.PERSONNUMMER


# --- phone numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("08-123 456 78", "+46812345678"),
        ("08-12 34 56", "+468123456"),
        ("08 - 123 45 67", "+4681234567"),
        ("070-123 45 67", "+46701234567"),
        ("070\u2013123\u00a045\u00a067", "+46701234567"),
        ("073 123 45 67", "+46731234567"),
        ("0701234567", "+46701234567"),
        ("031-12 34 56", "+4631123456"),
        ("(08) 123 45 67", "+4681234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("+46-70-123 45 67", "+46701234567"),
        ("+46 (0)70-123 45 67", "+46701234567"),
        ("+46 8 123 456 78", "+46812345678"),
        ("+46812345678", "+46812345678"),
        ("0046 70 123 45 67", "+46701234567"),
    ],
)
def test_swedish_phone_numbers(written: str, normalized: str) -> None:
    text = f"Kontakta oss på {written}, vardagar."
    hit = only(text)
    assert hit.kind is PersonalDataKind.PHONE
    assert hit.text == written
    assert hit.normalized == normalized
    assert not hit.is_identity_number


def test_phone_number_stops_before_unrelated_digits() -> None:
    hit = only("Ring 070-123 45 67 12 gånger")
    assert hit.text == "070-123 45 67"


@pytest.mark.parametrize(
    "text",
    [
        "Öppet 08-17 10-15",
        "Öppet 08.00-17.00",
        "Datum 2024-01-15",
        "Postnummer 123 45 Stockholm",
        "Andel 0,5 procent",
        "Bilaga 012",
        "Beslut 2024/17 enligt 0123",
        "Belopp 1 234 567 kr",
        "+4612",
        "ISBN 978-91-1-300000-0",
    ],
)
def test_not_a_phone_number(text: str) -> None:
    assert find_personal_data(text) == []


# --- e-mail -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("anna.andersson@kommun.se", "anna.andersson@kommun.se"),
        ("Anna.Andersson@Kommun.SE", "anna.andersson@kommun.se"),
        ("asa.ostberg+avvikelse@omsorg.exempel.se", "asa.ostberg+avvikelse@omsorg.exempel.se"),
        ("åsa.öberg@exempel.se", "åsa.öberg@exempel.se"),
        ("info@vård-och-omsorg.se", "info@vård-och-omsorg.se"),
    ],
)
def test_email_addresses(written: str, normalized: str) -> None:
    text = f"Skicka till {written}."
    hit = only(text)
    assert hit.kind is PersonalDataKind.EMAIL
    assert hit.text == written
    assert hit.normalized == normalized


@pytest.mark.parametrize("text", ["a@b", "user@localhost", "@kommunen", "x@y.1", "a @ b.se"])
def test_not_an_email_address(text: str) -> None:
    assert find_personal_data(text) == []


# --- hits together ----------------------------------------------------------------


def test_mixed_text_in_order_with_positions() -> None:
    text = (
        "Avvikelse: brukare 19121212-1212 föll.\n"
        "Anhörig nås på 070-123 45 67 eller anna@exempel.se.\n"
        f"Samordningsnummer {COORD[:6]}+{COORD[6:]}."
    )
    hits = find_personal_data(text)
    assert [h.kind for h in hits] == [
        PersonalDataKind.PERSONNUMMER,
        PersonalDataKind.PHONE,
        PersonalDataKind.EMAIL,
        PersonalDataKind.SAMORDNINGSNUMMER,
    ]
    for hit in hits:
        assert text[hit.start : hit.end] == hit.text
    assert contains_identity_number(text)


def test_context_is_collapsed_and_bounded() -> None:
    text = "Inledning " * 20 + "brukare\n\n\t 19121212-1212 \n  bor   i\nboende " + "slut " * 20
    hit = only(text)
    assert hit.context == f"{hit.before}19121212-1212{hit.after}"
    assert "\n" not in hit.context and "\t" not in hit.context and "  " not in hit.context
    assert hit.before.startswith("…") and hit.after.endswith("…")
    assert hit.before.endswith("brukare ")
    assert hit.after.startswith(" bor i boende")
    assert len(hit.before) <= CONTEXT_CHARS + 1 and len(hit.after) <= CONTEXT_CHARS + 1


def test_context_at_the_edges_has_no_ellipsis() -> None:
    hit = only("19121212-1212")
    assert (hit.before, hit.after, hit.context) == ("", "", "19121212-1212")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("19121212-1212", "********-**12"),
        ("191212121212", "**********12"),
        ("070-123 45 67", "***-*** ** 67"),
        ("anna.andersson@kommun.se", "a***@kommun.se"),
    ],
)
def test_masked_form_for_logs(text: str, masked: str) -> None:
    assert only(text).masked == masked


def test_many_hits_in_a_large_text_is_fast_enough() -> None:
    line = "Brukare 19121212-1212, anhörig 070-123 45 67, anna@exempel.se; belopp 1 234 kr.\n"
    hits = find_personal_data(line * 5000)
    assert len(hits) == 15000


# Each input takes well under 0.1 s here; a regular expression that backtracks on one would
# take minutes. The bound leaves room for a loaded machine.
HOSTILE_BOUND_SECONDS = 5.0
HOSTILE_INPUTS = {
    "200 000 digits": "1" * 200_000,
    "100 000 digits between spaces": "0 " * 100_000,
    "a 200 000-character dotted local part": "a." * 100_000 + "@",
    "50 000 country codes": "+46 " * 50_000,
}
# The searcher in a child process: a regular expression runs in C and cannot be stopped from
# Python, so a hang is ended by killing the child.
_SEARCHER = """
import json, sys, time
from portal.pii import find_personal_data
print("ready", flush=True)
for line in sys.stdin:
    start = time.perf_counter()
    find_personal_data(json.loads(line))
    print(f"done in {time.perf_counter() - start:.3f} s", flush=True)
"""


def test_hostile_inputs_do_not_hang() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _SEARCHER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    replies: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in child.stdout:
            replies.put(line)
        replies.put(None)

    def reply(timeout: float) -> str | None:
        try:
            return replies.get(timeout=timeout)
        except queue.Empty:
            return None

    threading.Thread(target=read, daemon=True).start()
    try:
        ready = reply(60)
        assert ready == "ready\n", f"the searcher did not start: {ready!r}"
        for name, text in HOSTILE_INPUTS.items():
            child.stdin.write(json.dumps(text) + "\n")
            child.stdin.flush()
            answer = reply(HOSTILE_BOUND_SECONDS)
            if answer is None:
                pytest.fail(
                    f"find_personal_data took more than {HOSTILE_BOUND_SECONDS:.0f} s on {name}",
                    pytrace=False,
                )
            assert answer.startswith("done in "), f"{name}: {answer}{reply(5) or ''}"
    finally:
        child.kill()
        child.wait()
