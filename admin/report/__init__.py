"""The yearly report on strategic agreements: preview, .docx and CSV."""

from admin.report import views  # noqa: F401  (imported for its routes)
