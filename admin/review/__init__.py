"""Review: the queue, one submission with its history, the decisions and the files."""

from admin.review import views  # noqa: F401  (imported for its routes)
from admin.review.forms import DECISION_BY_SLUG
from admin.review.queries import overdue_condition

__all__ = ["DECISION_BY_SLUG", "overdue_condition"]
