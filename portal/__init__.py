"""Insyn: follow-up of municipal service providers. ``create_app`` builds the Flask app."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import (
    Flask,
    abort,
    current_app,
    g,
    has_request_context,
    request,
    send_from_directory,
    session,
)
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import storage
from portal import config as portal_config
from portal import jobs, tenancy_web
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate
from portal.models.base import MAX_ID
from portal.urls import this_page, url_with

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("sv", "en")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app from the environment, overridden by ``test_config`` in tests."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("PORTAL_INSTANCE_PATH", str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
    )
    app.config.from_mapping(portal_config.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    tenancy_web.init_app(app)
    if hops := app.config["PROXY_HOPS"]:
        # The client's address and the scheme from the proxies in front; never the host
        # (a common proxy set-up passes on whatever the client sent, and no link is built
        # from it anyway: see portal.urls).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(ROOT / "translations"),
    )
    login_manager.init_app(app)
    from portal.policy import may_send_files

    storage.init_app(app, upload_gate=may_send_files)
    jobs.init_app(app)

    from admin import views as admin_views
    from portal import api, auth, cli, errors, health, provider, public

    app.url_map.converters["int"] = RecordIdConverter

    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(provider.bp)
    app.register_blueprint(admin_views.bp)
    auth.init_app(app)
    errors.init_app(app)
    cli.init_app(app)

    from portal import formatting, labels

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals["state_label"] = labels.state_label
    app.jinja_env.globals["L"] = labels
    app.jinja_env.filters.update(formatting.template_filters())
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["this_page"] = this_page
    app.jinja_env.globals["scanning_enabled"] = storage.scanning_enabled
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    app.before_request(_make_csp_nonce)
    app.before_request(_remember_language)
    app.before_request(_refuse_nul)
    app.after_request(_security_headers)
    app.context_processor(lambda: {"current_locale": str(get_locale()), "locales": LOCALES})
    return app


class RecordIdConverter(IntegerConverter):
    """``<int:…>`` in every route: a number no id column can hold is a 404, not a database
    error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _favicon():
    """Browsers and feed readers ask for ``/favicon.ico`` whatever the page links to."""
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


def _select_locale() -> str:
    if not has_request_context():
        return "sv"
    chosen = request.args.get("lang") or session.get("lang")
    return chosen if chosen in LOCALES else "sv"


def _remember_language() -> None:
    """``?lang=en`` on any page: shareable, and kept for the following pages."""
    lang = request.args.get("lang")
    if lang in LOCALES and session.get("lang") != lang:
        session["lang"] = lang


def _make_csp_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def _refuse_nul() -> None:
    """400 for a NUL in a posted field: no browser sends one, PostgreSQL cannot store one,
    and a stored one would break exports and searches later. (Queries are only read, and
    search drops control characters itself.)"""
    if request.method in ("POST", "PUT", "PATCH") and any(
        "\x00" in value for values in request.form.listvalues() for value in values
    ):
        abort(400)


def _security_headers(response):
    nonce = g.get("csp_nonce", "")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        private = "_user_id" in session
        response.headers.setdefault("Cache-Control", "no-store" if private else "no-cache")
    if current_app.config["PORTAL_ENV"] == "production":
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    return response
