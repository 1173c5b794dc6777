"""Health endpoints for the load balancer and the operator."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from portal.extensions import db, limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Database, storage and scanner, one entry each; 503 when any is down."""
    checks = {
        "database": _check(lambda: db.session.execute(sa.text("SELECT 1"))),
        "storage": _check(lambda: current_app.extensions["store"].ping()),
        "scanner": _scanner_check(),
    }
    ready = all(c["status"] in ("ok", "disabled") for c in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


def _scanner_check() -> dict:
    scanner = current_app.extensions["scanner"]
    if scanner is None:
        return {"status": "disabled", "detail": "PORTAL_CLAMD_URL not set (development)"}
    return _check(scanner.ping)


def _check(probe) -> dict:
    try:
        probe()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported as such
        db.session.rollback()
        return {"status": "down", "detail": f"{type(exc).__name__}: {exc}"[:300]}
    return {"status": "ok"}
