"""The committee's follow-up plan as a Word document, for the committee's decision."""

from __future__ import annotations

from collections import defaultdict

from portal import labels, municipalities
from portal.dates import today
from portal.documents._layout import (
    add_table,
    add_text,
    add_title,
    in_swedish,
    new_document,
    to_bytes,
)
from portal.formatting import format_long_date
from portal.models import FollowUpForm, FollowUpItem, FollowUpPlan

FORM_TEXT = {
    FollowUpForm.SUPERVISION: "granskning av att verksamheten följer lagar och föreskrifter",
    FollowUpForm.OPERATIONS: "uppföljning av verksamhetens kvalitet och resultat",
    FollowUpForm.CONTRACT: "uppföljning av att utföraren uppfyller avtalets krav",
    FollowUpForm.INDIVIDUAL: "uppföljning av insatser för den enskilde",
    FollowUpForm.TARGETED_INSIGHT: "särskilt begärda uppgifter för allmänhetens insyn",
}


def subject(item: FollowUpItem) -> str:
    if item.agreement is not None:
        a = item.agreement
        return f"Avtal {a.reference}: {a.provider.name} ({a.service_area.name})"
    return f"Verksamhetsområde: {item.service_area.name}" if item.service_area else ""


def timetable(item: FollowUpItem) -> str:
    parts = []
    if item.planned_from:
        span = item.planned_from.isoformat()
        if item.planned_to:
            span += f" – {item.planned_to.isoformat()}"
        parts.append(span)
    if item.interval:
        parts.append(item.interval)
    return "; ".join(parts) or "–"


def feedback(item: FollowUpItem) -> str:
    to = [
        ("nämnden", item.feedback_committee),
        ("utföraren", item.feedback_provider),
        ("allmänheten", item.feedback_public),
    ]
    return ", ".join(name for name, on in to if on) or "–"


@in_swedish
def follow_up_plan_docx(plan: FollowUpPlan) -> bytes:
    municipality = municipalities.current_name()
    committee = plan.committee
    title = f"Uppföljningsplan {plan.year}"
    document = new_document(
        title=title,
        committee=committee,
        dated=plan.adopted_on or today(),
        subject=f"{committee.name}, {municipality}",
        landscape=True,
    )
    add_title(document, title, f"{committee.name}, {municipality}")
    status = (
        f"Beslutad av {committee.name} {format_long_date(plan.adopted_on)}."
        if plan.adopted_on
        else f"Förslag till beslut, utskrivet {format_long_date(today())}."
    )
    document.add_paragraph(status)

    document.add_heading("Inledning", level=1)
    document.add_paragraph(
        f"Enligt kommunallagen (10 kap. 7–9 §§) och kommunfullmäktiges program för uppföljning "
        f"av verksamhet som utförs av privata utförare ska {committee.name} varje år anta en "
        f"plan för uppföljningen. Planen anger vad som följs upp, i vilken form, vem som är "
        f"ansvarig, tidplan och intervall samt hur och till vem resultatet återkopplas. "
        f"Verksamhet i egen regi följs upp på samma sätt som verksamhet som utförs av "
        f"privata utförare."
    )
    document.add_heading("Former för uppföljning", level=2)
    for form, text in FORM_TEXT.items():
        document.add_paragraph(f"{labels.label(form)}: {text}.", style="List Bullet")

    document.add_heading("Sammanställning", level=1)
    if plan.items:
        add_table(
            document,
            [
                "Vad som följs upp",
                "Form",
                "Ansvarig",
                "Tidplan",
                "Återkoppling till",
                "Fokusområden",
            ],
            (
                [
                    subject(i),
                    labels.label(i.form),
                    i.responsible,
                    timetable(i),
                    feedback(i),
                    i.focus_areas or "–",
                ]
                for i in plan.items
            ),
        )
    else:
        document.add_paragraph("Planen har inga punkter.")

    by_form: dict[FollowUpForm, list[FollowUpItem]] = defaultdict(list)
    for item in plan.items:
        by_form[item.form].append(item)
    document.add_heading("Uppföljning per form", level=1)
    for form in FollowUpForm:
        items = by_form.get(form)
        if not items:
            continue
        document.add_heading(labels.label(form), level=2)
        for item in items:
            document.add_paragraph(subject(item), style="List Bullet")
            add_text(
                document,
                f"Ansvarig: {item.responsible}. Tidplan: {timetable(item)}. "
                f"Återkoppling till {feedback(item)}."
                + (f" Fokusområden: {item.focus_areas}." if item.focus_areas else ""),
            )

    document.add_heading("Återkoppling och insyn", level=1)
    document.add_paragraph(
        "Resultatet av uppföljningen redovisas för nämnden och återkopplas till utförarna. "
        "Det som återkopplas till allmänheten publiceras på kommunens webbplats, efter "
        "sekretessprövning och kontroll av personuppgifter."
    )
    return to_bytes(document)
