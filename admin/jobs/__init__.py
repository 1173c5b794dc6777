"""Background jobs (administrators only): the queue, what failed, and "Kör igen".
``views`` parse and check, :mod:`portal.jobs.operations` runs again and audits (the CLI
does the same), ``queries`` name the jobs in words. Importing the package registers the
routes."""

from admin.jobs import views  # noqa: F401  (imported for its routes)
