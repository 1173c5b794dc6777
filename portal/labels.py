"""The one label table: what every code of the domain is called, on every page, in every
mail, document, CSV file and API label.

Each label is written here once, in Swedish (the msgid); the English catalogue
translates it. Labels are lazy: a page shows them in its language, and the documents
and mails, which are Swedish only, render them under ``force_locale("sv")``.
"""

from __future__ import annotations

from enum import Enum

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from portal.models import (
    AuditAction,
    DeviationCategory,
    FieldType,
    FollowUpForm,
    Impact,
    MeasureStatus,
    Ownership,
    PublicationState,
    ReviewState,
    Role,
    Route,
    Severity,
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
# An agreement's impact and a deviation's severity share their words: low is low.
IMPACT = {Impact.LOW: _l("Låg"), Impact.MEDIUM: _l("Medel"), Impact.HIGH: _l("Hög")}
SEVERITY = {
    Severity.LOW: IMPACT[Impact.LOW],
    Severity.MEDIUM: IMPACT[Impact.MEDIUM],
    Severity.HIGH: IMPACT[Impact.HIGH],
    Severity.CRITICAL: _l("Allvarlig"),
}
CATEGORY = {
    DeviationCategory.COMPLAINT: _l("Klagomål"),
    DeviationCategory.ERROR: _l("Fel"),
    DeviationCategory.DEFICIENCY: _l("Brist"),
    DeviationCategory.DEVIATION: _l("Avvikelse"),
}
MEASURE_STATUS = {
    MeasureStatus.PLANNED: _l("Planerad"),
    MeasureStatus.IN_PROGRESS: _l("Pågår"),
    MeasureStatus.DONE: _l("Genomförd"),
}
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
    FieldType.PERCENTAGE: _l("Procent (0–100)"),
    FieldType.YES_NO: _l("Ja eller nej"),
    FieldType.DATE: _l("Datum"),
    FieldType.FILE: _l("Fil"),
}
KIND = {
    SubmissionKind.TRANSPARENCY_INFO: _l("Insynsinformation"),
    SubmissionKind.DEVIATION_REPORT: _l("Avvikelserapport"),
    SubmissionKind.ACTION_PLAN: _l("Åtgärdsplan"),
}
STATE = {
    ReviewState.DRAFT: _l("Utkast"),
    ReviewState.SUBMITTED: _l("Inskickad"),
    ReviewState.CLARIFICATION_REQUESTED: _l("Komplettering begärd"),
    ReviewState.APPROVED: _l("Godkänd"),
    ReviewState.REJECTED: _l("Avslagen"),
    ReviewState.CLOSED: _l("Avslutad"),
    ReviewState.WITHDRAWN: _l("Återtagen"),
}
# Staff never see a draft: to them a requested answer still in draft is not yet submitted.
STAFF_STATE = {**STATE, ReviewState.DRAFT: _l("Inte inskickat ännu")}
PUBLICATION_STATE = {
    PublicationState.PUBLISHED: _l("Publicerad"),
    PublicationState.WITHDRAWN: _l("Återkallad"),
}
# Review events (ReviewEvent.action), as the case's history names them to staff and
# provider alike; an event that leads to a state has the state's word.
EVENT = {
    "submit": STATE[ReviewState.SUBMITTED],
    "resubmit": _l("Komplettering inskickad"),
    "withdraw": STATE[ReviewState.WITHDRAWN],
    "report_progress": _l("Lägesrapport inskickad"),
    "ask_clarification": STATE[ReviewState.CLARIFICATION_REQUESTED],
    "approve": STATE[ReviewState.APPROVED],
    "reject": STATE[ReviewState.REJECTED],
    "close": STATE[ReviewState.CLOSED],
    "extend_deadline": _l("Svarstiden förlängd"),
    "request_action_plan": _l("Åtgärdsplan begärd"),
}
_ADMINISTRATOR = _l("Administratör")
ROLE = {
    Role.PROVIDER_USER: _l("Medarbetare"),
    Role.PROVIDER_ADMIN: _ADMINISTRATOR,
    Role.REVIEWER: _l("Handläggare"),
    Role.PUBLISHER: _l("Publicerare"),
    Role.ADMIN: _ADMINISTRATOR,
}
STAFF_ROLE = {role: word for role, word in ROLE.items() if role.is_staff}
PROVIDER_ROLE = {role: word for role, word in ROLE.items() if role.is_provider}
_YES, _NO = _l("Ja"), _l("Nej")
YES_NO = {"yes": _YES, "no": _NO, True: _YES, False: _NO}
UNANSWERED = _l("Inget svar")
NOT_PUBLISHED = _l("Ej publicerad")
OWNERSHIP_NAME = _l("Regiform")

