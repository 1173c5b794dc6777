"""One scenario per role, in a real browser against gunicorn with PostgreSQL, the S3
server, clamd and a real SMTP server, through the visible Swedish labels only.

Screenshots of every step go to test-artifacts/e2e/ (not committed); axe-core (WCAG 2.1
A/AA) runs on every page the scenario visits and must find nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.dates import today
from tests.e2e.conftest import Visit
from tests.factories import PASSWORD
from tests.pdfs import pdf_bytes

# A searchable word that appears only inside the PDF's text.
PDF_WORD = "Trygghetsvandring"
TITLE = "Kvalitetsredovisning hemtjänst 2026"
# Skatteverket's fictional test personnummer.
PERSONNUMMER = "19121212-1212"


def send(page, label: str = "Skicka in") -> None:
    """Send an answer as a provider does: "Fortsätt" saves it and shows the answers to
    check; the check page's button sends them."""
    page.get_by_role("button", name="Fortsätt", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Kontrollera"))).to_be_visible()
    page.get_by_role("main").get_by_role("button", name=label, exact=True).click()


@pytest.fixture
def world(pg_app, make):
    return make.world()


def sign_in(browser, base, user, visit):
    context = browser.new_context(
        accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="sv-SE"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(base + "/logga-in")
    visit(page, "logga-in")
    page.get_by_label("E-post").fill(user.email)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Logga in").click()
    page.wait_for_load_state("load")
    return page


def test_scenario_in_a_real_browser(served, browser, world, tmp_path):
    w = world
    base = served
    visit = Visit("scenario")

    # 1. Staff creates an information request with fields to all home-care providers.
    staff = sign_in(browser, base, w.reviewer_x, visit)
    visit(staff, "handlaggare-start")
    staff.get_by_role("link", name="Begäranden").first.click()
    visit(staff, "begaranden")
    staff.get_by_role("link", name="Ny begäran").click()
    visit(staff, "ny-begaran")
    staff.get_by_label("Nämnd", exact=True).select_option(
        label=f"{w.committee_x.name} ({w.committee_x.code})"
    )
    staff.get_by_label("Rubrik").fill(TITLE)
    staff.get_by_label("Instruktioner till utförarna").fill("Uppgifterna avser den 1 oktober.")
    staff.get_by_label("Svara senast").fill((today() + timedelta(days=30)).isoformat())
    staff.get_by_label("Alla utförare inom ett verksamhetsområde").check()
    staff.get_by_label("Verksamhetsområde", exact=True).select_option(label="Hemtjänst (VON)")
    staff.get_by_label("Uppgift 1", exact=True).fill("Beskriv arbetet med trygghet")
    staff.get_by_label("Typ av svar 1").select_option(label="Text")
    staff.get_by_label("Uppgift 2", exact=True).fill("Kvalitetsberättelse")
    staff.get_by_label("Typ av svar 2").select_option(label="Fil")
    staff.get_by_label("Uppgift 3", exact=True).fill("Övrig bilaga")
    staff.get_by_label("Typ av svar 3").select_option(label="Fil")
    staff.get_by_role("button", name="Visa mottagare").click()
    visit(staff, "mottagare")
    expect(staff.get_by_text("Begäran går till 2 utförare")).to_be_visible()
    staff.get_by_role("button", name="Skicka begäran").click()
    visit(staff, "begaran-skickad")
    with staff.expect_download() as download:
        staff.get_by_role("link", name=re.compile("brev", re.I)).first.click()
    letter = tmp_path / "brev.docx"
    download.value.save_as(letter)
    assert letter.read_bytes()[:2] == b"PK"

    # 2. A provider user answers with a PDF attachment (upload progress shown), gets a
    #    receipt and a registration number.
    pdf = tmp_path / "Kvalitetsberättelse.pdf"
    pdf.write_bytes(pdf_bytes(f"{PDF_WORD} i hemtjansten varje kvartal"))
    listing = tmp_path / "Deltagarlista.txt"
    listing.write_text(f"Deltagare: Tolvan Tolvansson {PERSONNUMMER}\n")
    provider = sign_in(browser, base, w.user_a, visit)
    visit(provider, "utforare-start")
    provider.get_by_role("link", name=TITLE).first.click()
    visit(provider, "utforare-arende")
    provider.get_by_role("link", name="Svara").click()
    visit(provider, "utforare-svar")
    provider.get_by_label("Beskriv arbetet med trygghet", exact=True).fill(
        "Trygghetsronder varje vecka."
    )
    provider.get_by_label("Kvalitetsberättelse", exact=True).set_input_files(str(pdf))
    provider.get_by_label("Övrig bilaga", exact=True).set_input_files(str(listing))
    watch_progress(provider)
    provider.get_by_role("button", name="Fortsätt", exact=True).click()
    expect(provider.get_by_role("heading", name=re.compile("^Kontrollera"))).to_be_visible()
    seen = provider.evaluate("window.progressSeen")
    assert any("Laddar upp" in s or "Filen är uppladdad" in s for s in seen), seen
    visit(provider, "kontrollera-svaren")
    provider.get_by_role("main").get_by_role("button", name="Skicka in", exact=True).click()
    expect(provider.get_by_role("heading", name=re.compile("Kvitto"))).to_be_visible()
    visit(provider, "kvitto")
    registration = provider.get_by_text(re.compile(r"^VON \d{4}/\d+$")).first.inner_text()
    expect(provider.get_by_text("Kvalitetsberättelse.pdf")).to_be_visible()

    # 3. Staff asks for clarification; the provider answers; staff sees both versions and
    #    approves; the publisher publishes one attachment after the personal-data guard
    #    flagged the personnummer in the other.
    staff.get_by_role("navigation").get_by_role("link", name="Ärenden", exact=True).click()
    visit(staff, "arenden")
    staff.get_by_role("row").filter(has_text=w.org_a.name).get_by_role("link", name=TITLE).click()
    visit(staff, "arende")
    expect(staff.get_by_text(registration).first).to_be_visible()
    clarify = decision(staff, "Begär komplettering")
    clarify.get_by_label("Vad ska utföraren komplettera?").fill(
        "Ange hur ofta trygghetsronderna följs upp."
    )
    clarify.get_by_label("Ny svarsdag").fill((today() + timedelta(days=14)).isoformat())
    clarify.get_by_role("button", name="Begär komplettering").click()
    expect(staff.get_by_text("Kompletteringen är begärd.")).to_be_visible()
    visit(staff, "komplettering-begard")

    provider.get_by_role("link", name="Till ärendet").first.click()
    visit(provider, "utforare-komplettering")
    provider.get_by_role("link", name="Komplettera").first.click()
    visit(provider, "utforare-kompletterar")
    provider.get_by_label("Beskriv arbetet med trygghet", exact=True).fill(
        "Trygghetsronder varje vecka, uppföljda av enhetschefen varje månad."
    )
    provider.get_by_label("Ert svar på kommunens begäran om komplettering", exact=True).fill(
        "Uppföljningen sker månadsvis."
    )
    send(provider, "Skicka in kompletteringen")
    expect(provider.get_by_role("heading", name=re.compile("Kvitto"))).to_be_visible()
    visit(provider, "kvitto-version-2")

    staff.reload()
    visit(staff, "arende-version-2")
    expect(staff.get_by_role("heading", name="Tidigare versioner")).to_be_visible()
    expect(staff.get_by_text("Ändrat sedan version 1").first).to_be_visible()
    earlier = staff.get_by_role("region", name="Tidigare versioner")
    earlier.get_by_text(re.compile(r"^Version 1, inskickad")).click()
    expect(earlier.get_by_text("Trygghetsronder varje vecka.", exact=True)).to_be_visible()
    expect(staff.get_by_text("uppföljda av enhetschefen varje månad").first).to_be_visible()
    visit(staff, "bada-versionerna")
    decision(staff, "Godkänn").get_by_role("button", name="Godkänn").click()
    staff.get_by_role("button", name="Ja, godkänn").click()
    expect(staff.get_by_text("Ärendet är godkänt.")).to_be_visible()
    visit(staff, "godkant")

    publisher = sign_in(browser, base, w.publisher, visit)
    publisher.get_by_role("navigation").get_by_role("link", name="Publicering").click()
    visit(publisher, "att-publicera")
    publisher.get_by_role("link", name=re.compile("Förbered publicering")).first.click()
    visit(publisher, "publicera")
    publisher.get_by_role("checkbox", name="Kvalitetsberättelse.pdf").check()
    publisher.get_by_role("checkbox", name="Deltagarlista.txt").check()
    publisher.get_by_role("button", name="Kontrollera igen").click()
    guard = publisher.get_by_role("region", name="3. Kontroll av personuppgifter")
    expect(guard.get_by_text("Deltagarlista.txt").first).to_be_visible()
    expect(guard.get_by_text(re.compile("Personnummer", re.I)).first).to_be_visible()
    visit(publisher, "personnummer-flaggat")
    publisher.get_by_role("checkbox", name="Deltagarlista.txt").uncheck()
    publisher.get_by_role("button", name="Kontrollera igen").click()
    expect(
        publisher.get_by_text("Inga personuppgifter hittades i det som är valt.")
    ).to_be_visible()
    publisher.get_by_role("button", name="Fortsätt", exact=True).click()
    visit(publisher, "publicera-bekrafta")
    publisher.get_by_role("button", name="Ja, publicera").click()
    visit(publisher, "publicerat")

    # Org B answers too (seeded), so that the public has providers to compare.
    publish_other_answer(w)

    # 4. The public finds it by a word inside the PDF, compares providers and downloads
    #    the file: the bytes are the upload's.
    public = browser.new_context(accept_downloads=True, locale="sv-SE").new_page()
    public.set_default_timeout(10_000)
    public.goto(base + "/")
    visit(public, "startsida")
    public.get_by_role("navigation").get_by_role("link", name="Sök").click()
    public.get_by_label("Sökord").fill(PDF_WORD)
    public.get_by_role("button", name="Sök", exact=True).click()
    visit(public, "sokresultat")
    public.get_by_role("link", name=TITLE).first.click()
    visit(public, "publicering")
    expect(public.get_by_text("Deltagarlista.txt")).to_have_count(0)
    public.get_by_role("link", name=re.compile("Jämför svaren med andra utförare")).click()
    visit(public, "jamfor")
    expect(public.get_by_text(w.org_a.name).first).to_be_visible()
    expect(public.get_by_text(w.org_b.name).first).to_be_visible()
    public.go_back()
    with public.expect_download() as download:
        public.get_by_role("link", name=re.compile("Kvalitetsberättelse.pdf")).last.click()
    fetched = tmp_path / "hamtad.pdf"
    download.value.save_as(fetched)
    assert fetched.read_bytes() == pdf.read_bytes()

    # 5. A provider reports a deviation, submits an action plan, completes the measures;
    #    staff closes it.
    provider.get_by_role("navigation", name="Utförarens sidor").get_by_role(
        "link", name="Översikt"
    ).click()
    visit(provider, "utforare-oversikt")
    provider.get_by_role("link", name="Rapportera en avvikelse").click()
    visit(provider, "ny-avvikelse")
    provider.get_by_label("Rubrik", exact=True).fill("Fördröjd läkemedelsutdelning")
    provider.get_by_role("group", name="Typ av händelse").get_by_role(
        "radio", name="Avvikelse"
    ).check()
    provider.get_by_role("group", name="Allvarlighetsgrad").get_by_role(
        "radio", name="Medel"
    ).check()
    provider.get_by_label("När hände det?", exact=True).fill(today().isoformat())
    provider.get_by_label("Vad hände?", exact=True).fill(
        "Kvällens läkemedel delades ut en timme sent."
    )
    provider.get_by_label("Vilka åtgärder vidtogs direkt?", exact=True).fill(
        "Sjuksköterskan kontaktades."
    )
    send(provider)
    expect(provider.get_by_role("heading", name=re.compile("Kvitto"))).to_be_visible()
    visit(provider, "avvikelse-kvitto")
    provider.get_by_role("link", name="Till ärendet").first.click()
    provider.get_by_role("link", name="Upprätta en åtgärdsplan").click()
    visit(provider, "ny-atgardsplan")
    provider.get_by_label("Vad ska göras?", exact=True).fill("Ny rutin för kvällsrundan.")
    provider.get_by_label("Ansvarig", exact=True).fill("Enhetschef")
    provider.get_by_label("Klar senast", exact=True).fill(
        (today() + timedelta(days=30)).isoformat()
    )
    send(provider)
    expect(provider.get_by_role("heading", name=re.compile("Kvitto"))).to_be_visible()
    visit(provider, "atgardsplan-kvitto")

    staff.get_by_role("navigation").get_by_role("link", name="Ärenden", exact=True).click()
    staff.get_by_role("link", name=re.compile("Åtgärdsplan")).first.click()
    visit(staff, "atgardsplan")
    decision(staff, "Godkänn").get_by_role("button", name="Godkänn").click()
    staff.get_by_role("button", name="Ja, godkänn").click()
    expect(staff.get_by_text("Ärendet är godkänt.")).to_be_visible()

    evidence = tmp_path / "Rutin kvällsrunda.pdf"
    evidence.write_bytes(pdf_bytes("Rutin for kvallsrundan"))
    provider.get_by_role("navigation", name="Utförarens sidor").get_by_role(
        "link", name="Översikt"
    ).click()
    visit(provider, "utforare-oversikt-plan")
    provider.get_by_role("link", name=re.compile("^Rapportera framsteg")).first.click()
    visit(provider, "rapportera-framsteg")
    provider.get_by_label("Status", exact=True).select_option(label="Genomförd")
    provider.get_by_label("Genomförd den").fill(today().isoformat())
    provider.get_by_label("Underlag som visar att åtgärden är genomförd").set_input_files(
        str(evidence)
    )
    provider.get_by_label("Kommentar om hur arbetet går").fill("Rutinen gäller från i dag.")
    send(provider, "Skicka lägesrapport")
    expect(provider.get_by_role("heading", name=re.compile("Kvitto"))).to_be_visible()
    visit(provider, "lagesrapport-kvitto")

    staff.reload()
    visit(staff, "atgardsplan-genomford")
    close = decision(staff, "Avsluta åtgärdsplanen")
    close.get_by_label("Hur har effekten av åtgärderna följts upp?").fill(
        "Stickprov visar att utdelningen sker i tid."
    )
    close.get_by_role("button", name="Avsluta åtgärdsplanen").click()
    expect(staff.get_by_text("Åtgärdsplanen är avslutad.")).to_be_visible()
    visit(staff, "atgardsplan-avslutad")

    assert len(visit.checked) >= 30
    assert not visit.violations, "\n".join(visit.violations)


def watch_progress(page) -> None:
    page.evaluate("""() => {
        window.progressSeen = [];
        new MutationObserver(() => {
            const box = document.querySelector('.upload-status');
            if (box && !box.hidden) {
                window.progressSeen.push(box.querySelector('progress').value + ' '
                    + box.querySelector('.upload-text').textContent);
            }
        }).observe(document.documentElement, {subtree: true, attributes: true,
                                              childList: true, characterData: true});
    }""")


def decision(page, title):
    """The decision form under the heading ``title``."""
    return page.locator("form").filter(has=page.get_by_role("heading", name=title, exact=True))


def publish_other_answer(w) -> None:
    """Org B's answer to the same request, approved and published (seeded, committed)."""
    from portal.extensions import db
    from portal.models import Submission
    from tests import factories

    db.session.expire_all()
    (other,) = db.session.scalars(
        db.select(Submission).where(Submission.provider_id == w.org_b.id)
    ).all()
    text_key = next(f.key for f in other.request.fields if f.label.startswith("Beskriv"))
    factories.answered(
        other, w.reviewer_x, {text_key: "Trygghetsronder varannan vecka."}, author=w.user_b
    )
    factories.published(other, w.publisher)
