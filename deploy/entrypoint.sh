#!/bin/sh
# Entrypoint of the app image.
#   serve (the default command): migrate the database, then run gunicorn.
#   anything else is run as given, in the same environment, for example
#     docker compose run --rm app flask --app portal users create --email ... --password-stdin
set -eu

refuse_placeholders() {
    # env.example's placeholders must never reach a running service.
    if env | grep '^PORTAL_' | grep -q 'CHANGE-ME'; then
        echo "entrypoint: a PORTAL_* setting still contains CHANGE-ME from deploy/env.example" >&2
        exit 1
    fi
}

if [ "${1:-serve}" = "serve" ]; then
    refuse_placeholders
    # Migrations run before the first request is served, and a failed migration
    # stops the container (set -e) instead of serving on an old schema. With more
    # than one app container, set MIGRATE_ON_START=no on all but one (Alembic
    # takes no lock) or run the upgrade once with `docker compose run`.
    if [ "${MIGRATE_ON_START:-yes}" = "yes" ]; then
        flask --app portal db upgrade
    fi
    exec gunicorn --config /app/deploy/gunicorn.conf.py
fi

exec "$@"