# The questions of a deviation report, by their keys in the answers.
DEVIATION_FIELDS = {
    "category": _l("Kategori"),
    "severity": _l("Allvarlighetsgrad"),
    "occurred_on": _l("Inträffade"),
    "description": _l("Vad hände"),
    "immediate_measures": _l("Omedelbara åtgärder"),
}
MEASURES = _l("Åtgärder")
ATTACHMENTS = _l("Bilagor")
# The columns of an action plan's measures.
MEASURE_FIELDS = {
    "description": _l("Åtgärd"),
    "owner": _l("Ansvarig"),
    "due": _l("Klar senast"),
    "status": _l("Status"),
    "done_on": _l("Genomförd den"),
    "effect": _l("Effekt"),
    "evidence": _l("Underlag"),
}

# The audit log: what happened (AuditEvent.action) and to what (its object or group).
AUDIT_ACTION = {
    **{AuditAction(f"submission.{event}"): word for event, word in EVENT.items()},
    AuditAction.SUBMISSION_FILES_ADDED: _l("Filer bifogade"),
    AuditAction.SUBMISSION_FILE_REMOVED: _l("Fil borttagen"),
    AuditAction.DEVIATION_REPORT_START: _l("Avvikelserapport påbörjad"),
    AuditAction.ACTION_PLAN_START: _l("Åtgärdsplan påbörjad"),
    AuditAction.REQUEST_ISSUE: _l("Begäran skickad"),
    AuditAction.REQUEST_SCHEDULE: _l("Återkommande begäran skickad"),
    AuditAction.REQUEST_EXTEND_DEADLINE: _l("Begärans svarstid förlängd"),
    AuditAction.FINDING_RECORD: _l("Iakttagelse registrerad"),
    AuditAction.PUBLICATION_PUBLISH: PUBLICATION_STATE[PublicationState.PUBLISHED],
    AuditAction.PUBLICATION_WITHDRAW: PUBLICATION_STATE[PublicationState.WITHDRAWN],
    AuditAction.PUBLICATION_PII_OVERRIDE: _l("Varning om personuppgifter åsidosatt"),
    AuditAction.ATTACHMENT_REDACTED_COPY: _l("Maskad kopia tillagd"),
    AuditAction.ATTACHMENT_REDACTED_COPY_REMOVED: _l("Maskad kopia borttagen"),
    AuditAction.ATTACHMENT_INFECTED: _l("Fil borttagen: virus"),
    AuditAction.UPLOAD_INFECTED: _l("Uppladdning stoppad: virus"),
    AuditAction.MAIL_FAILED: _l("E-post kunde inte skickas"),
    AuditAction.MAIL_RERUN: _l("E-post skickas igen"),
    AuditAction.JOB_RERUN: _l("Bakgrundsjobb körs igen"),
    AuditAction.INVITATION_CREATE: _l("Inbjudan skickad"),
    AuditAction.INVITATION_RESEND: _l("Inbjudan skickad igen"),
    AuditAction.INVITATION_WITHDRAW: _l("Inbjudan återkallad"),
    AuditAction.USER_CREATE: _l("Konto skapat"),
    AuditAction.USER_UPDATE: _l("Konto ändrat"),
    AuditAction.USER_DEACTIVATE: _l("Konto inaktiverat"),
    AuditAction.USER_REACTIVATE: _l("Konto aktiverat igen"),
    AuditAction.USER_TOTP_RESET: _l("Tvåfaktorsinloggning nollställd"),
    AuditAction.USER_WELCOME_RESENT: _l("Välkomstmeddelande skickat igen"),
    AuditAction.USER_INVITATION_ACCEPTED: _l("Inbjudan antagen"),
    AuditAction.USER_INVITE_EXISTING_ACCOUNT: _l("Inbjudan till befintligt konto"),
    AuditAction.SETTING_UPDATE: _l("Inställning ändrad"),
    AuditAction.AUTH_LOGIN: _l("Inloggad"),
    AuditAction.AUTH_LOGOUT: _l("Utloggad"),
    AuditAction.AUTH_LOGIN_FAILED: _l("Misslyckad inloggning"),
    AuditAction.AUTH_RESET_REQUESTED: _l("Nytt lösenord begärt"),
    AuditAction.AUTH_RESET_REQUESTED_UNKNOWN: _l("Nytt lösenord begärt för okänd adress"),
    AuditAction.AUTH_PASSWORD_CHOSEN: _l("Lösenord valt"),
    AuditAction.AUTH_PASSWORD_RESET: _l("Lösenord återställt"),
    AuditAction.AUTH_PASSWORD_CHANGED: _l("Lösenord bytt"),
    AuditAction.AUTH_TOTP_ENABLED: _l("Tvåfaktorsinloggning aktiverad"),
    AuditAction.AUTH_TOTP_REPLACED: _l("Tvåfaktorsinloggning bytt"),
    AuditAction.FOLLOW_UP_PLAN_CREATE: _l("Uppföljningsplan skapad"),
    AuditAction.FOLLOW_UP_PLAN_ADOPT: _l("Uppföljningsplan beslutad"),
    AuditAction.FOLLOW_UP_PLAN_COPY: _l("Punkter kopierade från förra planen"),
    AuditAction.FOLLOW_UP_ITEM_CREATE: _l("Punkt tillagd i uppföljningsplan"),
    AuditAction.FOLLOW_UP_ITEM_UPDATE: _l("Punkt ändrad i uppföljningsplan"),
    AuditAction.FOLLOW_UP_ITEM_DELETE: _l("Punkt borttagen ur uppföljningsplan"),
    AuditAction.COMMITTEE_CREATE: _l("Nämnd tillagd"),
    AuditAction.COMMITTEE_UPDATE: _l("Nämnd ändrad"),
    AuditAction.SERVICE_AREA_CREATE: _l("Verksamhetsområde tillagt"),
    AuditAction.SERVICE_AREA_UPDATE: _l("Verksamhetsområde ändrat"),
    AuditAction.PROVIDER_CREATE: _l("Utförare tillagd"),
    AuditAction.PROVIDER_UPDATE: _l("Utförare ändrad"),
    AuditAction.AGREEMENT_CREATE: _l("Avtal tillagt"),
    AuditAction.AGREEMENT_UPDATE: _l("Avtal ändrat"),
    AuditAction.MUNICIPALITY_CREATE: _l("Kommun tillagd"),
    AuditAction.MUNICIPALITY_DEACTIVATE: _l("Kommun avaktiverad"),
    AuditAction.MUNICIPALITY_ADMIN_ADD: _l("Kommunens administratör tillagd"),
}
_REQUEST = _l("Begäran")
_PLAN = _l("Uppföljningsplan")
_ITEM = _l("Punkt i uppföljningsplan")
_AREA = _l("Verksamhetsområde")
# By object type (the model's class name) and by an action's first part.
AUDIT_OBJECT = {
    "submission": _l("Ärende"),
    "informationrequest": _REQUEST,
    "request": _REQUEST,
    "finding": _l("Iakttagelse"),
    "publication": _l("Publicering"),
    "attachment": FIELD_TYPE[FieldType.FILE],
    "upload": _l("Uppladdning"),
    "invitation": _l("Inbjudan"),
    "user": _l("Konto"),
    "setting": _l("Inställning"),
    "auth": _l("Inloggning"),
    "followupplan": _PLAN,
    "follow_up_plan": _PLAN,
    "followupitem": _ITEM,
    "follow_up_item": _ITEM,
    "committee": _l("Nämnd"),
    "servicearea": _AREA,
    "service_area": _AREA,
    "provider": _l("Utförare"),
    "agreement": _l("Avtal"),
    **{kind.value: word for kind, word in KIND.items()},
}
_PROVIDER_IDS = _l("Utförare (id)")
# The details of audit events and the columns of registry changes, by key.
AUDIT_DETAIL = {
    "from_state": _l("Från status"),
    "to_state": _l("Till status"),
    "version": _l("Version"),
    "deadline": _l("Svara senast"),
    "old_deadline": _l("Tidigare svarsdag"),
    "reason": _l("Skäl"),
    "providers": _PROVIDER_IDS,
    "registration_number": _l("Diarienummer"),
    "previous": _l("Föregående begäran (id)"),
    "submissions": _l("Ärenden (id)"),
    "submission": _l("Ärende (id)"),
    "agreement": _l("Avtal (id)"),
    "meets_requirements": _l("Uppfyller kraven"),
    "action_plan": _l("Åtgärdsplan (id)"),
    "documents": _l("Dokument (id)"),
    "files": _l("Filer (id)"),
    "attachment": _l("Fil (id)"),
    "original": _l("Original (id)"),
    "sha256": _l("SHA-256"),
    "signature": _l("Viruskontrollen hittade"),
    "email": _l("E-post"),
    "role": _l("Behörighet"),
    "committees": _l("Nämnder"),
    "changes": _l("Ändringar"),
    "key": AUDIT_OBJECT["setting"],
    "invitation": _l("Inbjudan (id)"),
    "provider": _PROVIDER_IDS,
    "plan": _l("Uppföljningsplan (id)"),
    "source": _l("Källa"),
    "copied_items": _l("Kopierade punkter"),
    "subject": _l("Vad som följs upp"),
    "masked": _l("Uppgift (maskerad)"),
    "occurrences": _l("Förekomster"),
    "display_name": _l("Filnamn"),
    "ownership": OWNERSHIP_NAME,
    "route": _l("Avtalsform"),
    "impact": _l("Påverkan"),
}
# Details whose values are codes of a table.
AUDIT_VALUES = {
    "from_state": STAFF_STATE,
    "to_state": STAFF_STATE,
    "role": ROLE,
    "meets_requirements": YES_NO,
    "ownership": OWNERSHIP,
    "route": ROUTE,
    "impact": IMPACT,
}

