"""Information requests (begäran om information) and their letters."""

from admin.requests import views  # noqa: F401  (imported for its routes)
