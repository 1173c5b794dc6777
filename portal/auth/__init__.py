"""Authentication: Flask-Login with argon2id passwords, session versions and TOTP for staff."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from portal.extensions import login_manager

bp = Blueprint("auth", __name__)


def init_app(app) -> None:
    from portal.auth import session

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Logga in för att se sidan.")
    login_manager.login_message_category = "info"
    # Rotation and invalidation are handled by session versions, not by Flask-Login.
    login_manager.session_protection = None
    app.before_request(session.enforce_session_rules)


from portal.auth import views  # noqa: E402,F401