TABLES: dict[type[Enum], dict] = {
    Ownership: OWNERSHIP,
    Route: ROUTE,
    Impact: IMPACT,
    Severity: SEVERITY,
    DeviationCategory: CATEGORY,
    MeasureStatus: MEASURE_STATUS,
    FollowUpForm: FOLLOW_UP_FORM,
    FieldType: FIELD_TYPE,
    SubmissionKind: KIND,
    ReviewState: STATE,
    PublicationState: PUBLICATION_STATE,
    Role: ROLE,
}


def name(mapping: dict, code) -> str:
    """The label of ``code`` in ``mapping``, or the code itself when it is unknown."""
    if code is None or code == "":
        return ""
    return str(mapping.get(code, code))


def label(code: Enum) -> str:
    """The label of an enum member, in the current language."""
    return str(TABLES[type(code)][code])


def yes_no(value) -> str:
    """``Ja`` or ``Nej`` for a truth value."""
    return str(YES_NO[bool(value)])


def state_label(state: ReviewState) -> str:
    return str(STATE[state])


def staff_state_label(state: ReviewState) -> str:
    return str(STAFF_STATE[state])


def select(pairs) -> list[SelectChoice]:
    """WTForms choices from ``(value, label)`` pairs; labels stay lazy until rendered."""
    return [SelectChoice(value, word) for value, word in pairs]


def choices(mapping: dict) -> list[SelectChoice]:
    """WTForms choices for the codes of ``mapping``."""
    return select((str(code), word) for code, word in mapping.items())


def options(mapping: dict) -> list[tuple[str, str]]:
    """``(code, label)`` pairs for the filters of a list page."""
    return [(str(code), str(word)) for code, word in mapping.items()]
