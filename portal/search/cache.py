"""The facet cache: facet values and counts, the facet cube and the names of committees,
service areas and providers, per process, each kept for at most a minute.

Counting facets reads every match, and the same few filter combinations (the start page,
the unfiltered browse page, one service area) are asked for again and again. An entry
that depends on publications has their last change (:func:`.loading.last_modified`) in
its key, so a publish, edit or withdrawal leaves it behind at once; names and ownership
of providers can change on their own, hence the minute.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import TTLCache

from portal import tenancy

T = TypeVar("T")

facet_cache: TTLCache = TTLCache(maxsize=4096, ttl=60)
_lock = threading.Lock()  # a TTLCache is not safe for threads on its own
_MISSING = object()


def cached(key: Hashable, compute: Callable[[], T], fits: Callable[[T], bool] | None = None) -> T:
    """The value kept under ``key`` in the current municipality, or ``compute()`` kept there
    when there is none or the one kept does not ``fits``."""
    key = (tenancy.current_id(), key)
    with _lock:
        value = facet_cache.get(key, _MISSING)
    if value is _MISSING or (fits is not None and not fits(value)):
        value = compute()
        with _lock:
            facet_cache[key] = value
    return value
