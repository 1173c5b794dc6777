"""Error pages: a clear Swedish message, never a stack trace.

A form whose body is refused while it is read (413: too large a file or form, or files
the upload gate does not let in) is answered here, in one place: the page of a view marked
:func:`shows_form_on_refusal` is shown again, with the message next to the file and what
could be read of the form; any other gets the error page with a way back to the form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import HTTPException, InternalServerError
from wtforms import ValidationError

from portal.extensions import db

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


@dataclass(frozen=True)
class Refusal:
    """Why a form's body was refused, and what of it could be read."""

    message: str
    # The form's fields when the body could be read to its end (only a file was too
    # large) and its CSRF token is valid; None when nothing of it can be trusted or read.
    form: object | None = None
    # The file inputs whose file was too large.
    fields: tuple[str, ...] = ()


def shows_form_on_refusal(render: Callable[[Refusal], object]):
    """Mark a view that takes files: when its body is refused (413), ``render(refusal)``
    shows its form again (with the view's arguments in ``request.view_args``)."""

    def mark(view):
        view.form_on_refusal = render
        return view

    return mark


def _form_again(error: HTTPException, message) -> object | None:
    """The page of the form whose body was refused, or None (then the error page)."""
    from portal.auth.session import session_expired

    view = current_app.view_functions.get(request.endpoint or "")
    render = getattr(view, "form_on_refusal", None)
    if render is None or request.method != "POST" or _wants_json():
        return None
    if not current_user.is_authenticated or session_expired():
        return None
    form = getattr(error, "form", None)
    if form is not None:
        try:
            validate_csrf(form.get("csrf_token"))
        except ValidationError:
            form = None
    refusal = Refusal(str(message), form, tuple(getattr(error, "fields", ())))
    try:
        page = render(refusal)
    except HTTPException:
        return None  # not this user's page (404), or no longer a form: the error page
    if page is None:
        return None
    response = make_response(page)
    response.status_code = 413
    return response


def handle_http_error(error: HTTPException):
    code = error.code or 500
    message = getattr(error, "user_message", None) or MESSAGES.get(code) or error.description
    if isinstance(error, CSRFError):
        message = _l(
            "Formuläret hade gått ut eller saknade säkerhetskod. Ladda om sidan och försök igen."
        )
    if code == 413 and (page := _form_again(error, message)) is not None:
        return page
    if _wants_json():
        response = jsonify(error=str(message), status=code)
    else:
        # After a refused form: back to the form's page (without its upload token).
        rule = request.url_rule
        back = (
            request.path
            if code == 413 and request.method == "POST" and rule and "GET" in rule.methods
            else None
        )
        response = make_response(
            render_template("errors/error.html", code=code, message=message, back=back)
        )
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
