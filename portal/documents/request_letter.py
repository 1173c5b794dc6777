"""The request letter (begäran om information) as a Word document.

The committee states precisely which information it asks for (the seeds: a
committee that asks a provider for information states exactly what it wants):
every field with its form of answer, whether it is required and whether it is
meant for publication, the instructions, the deadline and how to answer.
Used by the provider portal (download) and by staff (attachment to the request).
"""

from __future__ import annotations

from flask import current_app

from portal import labels, municipalities
from portal.dates import local, today
from portal.documents._layout import add_table, in_swedish, new_document, to_bytes
from portal.extensions import db
from portal.formatting import format_long_date
from portal.models import FieldType, InformationRequest, Provider, SubmissionKind, User

KIND_WORDS = {
    SubmissionKind.TRANSPARENCY_INFO: "uppgifter för uppföljning och allmänhetens insyn",
    SubmissionKind.DEVIATION_REPORT: "en avvikelserapport",
    SubmissionKind.ACTION_PLAN: "en åtgärdsplan",
}


@in_swedish
def request_letter(info_request: InformationRequest, provider: Provider | None = None) -> bytes:
    """The letter for ``provider`` (or for every recipient, when None) as .docx bytes."""
    config = current_app.config
    municipality = municipalities.current_name()
    committee = info_request.committee
    # The letter's date is the day in Stockholm, not in UTC (they differ before 01/02 a.m.).
    issued = local(info_request.created_at).date() if info_request.created_at else today()

    document = new_document(
        title=f"Begäran om information: {info_request.title}",
        committee=committee,
        dated=issued,
        reference=info_request.registration_number,
        subject=info_request.registration_number or "",
    )

    to = document.add_paragraph()
    to.add_run("Till: ").bold = True
    if provider is not None:
        to.add_run(f"{provider.name}, organisationsnummer {provider.org_number}")
    elif info_request.service_area is not None:
        to.add_run(f"Utförarna inom {info_request.service_area.name}")
    else:
        to.add_run("Berörda utförare")

    document.add_heading(f"Begäran om information: {info_request.title}", level=1)
    document.add_paragraph(
        f"Enligt kommunallagen (10 kap. 7–9 §§) ska kommunen följa upp verksamhet som "
        f"utförs på dess uppdrag och se till att allmänheten får insyn i hur den utförs. "
        f"{committee.name} begär därför {KIND_WORDS[info_request.kind]} enligt nedan."
    )
    if info_request.agreement is not None:
        document.add_paragraph(
            f"Begäran gäller avtal {info_request.agreement.reference} "
            f"({info_request.agreement.service_area.name})."
        )
    deadline = document.add_paragraph()
    deadline.add_run("Svara senast: ").bold = True
    day = info_request.deadline
    deadline.add_run(f"{format_long_date(day)} ({day.isoformat()})")

    if info_request.instructions:
        document.add_heading("Anvisningar", level=2)
        for paragraph in info_request.instructions.splitlines():
            if paragraph.strip():
                document.add_paragraph(paragraph.strip())

    document.add_heading("Uppgifter som ska lämnas", level=2)
    rows = []
    for number, field in enumerate(info_request.fields, 1):
        answer_form = labels.label(field.type)
        if field.unit and field.type == FieldType.NUMBER:
            answer_form = f"{answer_form} ({field.unit})"
        rows.append(
            [
                str(number),
                (field.label, field.help_text),
                answer_form,
                labels.yes_no(field.required),
                labels.yes_no(field.for_publication),
            ]
        )
    add_table(document, ["Nr", "Uppgift", "Svarsform", "Obligatorisk", "Kan publiceras"], rows)

    document.add_heading("Så lämnar ni svaret", level=2)
    base = config["BASE_URL"].rstrip("/")
    document.add_paragraph(
        f"Logga in i Insyn, {base}/utforare/, och välj begäran under ”Att svara på”. "
        "Ni kan spara svaret som utkast och fortsätta senare; alla i er organisation som har "
        "konto i Insyn kan arbeta i samma utkast. När ni skickar in får ni ett diarienummer "
        "och ett kvitto."
    )
    if any(f.for_publication for f in info_request.fields):
        document.add_paragraph(
            "Uppgifter markerade ”Kan publiceras” kan efter kommunens granskning publiceras på "
            "kommunens webbplats. Lämna därför inga personuppgifter och inga uppgifter om "
            "enskilda brukare. Uppgifter som ni anser omfattas av sekretess ska ni märka och "
            "motivera i svaret."
        )
    if info_request.recurs_yearly:
        document.add_paragraph("Begäran återkommer varje år.")

    document.add_heading("Kontakt", level=2)
    creator = (
        db.session.get(User, info_request.created_by_id) if info_request.created_by_id else None
    )
    if creator is not None:
        document.add_paragraph(
            f"{creator.name}, {creator.email}" if creator.name else creator.email
        )
    document.add_paragraph(f"{committee.name}, {municipality}")
    return to_bytes(document)
