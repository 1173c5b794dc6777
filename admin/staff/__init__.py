"""Staff accounts (administrators only): ``views`` parse and check, ``operations`` change
and audit, ``forms`` hold the forms. Importing the package registers the routes."""

from admin.staff import views  # noqa: F401  (imported for its routes)
