"""The committee's yearly follow-up plan (uppföljningsplan)."""

from admin.plans import views  # noqa: F401  (imported for its routes)
