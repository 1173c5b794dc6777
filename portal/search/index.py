"""What is indexed: ``Publication.search_text``, built from exactly what the public page
shows. The staff side calls :func:`refresh` right after ``workflow.publish``, after
withdrawing (the text of a withdrawn publication is empty) and after editing a
publication; ``flask public reindex`` calls :func:`reindex_all`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from portal.extensions import db
from portal.models import FieldType, InformationRequest, Publication
from portal.policy import public_documents, shown_to_public
from portal.published.answers import public_answers
from portal.search.engines import dialect

log = logging.getLogger(__name__)

# PostgreSQL refuses a tsvector over 1 MB; half a million characters stays well below it.
MAX_INDEX_CHARS = 500_000


def _flatten(value) -> Iterable[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _flatten(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)
    elif value is not None and value != "":
        yield str(value)


def _shown_words(answer) -> Iterable[str]:
    """The words of one public answer as its page shows them: a file answer by its
    documents (indexed with their text, below), measures by the columns the table shows,
    anything else as given."""
    if answer.type == FieldType.FILE.value:
        return
    if answer.type == "measures" and answer.measures:
        for measure in answer.measures:
            yield from _flatten(list(measure.values()))
    elif answer.answered:
        yield from _flatten(answer.raw)


def index_text(publication: Publication) -> str:
    """What the public page of ``publication`` shows, as one text for search.

    The index holds only what the public can read, so that no query (a whole word, a
    prefix, a phrase, an exclusion) can tell anything else: the facts of the page
    (provider and its organisation number, committee and its code, service area,
    registration number, the request answered), the public answers as the page lists them
    (the chosen originals or the publisher's redacted wordings, see
    :func:`portal.published.answers.public_answers`) and the published documents, each by the
    name and text of its public file: the redacted copy where there is one, and only once
    scanned clean. Never the submission's own title (the publisher writes the
    publication's), unpublished answers or files, or the original of a redacted file.
    A withdrawn publication's page shows none of it, so its text is empty.

    Title and summary are indexed from their own columns (with higher weight),
    so they are not repeated here.
    """
    if not shown_to_public(publication):
        return ""
    submission = publication.submission
    parts: list[str] = [
        submission.provider.name,
        submission.provider.org_number,
        submission.committee.name,
        submission.committee.code,
        submission.registration_number or "",
    ]
    if submission.service_area is not None:
        parts.append(submission.service_area.name)
    request: InformationRequest | None = submission.request
    if request is not None:
        parts += [request.title, request.registration_number]
    for answer in public_answers(publication):
        if request is not None:
            parts.append(answer.label)
        parts.extend(_shown_words(answer))
    labels = {f.key: f.label for f in request.fields} if request is not None else {}
    text = "\n".join(p for p in parts if p)
    for document in public_documents(publication):
        budget = MAX_INDEX_CHARS - len(text)
        if budget <= 0:
            break
        heading = [labels.get(document.attachment.slot, ""), document.public_file.display_name]
        text += (
            "\n"
            + "\n".join(h for h in heading if h)
            + "\n"
            + _document_text(document.public_file, budget)
        )
    return text[:MAX_INDEX_CHARS]


def _document_text(attachment, budget: int) -> str:
    from portal.attachments import open_file
    from portal.documents.text import extract
    from storage import StoreError

    try:
        with open_file(attachment) as stream:  # a file released a moment ago included
            return extract(stream, attachment.content_type, max_chars=budget).text
    except StoreError:
        # The page still works; reindexing later (flask public reindex) picks the text up.
        log.warning("document %s missing from the store; indexed without its text", attachment.id)
        return ""


def refresh(publication: Publication) -> Publication:
    """Recompute ``search_text`` of ``publication``; the index follows (trigger/generated)."""
    publication.search_text = index_text(publication)
    db.session.flush()
    return publication


def reindex_all(batch: int = 200) -> int:
    """Recompute the search text of every publication; returns how many. Commits per batch."""
    ids = db.session.scalars(sa.select(Publication.id).order_by(Publication.id)).all()
    for start in range(0, len(ids), batch):
        for publication in db.session.scalars(
            sa.select(Publication).where(Publication.id.in_(ids[start : start + batch]))
        ):
            publication.search_text = index_text(publication)
        db.session.commit()
    if dialect() == "sqlite":
        db.session.execute(
            sa.text("INSERT INTO publication_fts(publication_fts) VALUES ('rebuild')")
        )
        db.session.commit()
    return len(ids)
