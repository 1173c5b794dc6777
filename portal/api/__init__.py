"""Open data: the public JSON and CSV API under /api/v1."""

from flask import Blueprint

from portal.extensions import csrf
from portal.rate_limits import public_search

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
# Every request counts in the client's public budget, shared with the search page.
public_search(bp)

from portal.api import views  # noqa: E402,F401
