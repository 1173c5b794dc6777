"""Staff pages. ``bp`` is the blueprint the app factory registers at /handlaggare.

The pages live in one module per area; importing them here registers their routes:
registry (committees, service areas, providers, agreements), plans (follow-up plans),
requests (information requests and letters), review (queue, submission,
decisions, files), findings, publication (personal-data guard, redacted copies,
withdrawal), report (yearly report on strategic agreements), dashboard (start
page), audit_log, staff (staff accounts, a package: views, forms, operations) and
jobs (background jobs: the queue, failures, "Kör igen").
"""

from __future__ import annotations

from admin import (  # noqa: F401  (imported for their routes)
    audit_log,
    dashboard,
    findings,
    jobs,
    plans,
    publication,
    registry,
    report,
    requests,
    review,
    staff,
)
from admin.blueprint import bp

__all__ = ["bp"]
