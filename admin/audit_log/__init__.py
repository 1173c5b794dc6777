"""The audit log: read-only, filtered, exportable. Nothing in the code updates or deletes it."""

from admin.audit_log import views  # noqa: F401  (imported for its routes)
