"""many municipalities in one installation: municipality_id on every municipal row, row-level
security on PostgreSQL

Revision ID: 0016_tenancy
Revises: 0015_upload_keys
Create Date: 2026-12-05 19:00:00

A new ``municipality`` table. If the database holds data, it all belongs to one
municipality, created here with the name of ``PORTAL_MUNICIPALITY`` and the slug of
``PORTAL_MUNICIPALITY_SLUG`` (else derived from the name: "Exempelby kommun" → exempelby).

Every municipal table gains ``municipality_id``. Provider organisations and their users
become national (NULL), except in-house units and their users; staff, all audit events and
all mail belong to the municipality. Registration numbers, committee codes and names,
service area names and settings become unique per municipality.

On PostgreSQL each such table gets row-level security keyed by the transaction's
``app.municipality`` (set by portal.tenancy): a connection whose role does not bypass RLS
sees no row of a municipality it has not named. The facet triggers copy the municipality;
the one that follows a national provider's ownership into every municipality's facets runs
as its owner (SECURITY DEFINER), which must bypass RLS.

SQLite rebuilds the tables (batch mode) with foreign keys off and its triggers taken out
and put back, then checks every reference (PRAGMA foreign_key_check).

The downgrade refuses when more than one municipality exists.
"""

import logging
import os
import re
import unicodedata
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0016_tenancy"
down_revision = "0015_upload_keys"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

TENANT = (
    "committee",
    "service_area",
    "agreement",
    "follow_up_plan",
    "follow_up_item",
    "information_request",
    "request_field",
    "registration_counter",
    "submission",
    "submission_version",
    "attachment",
    "review_event",
    "finding",
    "publication",
    "published_document",
    "publication_facet",
    "reminder_sent",
    "creation_key",
)
SHARED = ("provider", "user", "invitation", "job_failure")  # NULL: national, seen everywhere
STRICT = ("audit_event", "outbound_mail")  # NULL: national, seen only nationally
# (table, constraint name, old columns): unique per municipality from now on.
UNIQUE = (
    ("committee", "uq_committee_code", ["code"]),
    ("committee", "uq_committee_name", ["name"]),
    ("service_area", "uq_service_area_name", ["name"]),
    ("information_request", "uq_information_request_registration_number", ["registration_number"]),
    ("submission", "uq_submission_registration_number", ["registration_number"]),
)
NEW_UNIQUE = {"uq_information_request_registration_number": "uq_request_registration_number"}

SETTING = "NULLIF(current_setting('app.municipality', true), '')::int"
POLICIES = {
    **{t: f"municipality_id = {SETTING}" for t in (*TENANT, "setting")},
    **{t: f"municipality_id IS NULL OR municipality_id = {SETTING}" for t in SHARED},
    **{t: f"municipality_id IS NOT DISTINCT FROM {SETTING}" for t in STRICT},
    "user_committee": "EXISTS (SELECT 1 FROM committee c WHERE c.id = committee_id)",
}

FACET_COLUMNS = (
    "municipality_id, publication_id, state, published_at, year, committee_id, "
    "service_area_id, provider_id, kind, ownership"
)
PG_FUNCTIONS = {
    "publication_facet_sync": f"""
        CREATE OR REPLACE FUNCTION publication_facet_sync() RETURNS trigger AS $$
        BEGIN
            INSERT INTO publication_facet ({FACET_COLUMNS})
            SELECT NEW.municipality_id, NEW.id, NEW.state, NEW.published_at,
                   extract(year FROM NEW.published_at AT TIME ZONE 'Europe/Stockholm')::int,
                   s.committee_id, s.service_area_id, s.provider_id, s.kind, p.ownership
            FROM submission s JOIN provider p ON p.id = s.provider_id
            WHERE s.id = NEW.submission_id
            ON CONFLICT (publication_id) DO UPDATE SET
                state = EXCLUDED.state, published_at = EXCLUDED.published_at,
                year = EXCLUDED.year, committee_id = EXCLUDED.committee_id,
                service_area_id = EXCLUDED.service_area_id,
                provider_id = EXCLUDED.provider_id, kind = EXCLUDED.kind,
                ownership = EXCLUDED.ownership;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql""",
    # A national provider's ownership shows in the facets of every municipality it serves:
    # the update runs as the function's owner, past the row-level security of the caller.
    "publication_facet_from_provider": """
        CREATE OR REPLACE FUNCTION publication_facet_from_provider() RETURNS trigger AS $$
        BEGIN
            UPDATE public.publication_facet SET ownership = NEW.ownership
            WHERE provider_id = NEW.id;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public""",
}
OLD_PG_FUNCTIONS = {
    "publication_facet_sync": PG_FUNCTIONS["publication_facet_sync"]
    .replace(FACET_COLUMNS, FACET_COLUMNS.removeprefix("municipality_id, "))
    .replace("NEW.municipality_id, NEW.id", "NEW.id"),
    "publication_facet_from_provider": """
        CREATE OR REPLACE FUNCTION publication_facet_from_provider() RETURNS trigger AS $$
        BEGIN
            UPDATE publication_facet SET ownership = NEW.ownership WHERE provider_id = NEW.id;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql SECURITY INVOKER""",
}
# New Year is always CET (UTC+1) in Sweden, so one hour gives the Swedish year.
SQLITE_FACET_ROW = f"""
    INSERT OR REPLACE INTO publication_facet ({FACET_COLUMNS})
    SELECT new.municipality_id, new.id, new.state, new.published_at,
           CAST(strftime('%Y', new.published_at, '+1 hours') AS INTEGER),
           s.committee_id, s.service_area_id, s.provider_id, s.kind, p.ownership
    FROM submission s JOIN provider p ON p.id = s.provider_id
    WHERE s.id = new.submission_id;"""
