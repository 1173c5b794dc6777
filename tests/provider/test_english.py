"""The provider portal in English: a provider user who chooses English gets English pages,
not only English navigation (msgids are Swedish; see translations/)."""

from __future__ import annotations

from tests.conftest import text_of


def test_provider_pages_in_english(app, client, w, asked, compiled_translations):
    client.login(w.user_a)

    start = text_of(client.get("/utforare/?lang=en"))
    assert "Overview" in start and "All cases" in start and "New action plan" in start
    assert "To be answered" in start and "Information requests awaiting your answer" in start
    assert "Kvalitetsredovisning 2026" in start and "Draft" in start  # the one word for a draft
    assert "Clarifications the municipality is waiting for" in start
    assert "Report a deviation" in start and "Latest decisions" in start
    assert "Översikt" not in start and "Att svara på" not in start

    answer = text_of(client.get(f"/utforare/arenden/{asked.id}/svar?lang=en"))
    assert "Answer the information request" in answer
    assert "What the committee is asking for" in answer and "Answer by" in answer
    assert "Download the request as a Word document" in answer
    assert "Save draft" in answer and "Continue" in answer
    assert "Comment for the municipality (optional)" in answer
    assert "Spara utkast" not in answer and "Det här begär nämnden" not in answer

    deviation = text_of(client.get("/utforare/avvikelser/ny?lang=en"))
    assert "Report a deviation" in deviation
    assert "Type of incident" in deviation and "When did it happen?" in deviation
    assert "What happened?" in deviation and "What measures were taken immediately?" in deviation
    assert "The report must not contain names" in deviation
    assert "Vad hände?" not in deviation and "Typ av händelse" not in deviation

    admin = app.test_client()
    admin.login(w.admin_a)
    organisation = text_of(admin.get("/utforare/organisation?lang=en"))
    assert "Staff member" in organisation and "Administrator" in organisation
    assert "Medarbetare" not in organisation

    # Back to Swedish.
    assert "Att svara på" in text_of(client.get("/utforare/?lang=sv"))
