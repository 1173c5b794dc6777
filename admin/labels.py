"""Swedish names of the domain's codes, as staff read them in pages, CSV files and documents."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from portal.models import (
    FieldType,
    FollowUpForm,
    Impact,
    Ownership,
    PublicationState,
    Role,
    Route,
    SubmissionKind,
)

OWNERSHIP = {
    Ownership.PRIVATE: _l("Privat"),
    Ownership.IN_HOUSE: _l("Egen regi"),
    Ownership.MUNICIPAL_COMPANY: _l("Kommunalt bolag"),
    Ownership.NON_PROFIT: _l("Idéburen"),
}
ROUTE = {
    Route.CUSTOMER_CHOICE: _l("Kundval (LOV)"),
    Route.PROCUREMENT: _l("Upphandling (LOU)"),
    Route.DIRECT_AWARD: _l("Direktupphandling"),
    Route.PARTNERSHIP: _l("Idéburet offentligt partnerskap (IOP)"),
    Route.IN_HOUSE_ASSIGNMENT: _l("Uppdrag i egen regi"),
}
IMPACT = {Impact.LOW: _l("Låg"), Impact.MEDIUM: _l("Medel"), Impact.HIGH: _l("Hög")}
FOLLOW_UP_FORM = {
    FollowUpForm.SUPERVISION: _l("Tillsyn"),
    FollowUpForm.OPERATIONS: _l("Verksamhetsuppföljning"),
    FollowUpForm.CONTRACT: _l("Avtalsuppföljning"),
    FollowUpForm.INDIVIDUAL: _l("Individuppföljning"),
    FollowUpForm.TARGETED_INSIGHT: _l("Riktad insyn"),
}
FIELD_TYPE = {
    FieldType.TEXT: _l("Text"),
    FieldType.NUMBER: _l("Tal"),
    FieldType.PERCENTAGE: _l("Procent"),
    FieldType.YES_NO: _l("Ja/nej"),
    FieldType.DATE: _l("Datum"),
    FieldType.FILE: _l("Fil"),
}
KIND = {
    SubmissionKind.TRANSPARENCY_INFO: _l("Insynsinformation"),
    SubmissionKind.DEVIATION_REPORT: _l("Avvikelserapport"),
    SubmissionKind.ACTION_PLAN: _l("Åtgärdsplan"),
}
PUBLICATION_STATE = {
    PublicationState.PUBLISHED: _l("Publicerad"),
    PublicationState.WITHDRAWN: _l("Återkallad"),
}
# Deviation reports and action plans keep these codes in their answers.
SEVERITY = {"low": _l("Låg"), "medium": _l("Medel"), "high": _l("Hög"), "critical": _l("Allvarlig")}
SEVERITY_ORDER = ["critical", "high", "medium", "low"]
CATEGORY = {
    "complaint": _l("Klagomål"),
    "error": _l("Fel"),
    "deficiency": _l("Brist"),
    "deviation": _l("Avvikelse"),
}
MEASURE_STATUS = {
    "planned": _l("Planerad"),
    "in_progress": _l("Pågår"),
    "done": _l("Genomförd"),
}
DEVIATION_FIELDS = {
    "category": _l("Kategori"),
    "severity": _l("Allvarlighetsgrad"),
    "occurred_on": _l("Inträffade"),
    "description": _l("Vad hände"),
    "immediate_measures": _l("Omedelbara åtgärder"),
}
MEASURE_FIELDS = {
    "description": _l("Åtgärd"),
    "owner": _l("Ansvarig"),
    "due": _l("Klar senast"),
    "status": _l("Status"),
    "done_on": _l("Genomförd den"),
    "effect": _l("Effekt"),
}
YES_NO = {"yes": _l("Ja"), "no": _l("Nej"), True: _l("Ja"), False: _l("Nej")}
# The municipality's own roles (provider roles are named on the provider's pages).
STAFF_ROLE = {
    Role.REVIEWER: _l("Handläggare"),
    Role.PUBLISHER: _l("Publicerare"),
    Role.ADMIN: _l("Administratör"),
}


def name(mapping: dict, code) -> str:
    """The Swedish name of ``code``, or the code itself when it is unknown."""
    if code is None or code == "":
        return ""
    return str(mapping.get(code, code))


def select(pairs) -> list[SelectChoice]:
    """WTForms choices from ``(value, label)`` pairs; labels stay lazy until rendered."""
    return [SelectChoice(value, label) for value, label in pairs]


def choices(mapping: dict) -> list[SelectChoice]:
    """WTForms choices for the codes of ``mapping``."""
    return select((str(code), label) for code, label in mapping.items())


def options(mapping: dict) -> list[tuple[str, str]]:
    """``(code, name)`` pairs for the filters of a list page."""
    return [(str(code), str(label)) for code, label in mapping.items()]


EVENT = {
    "submit": _l("Inskickad"),
    "resubmit": _l("Komplettering inskickad"),
    "withdraw": _l("Återtagen av utföraren"),
    "report_progress": _l("Lägesrapport om åtgärderna"),
    "ask_clarification": _l("Komplettering begärd"),
    "approve": _l("Godkänd"),
    "reject": _l("Avslagen"),
    "close": _l("Åtgärdsplanen avslutad"),
    "extend_deadline": _l("Svarstiden förlängd"),
    "request_action_plan": _l("Åtgärdsplan begärd"),
}