SQLITE_FACET_TRIGGERS = {
    "publication_facet_insert": "AFTER INSERT ON publication",
    "publication_facet_update": "AFTER UPDATE OF state, published_at, submission_id ON publication",
}


def _slug(name: str) -> str:
    words = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"\b(kommun|stad|municipality)\b", "", words)
    slug = re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:40]
    return slug if re.fullmatch(r"[a-z][a-z0-9-]{1,39}", slug) else "kommun"


def _configured_name() -> str:
    try:
        from flask import current_app

        return current_app.config["MUNICIPALITY"]
    except (ImportError, RuntimeError, KeyError):
        return os.environ.get("PORTAL_MUNICIPALITY", "Exempelby kommun")


def _holds_data(bind) -> bool:
    return any(
        bind.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first()
        for table in (*TENANT, *SHARED, *STRICT, "setting")
    )


@contextmanager
def _sqlite_rebuilds():
    """SQLite: foreign keys off and the triggers out while tables are rebuilt; the
    triggers back (the facet ones in their new form) and every reference checked after."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    triggers = bind.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    ).all()
    context = op.get_context()
    with context.autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        for name, _sql in triggers:
            op.execute(f'DROP TRIGGER "{name}"')
        yield triggers
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"references broken by the rebuild: {broken[:10]}")
    except BaseException:
        bind.invalidate()  # never back to the pool with foreign keys off
        raise
    with context.autocommit_block():
        op.execute("PRAGMA foreign_keys=ON")


def upgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    op.create_table(
        "municipality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_number", sa.String(length=11), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("postal_address", sa.String(length=300), nullable=True),
        sa.Column("website", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality")),
        sa.UniqueConstraint("name", name=op.f("uq_municipality_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_municipality_slug")),
    )
    existing = None
    if _holds_data(bind):
        name = _configured_name()
        slug = os.environ.get("PORTAL_MUNICIPALITY_SLUG") or _slug(name)
        existing = bind.execute(
            sa.text(
                "INSERT INTO municipality (slug, name, active, created_at) "
                "VALUES (:slug, :name, true, CURRENT_TIMESTAMP) RETURNING id"
            ),
            {"slug": slug, "name": name},
        ).scalar_one()
        log.info(
            "all data now belongs to %s (%s); a site of its own: "
            "PORTAL_MUNICIPALITY_URLS=%s=https://<its host>",
            name,
            slug,
            slug,
        )

    with _sqlite_rebuilds() as sqlite_triggers:
        for table in (*TENANT, *STRICT, *SHARED):
            # A constant default fills the rows without an UPDATE (which audit_event's
            # append-only trigger would refuse); then the default goes.
            default = existing if table not in SHARED else None
            with op.batch_alter_table(table) as batch:
                batch.add_column(
                    sa.Column(
                        "municipality_id",
                        sa.Integer(),
                        nullable=True,
                        server_default=None if default is None else sa.text(str(default)),
                    )
                )
            with op.batch_alter_table(table) as batch:
                batch.alter_column(
                    "municipality_id",
                    existing_type=sa.Integer(),
                    nullable=table not in TENANT,
                    server_default=None,
                )
                batch.create_foreign_key(
                    batch.f(f"fk_{table}_municipality_id_municipality"),
                    "municipality",
                    ["municipality_id"],
                    ["id"],
                )
                batch.create_index(
                    batch.f(f"ix_{table}_municipality_id"), ["municipality_id"], unique=False
                )
        if existing is not None:
            _classify_shared(existing)
        for table, name, columns in UNIQUE:
            with op.batch_alter_table(table) as batch:
                batch.drop_constraint(name, type_="unique")
                batch.create_unique_constraint(
                    NEW_UNIQUE.get(name, name), ["municipality_id", *columns]
                )
        with op.batch_alter_table("publication_facet") as batch:
            batch.drop_index("ix_publication_facet_browse")
            batch.create_index(
                "ix_publication_facet_browse",
                ["municipality_id", "state", "published_at", "publication_id"],
                unique=False,
            )
        _setting_per_municipality(existing)
        if sqlite_triggers is not None:
            _restore_sqlite_triggers(sqlite_triggers, new_facets=True)

    if postgresql:
        for statement in PG_FUNCTIONS.values():
            op.execute(statement)
        for table, rule in POLICIES.items():
            op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
            op.execute(
                f'CREATE POLICY tenant_isolation ON "{table}" USING ({rule}) WITH CHECK ({rule})'
            )


def _classify_shared(municipality_id: int) -> None:
    """Staff and in-house units (with their users and invitations) stay local."""
    op.execute(
        f"UPDATE provider SET municipality_id = {municipality_id} WHERE ownership = 'in_house'"
    )
    op.execute(
        f'UPDATE "user" SET municipality_id = {municipality_id} '
        "WHERE role NOT IN ('provider_user', 'provider_admin') OR provider_id IN "
        "(SELECT id FROM provider WHERE municipality_id IS NOT NULL)"
    )
    op.execute(
        f"UPDATE invitation SET municipality_id = {municipality_id} WHERE provider_id IN "
        "(SELECT id FROM provider WHERE municipality_id IS NOT NULL)"
    )


def _setting_per_municipality(existing: int | None) -> None:
    rows = op.get_bind().exec_driver_sql("SELECT key, value FROM setting").all()
    op.drop_table("setting")
    setting = op.create_table(
        "setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_setting_municipality_id_municipality"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setting")),
        sa.UniqueConstraint("municipality_id", "key", name="uq_setting_key"),
    )
    op.create_index(op.f("ix_setting_municipality_id"), "setting", ["municipality_id"])
    if rows and existing is not None:
        op.bulk_insert(
            setting, [{"key": k, "value": v, "municipality_id": existing} for k, v in rows]
        )


def _restore_sqlite_triggers(triggers, *, new_facets: bool) -> None:
    facet_sql = SQLITE_FACET_ROW if new_facets else _old_facet_row()
    for name, sql in triggers:
        if name in SQLITE_FACET_TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} {SQLITE_FACET_TRIGGERS[name]} BEGIN{facet_sql} END")
        else:
            op.execute(sql)


def _old_facet_row() -> str:
    return SQLITE_FACET_ROW.replace(
        FACET_COLUMNS, FACET_COLUMNS.removeprefix("municipality_id, ")
    ).replace("new.municipality_id, new.id", "new.id")


def downgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    count = bind.exec_driver_sql("SELECT count(*) FROM municipality").scalar_one()
    if count > 1:
        raise RuntimeError(f"{count} municipalities: a single-municipality schema cannot hold them")
    if postgresql:
        for table in POLICIES:
            op.execute(f'DROP POLICY tenant_isolation ON "{table}"')
            op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
        for statement in OLD_PG_FUNCTIONS.values():
            op.execute(statement)
    with _sqlite_rebuilds() as sqlite_triggers:
        rows = bind.exec_driver_sql("SELECT key, value FROM setting").all()
        op.drop_table("setting")
        setting = op.create_table(
            "setting",
            sa.Column("key", sa.String(length=64), nullable=False),
            sa.Column("value", sa.String(length=500), nullable=False),
            sa.PrimaryKeyConstraint("key", name=op.f("pk_setting")),
        )
        if rows:
            op.bulk_insert(setting, [{"key": k, "value": v} for k, v in rows])
        with op.batch_alter_table("publication_facet") as batch:
            batch.drop_index("ix_publication_facet_browse")
            batch.create_index(
                "ix_publication_facet_browse",
                ["state", "published_at", "publication_id"],
                unique=False,
            )
        for table, name, columns in UNIQUE:
            with op.batch_alter_table(table) as batch:
                batch.drop_constraint(NEW_UNIQUE.get(name, name), type_="unique")
                batch.create_unique_constraint(name, columns)
        for table in (*TENANT, *STRICT, *SHARED):
            with op.batch_alter_table(table) as batch:
                batch.drop_index(batch.f(f"ix_{table}_municipality_id"))
                batch.drop_constraint(
                    batch.f(f"fk_{table}_municipality_id_municipality"), type_="foreignkey"
                )
                batch.drop_column("municipality_id")
        if sqlite_triggers is not None:
            _restore_sqlite_triggers(sqlite_triggers, new_facets=False)
    op.drop_table("municipality")
