"""Publication: choosing what becomes public, the personal-data guard, redacted copies."""

from admin.publication import views  # noqa: F401  (imported for its routes)
