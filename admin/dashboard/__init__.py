"""The staff start page: open work per committee, with charts."""

from admin.dashboard import views  # noqa: F401  (imported for its routes)
from admin.dashboard.queries import Figures, figures

__all__ = ["Figures", "figures"]
