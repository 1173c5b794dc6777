"""English is available on every public page (msgids are Swedish), and every message of
the public site has an English translation."""

from __future__ import annotations

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.conftest import text_of


@pytest.fixture
def english(compiled_translations, app):
    return compiled_translations


def test_pages_in_english(client, make, w, english):
    p = make.publication(w, title="Kvalitetsredovisning", summary="Sammanfattning.")
    page = text_of(client.get("/?lang=en"))
    assert "Insight into the municipality's providers" in page
    assert "Latest publications" in page and "På svenska" in page
    assert 'lang="en"' in client.get("/?lang=en").get_data(as_text=True)
    # The choice is remembered for the next page, without the parameter.
    follow = text_of(client.get(f"/publicerat/{p.id}"))
    assert "The provider's answers" in follow and "Transparency information" in follow
    assert "Accessibility statement" in text_of(client.get("/tillganglighet"))
    assert "Compare providers" in text_of(client.get("/jamfor"))
    search = text_of(client.get("/sok?q=kvalitet"))
    assert "1 publication" in search and "Search and browse" in search
    # Back to Swedish.
    assert "Senast publicerat" in text_of(client.get("/?lang=sv"))


OWN = (
    "templates/public/",
    "portal/public/",
    "portal/api/",
    "portal/search/",
    "storage/",
    "portal/formatting.py",
    "templates/auth/",
    "portal/auth/",
    "templates/provider/",
    "portal/provider/",
    "portal/workflow.py",
    "portal/labels.py",
)


def test_every_public_message_is_translated(english):
    root = english
    with open(root / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(root.parent),
        method_map,
        options_map,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None},
    ):
        # Enforced for the public site's own sources; the shared layout is translated too,
        # but other areas add to it at their own pace.
        if filename.startswith(OWN):
            found.add(message if isinstance(message, str) else tuple(message))
    assert len(found) > 200
    with open(root / "en" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    translated = {
        (m.id if isinstance(m.id, str) else tuple(m.id))
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string))
    }
    missing = sorted(str(m) for m in found - translated)
    assert not missing, f"run pybabel extract/update and translate: {missing}"
