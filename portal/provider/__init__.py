"""The provider portal: what a provider's quality manager does every week.

``views`` has the overview, the submissions and their documents, ``answering``
the forms that answer requests and report deviations and action plans,
``organisation`` the colleagues and invitations.
"""

from flask import Blueprint

bp = Blueprint("provider", __name__, url_prefix="/utforare")

from portal.provider import answering, organisation, views  # noqa: E402,F401
