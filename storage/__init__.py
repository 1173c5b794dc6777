"""File layer: object store, virus scanner, upload pipeline and downloads.

The ground floor: pure file handling that imports nothing of ``portal`` (no models,
database session, mail or audit; ``tests/test_layering.py`` walks the imports). The app
calls :func:`init_app` once; :mod:`portal.attachments` makes attachment rows of what
:func:`storage.uploads.store_upload` stored, has them scanned in a job with
:func:`storage.uploads.scan_stored`, and serves them with
:func:`storage.downloads.send_object`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Request, current_app

from storage.scan import Scanner, ScannerUnavailable, open_scanner
from storage.spool import SpoolingRequest, remove_stale_spool_files, takes_files
from storage.store import Store, StoreError, StoreUnavailable, open_store

log = logging.getLogger(__name__)

# Room for the other fields of a form.
FORM_OVERHEAD = 1024 * 1024
DEFAULT_FILES_PER_REQUEST = 5

__all__ = [
    "Scanner",
    "ScannerUnavailable",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "current_scanner",
    "current_store",
    "init_app",
    "scanning_enabled",
    "takes_files",
]


def init_app(app: Flask, upload_gate: Callable[[Request], bool] | None = None) -> None:
    """Attach the store and the scanner chosen by the configuration, and the spooling request.

    ``upload_gate`` decides whether a request to a view marked :func:`takes_files` may carry
    files (without one, every such request may); every other request is held to the small
    ``MAX_FORM_BODY``.

    In development a missing S3 bucket is created (and an unreachable S3 server
    only logged); in production nothing is created and /readyz reports problems.
    """
    config = app.config
    development = config.get("PORTAL_ENV", "development") != "production"
    if not development and not config.get("CLAMD_URL"):
        raise RuntimeError("PORTAL_CLAMD_URL is required when PORTAL_ENV=production")

    try:
        store = open_store(config["STORAGE_URL"], create_bucket=development)
    except StoreUnavailable as exc:
        log.warning("object store not reachable at start: %s", exc)
        store = open_store(config["STORAGE_URL"])
    app.extensions["store"] = store
    app.extensions["scanner"] = open_scanner(
        config.get("CLAMD_URL", ""), float(config.get("CLAMD_TIMEOUT", 60))
    )

    limit = int(config["MAX_UPLOAD_BYTES"])
    app.request_class = SpoolingRequest
    # The spool enforces the limit per file; the whole body may carry a few files
    # (a submission form has several file fields) and the other fields.
    files = int(config.get("MAX_FILES_PER_REQUEST") or DEFAULT_FILES_PER_REQUEST)
    config["MAX_FILES_PER_REQUEST"] = files
    if config.get("MAX_CONTENT_LENGTH") is None:
        config["MAX_CONTENT_LENGTH"] = limit * files + FORM_OVERHEAD
    config["MAX_FORM_BODY"] = config.get("MAX_FORM_BODY") or FORM_OVERHEAD
    app.extensions["upload_gate"] = upload_gate
    config["MAX_FORM_MEMORY_SIZE"] = config.get("MAX_FORM_MEMORY_SIZE") or 500_000
    config["MAX_FORM_PARTS"] = config.get("MAX_FORM_PARTS") or 1000
    remove_stale_spool_files(config["UPLOAD_TMP"])


def current_store() -> Store:
    """The app's object store."""
    return current_app.extensions["store"]


def current_scanner() -> Scanner | None:
    """The app's virus scanner, or None when scanning is off (development without clamd)."""
    return current_app.extensions["scanner"]


def scanning_enabled() -> bool:
    """False in development without PORTAL_CLAMD_URL: staff pages show a banner then."""
    return current_app.extensions.get("scanner") is not None
