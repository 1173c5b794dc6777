"""public search indexes only what the public page shows: rebuild every publication's text

Revision ID: 0009_public_index_public_text
Revises: 0008_totp_replay
Create Date: 2026-12-05 09:00:00

``publication.search_text`` (which the PostgreSQL search vector and the SQLite FTS5 table
follow) used to include the submission's own title, which the publisher may have
replaced in the publication's title to hide a name, and the raw values of public answers
that the page does not show (a file answer's value, a measure's other keys, answers to
keys that are no request field). Anyone could find the hidden words with ``?q=``, letter
by letter with prefixes. This revision recomputes the text of every row as
``portal.search.index_text`` now does: only what the public page shows, and nothing for a
withdrawn publication.

The computation is frozen here (tables read with plain SQL), so that later changes to the
models cannot break this revision. Documents are read again from the object store; one
that cannot be read is indexed without its text, as ``flask public reindex`` does, which
can be run later to pick it up. The downgrade leaves the text as it is: the old text was
the leak.
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0009_public_index_public_text"
down_revision = "0008_totp_replay"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# As in portal.search.
MAX_INDEX_CHARS = 500_000
BATCH = 200
# portal.published.answers.REPORT_FIELDS: the order of a report's answers, and their types.
REPORT_FIELDS = {
    "category": "choice",
    "severity": "choice",
    "occurred_on": "date",
    "description": "text",
    "immediate_measures": "text",
    "measures": "measures",
}
# The columns of a measure that the page shows.
SHOWN_MEASURE_KEYS = ("description", "owner", "due", "status", "done_on")

publication = sa.table(
    "publication",
    sa.column("id", sa.Integer),
    sa.column("submission_id", sa.Integer),
    sa.column("state", sa.String),
    sa.column("answer_keys", sa.JSON),
    sa.column("redacted_answers", sa.JSON),
    sa.column("search_text", sa.Text),
)
submission = sa.table(
    "submission",
    sa.column("id", sa.Integer),
    sa.column("provider_id", sa.Integer),
    sa.column("committee_id", sa.Integer),
    sa.column("service_area_id", sa.Integer),
    sa.column("request_id", sa.Integer),
    sa.column("registration_number", sa.String),
)
provider = sa.table(
    "provider", sa.column("id", sa.Integer), sa.column("name"), sa.column("org_number")
)
committee = sa.table("committee", sa.column("id", sa.Integer), sa.column("name"), sa.column("code"))
service_area = sa.table("service_area", sa.column("id", sa.Integer), sa.column("name"))
information_request = sa.table(
    "information_request",
    sa.column("id", sa.Integer),
    sa.column("title"),
    sa.column("registration_number"),
)
request_field = sa.table(
    "request_field",
    sa.column("id", sa.Integer),
    sa.column("request_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("label"),
    sa.column("type"),
)
submission_version = sa.table(
    "submission_version",
    sa.column("submission_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("submitted_at"),
    sa.column("answers", sa.JSON),
)
published_document = sa.table(
    "published_document",
    sa.column("id", sa.Integer),
    sa.column("publication_id", sa.Integer),
    sa.column("attachment_id", sa.Integer),
    sa.column("redacted_id", sa.Integer),
)
attachment = sa.table(
    "attachment",
    sa.column("id", sa.Integer),
    sa.column("slot"),
    sa.column("sha256"),
    sa.column("content_type"),
    sa.column("display_name"),
    sa.column("scan_status"),
)


def _flatten(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _flatten(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)
    elif value is not None and value != "":
        yield str(value)


def _words(field_type: str, raw):
    if field_type == "file":
        return
    measures = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
    if field_type == "measures" and measures:
        for measure in measures:
            yield from _flatten([measure.get(key) for key in SHOWN_MEASURE_KEYS])
    else:
        yield from _flatten(raw)


class _Documents:
    """The text of stored files, read as the app reads them; None when it cannot."""

    def __init__(self):
        self.unread = 0
        self._store = None

    def text(self, document, budget: int) -> str:
        try:
            from portal.documents.text import extract
            from storage import current_store

            if self._store is None:
                self._store = current_store()
            with self._store.get(f"clean/{document.sha256}") as stream:
                return extract(stream, document.content_type, max_chars=budget).text
        except Exception as exc:  # the migration goes on; `flask public reindex` retries
            self.unread += 1
            log.warning(
                "document %s not readable (%s); indexed without its text", document.file_id, exc
            )
            return ""


def _batch(connection, ids: list[int], documents: _Documents) -> dict[int, str]:
    rows = connection.execute(
        sa.select(
            publication.c.id,
            publication.c.state,
            publication.c.answer_keys,
            publication.c.redacted_answers,
            publication.c.search_text,
            submission.c.id.label("submission_id"),
            submission.c.registration_number,
            submission.c.request_id,
            provider.c.name.label("provider_name"),
            provider.c.org_number,
            committee.c.name.label("committee_name"),
            committee.c.code,
            service_area.c.name.label("area_name"),
            information_request.c.title.label("request_title"),
            information_request.c.registration_number.label("request_number"),
        )
        .select_from(
            publication.join(submission, submission.c.id == publication.c.submission_id)
            .join(provider, provider.c.id == submission.c.provider_id)
            .join(committee, committee.c.id == submission.c.committee_id)
            .outerjoin(service_area, service_area.c.id == submission.c.service_area_id)
            .outerjoin(information_request, information_request.c.id == submission.c.request_id)
        )
        .where(publication.c.id.in_(ids))
    ).all()

    answers: dict[int, dict] = {}  # submission id -> answers of the last submitted version
    for version in connection.execute(
        sa.select(submission_version.c.submission_id, submission_version.c.answers)
        .where(
            submission_version.c.submission_id.in_([r.submission_id for r in rows]),
            submission_version.c.submitted_at.is_not(None),
        )
        .order_by(submission_version.c.submission_id, submission_version.c.number)
    ):
        answers[version.submission_id] = dict(version.answers or {})

    fields: dict[int, list] = {}
    for f in connection.execute(
        sa.select(request_field)
        .where(request_field.c.request_id.in_([r.request_id for r in rows if r.request_id]))
        .order_by(request_field.c.request_id, request_field.c.position)
    ):
        fields.setdefault(f.request_id, []).append(f)

    original = attachment.alias("original")
    public = attachment.alias("public")
    files: dict[int, list] = {}
    for d in connection.execute(
        sa.select(
            published_document.c.publication_id,
            original.c.slot,
            public.c.id.label("file_id"),
            public.c.sha256,
            public.c.content_type,
            public.c.display_name,
        )
        .join(original, original.c.id == published_document.c.attachment_id)
        .join(
            public,
            public.c.id
            == sa.func.coalesce(
                published_document.c.redacted_id, published_document.c.attachment_id
            ),
        )
        .where(published_document.c.publication_id.in_(ids), public.c.scan_status == "clean")
        .order_by(published_document.c.id)
    ):
        files.setdefault(d.publication_id, []).append(d)

    texts = {}
    for row in rows:
        if row.state != "published":
            texts[row.id] = ""
            continue
        approved = answers.get(row.submission_id, {})
        shown = {k: approved[k] for k in row.answer_keys or [] if k in approved}
        shown.update(row.redacted_answers or {})
        documents_of = files.get(row.id, [])
        parts = [
            row.provider_name,
            row.org_number,
            row.committee_name,
            row.code,
            row.registration_number or "",
        ]
        if row.area_name is not None:
            parts.append(row.area_name)
        labels = {}
        if row.request_id is not None:
            parts += [row.request_title, row.request_number]
            for f in fields.get(row.request_id, []):
                key = f"f{f.id}"
                labels[key] = f.label
                with_files = f.type == "file" and any(d.slot == key for d in documents_of)
                if key not in shown and not with_files:
                    continue
                parts.append(f.label)
                parts.extend(_words(f.type, shown.get(key)))
        else:
            order = list(REPORT_FIELDS)
            for key in sorted(shown, key=lambda k: order.index(k) if k in order else len(order)):
                parts.extend(_words(REPORT_FIELDS.get(key, "text"), shown[key]))
        text = "\n".join(p for p in parts if p)
        for d in documents_of:
            budget = MAX_INDEX_CHARS - len(text)
            if budget <= 0:
                break
            heading = [labels.get(d.slot, ""), d.display_name]
            text += "\n" + "\n".join(h for h in heading if h) + "\n" + documents.text(d, budget)
        texts[row.id] = text[:MAX_INDEX_CHARS]
    return {row.id: texts[row.id] for row in rows if texts[row.id] != (row.search_text or "")}


def rebuild(connection) -> int:
    """Recompute the search text of every publication; returns how many rows changed."""
    ids = connection.scalars(sa.select(publication.c.id).order_by(publication.c.id)).all()
    documents = _Documents()
    changed = 0
    for start in range(0, len(ids), BATCH):
        for ident, text in _batch(connection, ids[start : start + BATCH], documents).items():
            connection.execute(
                publication.update().where(publication.c.id == ident).values(search_text=text)
            )
            changed += 1
    if ids:
        log.info("search text rebuilt: %d of %d publications changed", changed, len(ids))
    if documents.unread:
        log.warning(
            "%d documents could not be read and are indexed without their text; "
            "run `flask public reindex` once the object store is reachable",
            documents.unread,
        )
    return changed


def upgrade():
    rebuild(op.get_bind())


def downgrade():
    # Nothing to undo: the text of the previous revision held what the page did not show.
    pass
