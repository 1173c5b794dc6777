"""Staff pages without a virus scanner (development) carry a banner; it must pass the axe
check like everything else on the page (it sits in a labelled region)."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import Role
from tests.browser import AXE_OPTIONS
from tests.factories import PASSWORD


@pytest.mark.parametrize("path", ["/handlaggare/", "/handlaggare/arenden"])
def test_the_banner_passes_axe(app, make, chromium, axe, server, path):
    assert not app.config.get("CLAMD_URL"), "this test is about running without a scanner"
    reviewer = make.user(Role.REVIEWER)
    db.session.commit()
    page = chromium.new_context(locale="sv-SE").new_page()
    page.goto(server + "/logga-in")
    page.fill("#email", reviewer.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/handlaggare/")
    assert page.goto(server + path).status == 200
    assert page.get_by_role("region", name="Driftinformation").is_visible()
    results = axe.run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()
