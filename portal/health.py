"""Health endpoints for the load balancer and the operator."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from portal.extensions import db, limiter
from portal.jobs.status import queue_status

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Database, storage, scanner and background jobs, one entry each: 503 when any is
    down; ``degraded`` (still 200) when the jobs lag behind or some failed."""
    checks = {
        "database": _check(_database),
        "storage": _check(lambda: current_app.extensions["store"].ping()),
        "scanner": _scanner_check(),
    }
    checks["jobs"] = _check(lambda: queue_status().summary())
    states = {c["status"] for c in checks.values()}
    if "down" in states:
        return jsonify(status="unavailable", checks=checks), 503
    return jsonify(status="degraded" if "degraded" in states else "ok", checks=checks), 200


def _database() -> dict:
    """Reachable; in production on PostgreSQL also: the app's role cannot bypass the
    row-level security that keeps municipalities apart (superuser, BYPASSRLS, owner)."""
    db.session.execute(sa.text("SELECT 1"))
    if current_app.config["PORTAL_ENV"] != "production" or db.engine.dialect.name != "postgresql":
        return {"status": "ok"}
    bypasses = db.session.execute(
        sa.text(
            "SELECT r.rolsuper OR r.rolbypassrls OR EXISTS (SELECT 1 FROM pg_tables t "
            "WHERE t.schemaname = 'public' AND t.tableowner = current_user) "
            "FROM pg_roles r WHERE r.rolname = current_user"
        )
    ).scalar()
    if bypasses:
        return {
            "status": "degraded",
            "detail": "the database role bypasses row-level security (superuser, BYPASSRLS "
            "or owner): municipalities are kept apart by the code only",
        }
    return {"status": "ok"}


def _scanner_check() -> dict:
    scanner = current_app.extensions["scanner"]
    if scanner is None:
        return {"status": "disabled", "detail": "PORTAL_CLAMD_URL not set (development)"}
    return _check(scanner.ping)


def _check(probe) -> dict:
    """``ok``, or the probe's own report (a dict), or ``down`` with the reason."""
    try:
        outcome = probe()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported as such
        db.session.rollback()
        return {"status": "down", "detail": f"{type(exc).__name__}: {exc}"[:300]}
    return outcome if isinstance(outcome, dict) else {"status": "ok"}
