"""Error pages: a clear Swedish message, never a stack trace."""

from __future__ import annotations

from flask import current_app, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db
from portal.mail import send_queued_after_request

MESSAGES = {
    400: _l("Begäran kunde inte tolkas. Kontrollera uppgifterna och försök igen."),
    403: _l("Du har inte behörighet till sidan."),
    404: _l("Sidan finns inte, eller så har du inte behörighet att se den."),
    405: _l("Det går inte att göra så på den här sidan."),
    413: _l("Filen eller formuläret är för stort."),
    429: _l("För många försök. Vänta en stund och försök igen."),
    500: _l(
        "Något gick fel hos oss. Inget av det du skickade har sparats; försök igen om en stund."
    ),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def handle_http_error(error: HTTPException):
    code = error.code or 500
    message = getattr(error, "user_message", None) or MESSAGES.get(code) or error.description
    if isinstance(error, CSRFError):
        message = _l(
            "Formuläret hade gått ut eller saknade säkerhetskod. Ladda om sidan och försök igen."
        )
    if _wants_json():
        response = jsonify(error=str(message), status=code)
    else:
        response = make_response(render_template("errors/error.html", code=code, message=message))
    response.status_code = code
    # The exception's own headers stay: Retry-After of a 429 (Flask-Limiter sets it after
    # this handler), Allow of a 405.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    if code == 429:
        # One client's refusal must never be served to another from a shared cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def handle_unexpected(error: Exception):
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return handle_http_error(InternalServerError())


def init_app(app) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    if not app.config.get("TESTING") or app.config.get("HANDLE_ERRORS"):
        app.register_error_handler(Exception, handle_unexpected)

    @app.teardown_request
    def _send_mails(exc):
        if exc is None:
            send_queued_after_request()
