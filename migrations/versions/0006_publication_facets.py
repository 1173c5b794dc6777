"""publication facets: a narrow table for public search, kept by triggers; PostgreSQL keeps
the wide search columns of publication out of line

Revision ID: 0006_publication_facets
Revises: 0005_staff_indexes
Create Date: 2026-11-23 13:30:00

Browsing and counting 100 000 publications joined three wide tables per request;
publication_facet holds what the public search filters, sorts and counts by, one
row per publication, written by triggers on publication (insert, state,
publication date), submission (committee, service area, provider, kind) and
provider (ownership). On PostgreSQL, publication's search text and vector move
out of line (toast_tuple_target), so scans of its heap stay small.
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_publication_facets"
down_revision = "0005_staff_indexes"
branch_labels = None
depends_on = None

PG_FUNCTIONS = {
    "publication_facet_sync": """
        CREATE FUNCTION publication_facet_sync() RETURNS trigger AS $$
        BEGIN
            INSERT INTO publication_facet (publication_id, state, published_at, year,
                committee_id, service_area_id, provider_id, kind, ownership)
            SELECT NEW.id, NEW.state, NEW.published_at,
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
    "publication_facet_from_submission": """
        CREATE FUNCTION publication_facet_from_submission() RETURNS trigger AS $$
        BEGIN
            UPDATE publication_facet f SET
                committee_id = NEW.committee_id, service_area_id = NEW.service_area_id,
                provider_id = NEW.provider_id, kind = NEW.kind,
                ownership = (SELECT ownership FROM provider WHERE id = NEW.provider_id)
            FROM publication p
            WHERE p.submission_id = NEW.id AND f.publication_id = p.id;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql""",
    "publication_facet_from_provider": """
        CREATE FUNCTION publication_facet_from_provider() RETURNS trigger AS $$
        BEGIN
            UPDATE publication_facet SET ownership = NEW.ownership WHERE provider_id = NEW.id;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql""",
}
PG_TRIGGERS = {
    "publication_facet_sync": "AFTER INSERT OR UPDATE OF state, published_at, submission_id "
                              "ON publication",
    "publication_facet_from_submission": "AFTER UPDATE OF committee_id, service_area_id, "
                                         "provider_id, kind ON submission",
    "publication_facet_from_provider": "AFTER UPDATE OF ownership ON provider",
}

# New Year is always CET (UTC+1) in Sweden, so one hour gives the Swedish year.
SQLITE_ROW = """
    INSERT OR REPLACE INTO publication_facet (publication_id, state, published_at, year,
        committee_id, service_area_id, provider_id, kind, ownership)
    SELECT new.id, new.state, new.published_at,
           CAST(strftime('%Y', new.published_at, '+1 hours') AS INTEGER),
           s.committee_id, s.service_area_id, s.provider_id, s.kind, p.ownership
    FROM submission s JOIN provider p ON p.id = s.provider_id
    WHERE s.id = new.submission_id;"""
SQLITE_TRIGGERS = {
    "publication_facet_insert":
        f"CREATE TRIGGER publication_facet_insert AFTER INSERT ON publication BEGIN"
        f"{SQLITE_ROW} END",
    "publication_facet_update":
        f"CREATE TRIGGER publication_facet_update AFTER UPDATE OF state, published_at, "
        f"submission_id ON publication BEGIN{SQLITE_ROW} END",
    "publication_facet_from_submission": """
        CREATE TRIGGER publication_facet_from_submission AFTER UPDATE OF committee_id,
            service_area_id, provider_id, kind ON submission BEGIN
            UPDATE publication_facet SET
                committee_id = new.committee_id, service_area_id = new.service_area_id,
                provider_id = new.provider_id, kind = new.kind,
                ownership = (SELECT ownership FROM provider WHERE id = new.provider_id)
            WHERE publication_id IN (SELECT id FROM publication WHERE submission_id = new.id);
        END""",
    "publication_facet_from_provider": """
        CREATE TRIGGER publication_facet_from_provider AFTER UPDATE OF ownership ON provider
        BEGIN
            UPDATE publication_facet SET ownership = new.ownership WHERE provider_id = new.id;
        END""",
}


def upgrade():
    op.create_table(
        "publication_facet",
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("service_area_id", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ownership", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["publication_id"], ["publication.id"],
                                name=op.f("fk_publication_facet_publication_id_publication"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("publication_id", name=op.f("pk_publication_facet")),
    )
    with op.batch_alter_table("publication_facet", schema=None) as batch_op:
        batch_op.create_index("ix_publication_facet_browse",
                              ["state", "published_at", "publication_id"], unique=False)
        batch_op.create_index("ix_publication_facet_provider",
                              ["provider_id", "state", "published_at"], unique=False)
        batch_op.create_index("ix_publication_facet_area",
                              ["service_area_id", "state", "published_at"], unique=False)
        batch_op.create_index("ix_publication_facet_committee",
                              ["committee_id", "state", "published_at"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_FUNCTIONS.values():
            op.execute(statement)
        for name, when in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} FOR EACH ROW EXECUTE FUNCTION {name}()")
        op.execute(
            "INSERT INTO publication_facet SELECT pu.id, pu.state, pu.published_at, "
            "extract(year FROM pu.published_at AT TIME ZONE 'Europe/Stockholm')::int, "
            "s.committee_id, s.service_area_id, s.provider_id, s.kind, p.ownership "
            "FROM publication pu JOIN submission s ON s.id = pu.submission_id "
            "JOIN provider p ON p.id = s.provider_id"
        )
        # Search text and vector out of line: the heap keeps what scans and joins read.
        op.execute("ALTER TABLE publication SET (toast_tuple_target = 128)")
        op.execute("UPDATE publication SET search_text = search_text")
    else:
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)
        op.execute(
            "INSERT INTO publication_facet SELECT pu.id, pu.state, pu.published_at, "
            "CAST(strftime('%Y', pu.published_at, '+1 hours') AS INTEGER), "
            "s.committee_id, s.service_area_id, s.provider_id, s.kind, p.ownership "
            "FROM publication pu JOIN submission s ON s.id = pu.submission_id "
            "JOIN provider p ON p.id = s.provider_id"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE publication RESET (toast_tuple_target)")
        for name, when in PG_TRIGGERS.items():
            table = when.rsplit(" ON ", 1)[1]
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("publication_facet", schema=None) as batch_op:
        batch_op.drop_index("ix_publication_facet_committee")
        batch_op.drop_index("ix_publication_facet_area")
        batch_op.drop_index("ix_publication_facet_provider")
        batch_op.drop_index("ix_publication_facet_browse")
    op.drop_table("publication_facet")
