"""Settings, read only from ``PORTAL_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(RuntimeError):
    """The environment does not describe a runnable portal."""


def from_environment(instance_path: str, environ: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from the environment.

    Defaults give the embedded setup: SQLite and a folder under ``instance/``,
    no virus scanner, no mail server (mails are kept in the outbox).
    """
    env = os.environ if environ is None else environ
    instance = Path(instance_path)
    mode = env.get("PORTAL_ENV", "development")
    if mode not in ("development", "production"):
        raise ConfigError(f"PORTAL_ENV must be development or production, not {mode!r}")
    production = mode == "production"
    secret = env.get("PORTAL_SECRET_KEY")
    if production and not secret:
        raise ConfigError("PORTAL_SECRET_KEY is required when PORTAL_ENV=production")
    if production and not env.get("PORTAL_CLAMD_URL"):
        raise ConfigError("PORTAL_CLAMD_URL is required when PORTAL_ENV=production")
    max_upload_mb = int(env.get("PORTAL_MAX_UPLOAD_MB", "200"))
    base_url = env.get("PORTAL_BASE_URL", "http://127.0.0.1:5000")
    base_host = urlsplit(base_url).hostname
    if not base_host:
        raise ConfigError(f"PORTAL_BASE_URL must be an absolute URL, not {base_url!r}")
    jobs_url = env.get("PORTAL_JOBS_URL", f"sqlite:///{instance / 'jobs.sqlite'}")
    if production and jobs_url.startswith("sqlite:") and env.get("PORTAL_JOBS_ALLOW_SQLITE") != "1":
        raise ConfigError(
            "PORTAL_JOBS_URL must be a redis:// URL when PORTAL_ENV=production "
            "(PORTAL_JOBS_ALLOW_SQLITE=1 for a single host)"
        )
    daily_at = _local_time(env.get("PORTAL_DAILY_AT", "06:00"))
    extra_hosts = [h.strip() for h in env.get("PORTAL_TRUSTED_HOSTS", "").split(",") if h.strip()]
    municipality_urls = _municipality_urls(env.get("PORTAL_MUNICIPALITY_URLS", ""))
    extra_hosts += [urlsplit(url).hostname for url in municipality_urls.values()]
    return {
        "PORTAL_ENV": mode,
        "SECRET_KEY": secret or "development-only-not-secret",
        "SQLALCHEMY_DATABASE_URI": env.get(
            "PORTAL_DATABASE_URL", f"sqlite:///{instance / 'insyn.sqlite'}"
        ),
        # The schema's owner, for migrations, when the app's role may not change it.
        "MIGRATION_DATABASE_URI": env.get("PORTAL_MIGRATION_DATABASE_URL", ""),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "STORAGE_URL": env.get("PORTAL_STORAGE_URL", f"file://{instance / 'files'}"),
        "CLAMD_URL": env.get("PORTAL_CLAMD_URL", ""),
        "CLAMD_TIMEOUT": float(env.get("PORTAL_CLAMD_TIMEOUT", "60")),
        "SMTP_URL": env.get("PORTAL_SMTP_URL", ""),
        "MAIL_FROM": env.get("PORTAL_MAIL_FROM", "insyn@kommun.example"),
        "BASE_URL": base_url,
        # Production answers only for the configured host names (400 for any other Host);
        # development answers for any, as ``flask run`` on a laptop is reached many ways.
        "TRUSTED_HOSTS": [base_host, *extra_hosts] if production else None,
        # How many proxies in front of the app append to X-Forwarded-For and set
        # X-Forwarded-Proto (0: none, and those headers are ignored). X-Forwarded-Host is
        # never read.
        "PROXY_HOPS": int(env.get("PORTAL_PROXY_HOPS", "0")),
        # The municipality that migration 0016_tenancy creates for the data of a
        # single-municipality installation; after that, names live in the database.
        "MUNICIPALITY": env.get("PORTAL_MUNICIPALITY", "Exempelby kommun"),
        # The municipalities' own sites, {slug: base URL}; the others are at BASE_URL/<slug>/.
        "MUNICIPALITY_URLS": municipality_urls,
        # The national site's name (its start page lists the municipalities).
        "INSTALLATION_NAME": env.get("PORTAL_INSTALLATION_NAME", "Insyn"),
        "LETTERHEAD_LOGO": env.get("PORTAL_LETTERHEAD_LOGO", ""),  # PNG/JPEG, in .docx files
        "MAX_UPLOAD_BYTES": max_upload_mb * 1024 * 1024,
        "MAX_FILES_PER_REQUEST": int(env.get("PORTAL_MAX_FILES_PER_REQUEST", "5")),
        "UPLOAD_TMP": env.get("PORTAL_UPLOAD_TMP", str(instance / "upload-tmp")),
        "RATELIMIT_STORAGE_URI": env.get("PORTAL_RATELIMIT_URL", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Explicit: Flask-Limiter otherwise inherits the previous app's setting.
        "RATELIMIT_ENABLED": True,
        # Per client, shared by the search page, the feed and the open-data API.
        "PUBLIC_RATE_LIMIT": env.get("PORTAL_PUBLIC_RATE_LIMIT", "120 per minute"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "SESSION_IDLE_MINUTES": int(env.get("PORTAL_SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(env.get("PORTAL_SESSION_MAX_HOURS", "12")),
        "PASSWORD_RESET_MAX_AGE": 3600,
        "LOGIN_SLOWDOWN_MAX_SECONDS": 3.0,
        "INVITATION_MAX_AGE": 7 * 24 * 3600,
        "BABEL_DEFAULT_LOCALE": "sv",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
        "WTF_CSRF_TIME_LIMIT": None,
        # Background jobs (portal/jobs): the broker, the worker, and the waits and leases
        # of the work it does. See README, "Background jobs".
        "JOBS_URL": jobs_url,
        "JOBS_NAME": env.get("PORTAL_JOBS_NAME", "insyn"),
        "JOBS_WORKERS": int(env.get("PORTAL_JOBS_WORKERS", "4")),
        "JOBS_SHUTDOWN_SECONDS": float(env.get("PORTAL_JOBS_SHUTDOWN_SECONDS", "170")),
        "JOBS_HEARTBEAT": env.get("PORTAL_JOBS_HEARTBEAT", str(instance / "worker.heartbeat")),
        "JOBS_LOST_AFTER_SECONDS": int(env.get("PORTAL_JOBS_LOST_AFTER_SECONDS", "300")),
        "JOBS_DEGRADED_SECONDS": int(env.get("PORTAL_JOBS_DEGRADED_SECONDS", "300")),
        "DAILY_AT": daily_at,
        "SCAN_INLINE_SECONDS": float(env.get("PORTAL_SCAN_INLINE_SECONDS", "3")),
        "SCAN_INLINE_MAX_BYTES": int(env.get("PORTAL_SCAN_INLINE_MAX_MB", "64")) * 1024 * 1024,
        "SCAN_LEASE_SECONDS": int(env.get("PORTAL_SCAN_LEASE_SECONDS", "120")),
        "MAIL_LEASE_SECONDS": int(env.get("PORTAL_MAIL_LEASE_SECONDS", "120")),
        "MAIL_GIVE_UP_DAYS": float(env.get("PORTAL_MAIL_GIVE_UP_DAYS", "3")),
        "RECONCILE_DELETE": env.get("PORTAL_RECONCILE_DELETE", "0") == "1",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
    }


def _local_time(text: str) -> tuple[int, int]:
    """``HH:MM`` of the daily jobs, Stockholm time. 02:00–02:59 is refused: that hour
    does not exist on the spring change and comes twice on the autumn one."""
    try:
        hour, minute = (int(part) for part in text.split(":"))
    except ValueError:
        hour = minute = -1
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ConfigError(f"PORTAL_DAILY_AT must be HH:MM, not {text!r}")
    if hour == 2:
        raise ConfigError("PORTAL_DAILY_AT may not be between 02:00 and 02:59 (daylight saving)")
    return hour, minute


def _municipality_urls(value: str) -> dict[str, str]:
    """``nacka=https://nacka.insyn.example,exempelby=https://insyn.exempelby.se``."""
    urls = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        slug, sep, url = item.partition("=")
        if not sep or not urlsplit(url.strip()).hostname:
            raise ConfigError(
                f"PORTAL_MUNICIPALITY_URLS takes slug=https://host pairs, not {item!r}"
            )
        urls[slug.strip()] = url.strip().rstrip("/")
    return urls
