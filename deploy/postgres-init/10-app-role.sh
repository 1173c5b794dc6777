#!/bin/sh
# Run once by the postgres image when the database is first initialised (as the owner,
# POSTGRES_USER). Creates the role the app connects as: it owns nothing and cannot bypass
# row-level security, so each transaction sees only the municipality it names (migration
# 0016_tenancy). The owner runs the migrations; the tables it creates later are granted
# to the app's role by the default privileges below.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
CREATE ROLE insyn_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT
    PASSWORD :'app_password';
GRANT USAGE ON SCHEMA public TO insyn_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO insyn_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO insyn_app;
SQL
