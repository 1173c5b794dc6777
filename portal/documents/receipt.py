"""The receipt of a submitted version as a Word document: who, when, what, and the
SHA-256 of every attached file, so the provider can show exactly what the
municipality received."""

from __future__ import annotations

from portal import labels, municipalities
from portal.dates import local
from portal.documents._layout import add_facts, add_table, in_swedish, new_document, to_bytes
from portal.formatting import format_file_size
from portal.models import FieldType, ReviewState, SubmissionKind, SubmissionVersion
from portal.models.base import utcnow
from portal.provider.answers import answer_rows, measures_of

# The columns of the measures table, by their keys in a measure.
MEASURE_COLUMNS = ("description", "owner", "due", "status", "done_on")


def moment(value) -> str:
    """A UTC timestamp as Swedish local time, ``2026-11-23 kl. 14:05``."""
    return local(value).strftime("%Y-%m-%d kl. %H:%M")


@in_swedish
def receipt(version: SubmissionVersion) -> bytes:
    """The receipt of ``version`` (which must be submitted) as .docx bytes."""
    if version.submitted_at is None:
        raise ValueError("only a submitted version has a receipt")
    submission = version.submission
    provider = submission.provider
    municipality = municipalities.current_name()
    submitter = version.submitted_by

    document = new_document(
        title=f"Kvitto {submission.registration_number}",
        committee=submission.committee,
        dated=local(version.submitted_at).date(),
        reference=submission.registration_number,
        subject=submission.title,
    )

    document.add_heading("Kvitto på inlämning", level=1)
    document.add_paragraph(
        f"{municipality} har tagit emot följande från {provider.name}. "
        "Spara kvittot: kontrollsummorna (SHA-256) visar att filerna som kommunen tog emot är "
        "identiska med era."
    )
    what = labels.label(submission.kind)
    if version.number > 1:
        what += f", version {version.number}"
    if submitter is None:
        sent_by = "–"
    elif submitter.name:
        sent_by = f"{submitter.name} <{submitter.email}>"
    else:
        sent_by = submitter.email
    rows = [
        ("Diarienummer", submission.registration_number or "–"),
        ("Ärende", submission.title),
        ("Typ", what),
        ("Nämnd", submission.committee.name),
        ("Utförare", f"{provider.name} ({provider.org_number})"),
        (labels.state_label(ReviewState.SUBMITTED), moment(version.submitted_at)),
        ("Inskickad av", sent_by),
    ]
    if submission.request is not None:
        rows.insert(3, ("Svar på begäran", submission.request.registration_number))
    if submission.deviation is not None:
        rows.insert(3, ("Gäller avvikelse", submission.deviation.registration_number or "–"))
    add_facts(document, rows)

    answers = [r for r in answer_rows(submission, version) if not r.is_file]
    if answers:
        document.add_heading("Lämnade uppgifter", level=2)
        add_facts(document, [(r.label, r.text) for r in answers])
    if submission.kind == SubmissionKind.ACTION_PLAN:
        document.add_heading(str(labels.MEASURES), level=2)
        add_table(
            document,
            [str(labels.MEASURE_FIELDS[key]) for key in MEASURE_COLUMNS],
            (
                [m.description, m.owner, m.due, m.status_label, m.done_on or ""]
                for m in measures_of(version)
            ),
        )
    if version.note:
        document.add_heading("Kommentar till kommunen", level=2)
        document.add_paragraph(version.note)

    document.add_heading("Bifogade filer", level=2)
    if version.attachments:
        add_table(
            document,
            [labels.label(FieldType.FILE), "Storlek", "SHA-256"],
            ([a.display_name, format_file_size(a.size), a.sha256] for a in version.attachments),
            mono={2: 2},  # the 64 hex digits in two lines of 32
        )
    else:
        document.add_paragraph("Inga filer bifogades.")

    document.add_paragraph(f"Kvittot skapades {moment(utcnow())} av Insyn, {municipality}.").runs[
        0
    ].italic = True
    return to_bytes(document)
