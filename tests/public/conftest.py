"""Fixtures of the public-site tests.

Modules that need public documents override ``app_config`` with ``clamd_url``: only
files scanned clean by a real clamd are ever public."""

from __future__ import annotations

import pytest

from portal import search


@pytest.fixture(autouse=True)
def _fresh_facet_cache():
    # The cache is per process and keyed by the data's last change; tests reuse ids.
    search.facet_cache.clear()
    yield
    search.facet_cache.clear()


@pytest.fixture
def w(make):
    return make.world()


@pytest.fixture(scope="session")
def compiled_translations():
    """The English catalogue compiled as ``make translations`` does (the .mo files are not
    committed), so that a test run straight from a checkout has them."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2] / "translations"
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)
    return root
