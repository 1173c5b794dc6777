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
