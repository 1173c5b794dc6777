"""public search: PostgreSQL tsvector column with GIN index, SQLite FTS5 table with triggers

Revision ID: 0003_public_search
Revises: 0002
Create Date: 2026-11-23 12:00:00

The objects are not in the SQLAlchemy models (they differ per database);
portal.search hides them from autogenerate (include_object).
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_public_search"
down_revision = "0002"
branch_labels = None
depends_on = None

# Must match portal.search: the same weights and the Swedish configuration.
PG_VECTOR = (
    "setweight(to_tsvector('swedish'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('swedish'::regconfig, coalesce(summary, '')), 'B') || "
    "setweight(to_tsvector('swedish'::regconfig, coalesce(search_text, '')), 'C')"
)

SQLITE_TRIGGERS = {
    "publication_fts_insert": """
        CREATE TRIGGER publication_fts_insert AFTER INSERT ON publication BEGIN
            INSERT INTO publication_fts(rowid, title, summary, search_text)
            VALUES (new.id, new.title, new.summary, new.search_text);
        END""",
    "publication_fts_delete": """
        CREATE TRIGGER publication_fts_delete AFTER DELETE ON publication BEGIN
            INSERT INTO publication_fts(publication_fts, rowid, title, summary, search_text)
            VALUES ('delete', old.id, old.title, old.summary, old.search_text);
        END""",
    "publication_fts_update": """
        CREATE TRIGGER publication_fts_update AFTER UPDATE OF title, summary, search_text
        ON publication BEGIN
            INSERT INTO publication_fts(publication_fts, rowid, title, summary, search_text)
            VALUES ('delete', old.id, old.title, old.summary, old.search_text);
            INSERT INTO publication_fts(rowid, title, summary, search_text)
            VALUES (new.id, new.title, new.summary, new.search_text);
        END""",
}


def upgrade():
    with op.batch_alter_table("publication", schema=None) as batch_op:
        batch_op.create_index("ix_publication_updated_at", ["updated_at"], unique=False)
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index("ix_submission_service_area_id", ["service_area_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE publication ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({PG_VECTOR}) STORED"
        )
        op.execute(
            "CREATE INDEX ix_publication_search_vector ON publication USING gin (search_vector)"
        )
    else:
        # External content: the text lives once, in publication; FTS5 keeps only the index.
        op.execute(
            "CREATE VIRTUAL TABLE publication_fts USING fts5("
            "title, summary, search_text, content='publication', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 0', prefix='3')"
        )
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)
        op.execute("INSERT INTO publication_fts(publication_fts) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_publication_search_vector")
        op.execute("ALTER TABLE publication DROP COLUMN search_vector")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE publication_fts")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_service_area_id")
    with op.batch_alter_table("publication", schema=None) as batch_op:
        batch_op.drop_index("ix_publication_updated_at")
