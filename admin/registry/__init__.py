"""The registry: committees, service areas, providers and agreements (its routes on import)."""

from admin.registry import views  # noqa: F401  (imported for its routes)
