"""Findings (iakttagelser) on agreements, and the action plans they ask for."""

from admin.findings import views  # noqa: F401  (imported for its routes)
