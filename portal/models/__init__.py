"""The domain model (see DESIGN.md); one module per aggregate."""

from portal.models.audit import AuditEvent, OutboundMail
from portal.models.codes import AuditAction, DeviationCategory, MeasureStatus, Severity
from portal.models.jobs import JobFailure, JobSchedule
from portal.models.organisation import (
    Agreement,
    Committee,
    Impact,
    Ownership,
    Provider,
    Route,
    ServiceArea,
)
from portal.models.plan import FollowUpForm, FollowUpItem, FollowUpPlan
from portal.models.publication import Publication, PublicationState, PublishedDocument
from portal.models.request import FieldType, InformationRequest, RequestField, SubmissionKind
from portal.models.submission import (
    Attachment,
    Finding,
    RegistrationCounter,
    ReviewEvent,
    ReviewState,
    ScanStatus,
    Submission,
    SubmissionVersion,
)
from portal.models.tenant import Municipality
from portal.models.user import Role, Setting, User

__all__ = [
    "Agreement",
    "Attachment",
    "AuditAction",
    "AuditEvent",
    "Committee",
    "DeviationCategory",
    "FieldType",
    "Finding",
    "FollowUpForm",
    "FollowUpItem",
    "FollowUpPlan",
    "Impact",
    "JobFailure",
    "JobSchedule",
    "InformationRequest",
    "MeasureStatus",
    "Municipality",
    "OutboundMail",
    "Ownership",
    "Provider",
    "Publication",
    "PublicationState",
    "PublishedDocument",
    "RegistrationCounter",
    "RequestField",
    "ReviewEvent",
    "ReviewState",
    "Role",
    "ScanStatus",
    "Severity",
    "Route",
    "ServiceArea",
    "Setting",
    "Submission",
    "SubmissionKind",
    "SubmissionVersion",
    "User",
]

# Appended: the provider portal's bookkeeping (migration 0004_provider_bookkeeping).
from portal.models.bookkeeping import CreationKey, ReminderSent  # noqa: E402

__all__ += ["CreationKey", "ReminderSent"]

# Appended: invitations of their own (migration 0010_invitations).
from portal.models.invitation import Invitation  # noqa: E402

__all__ += ["Invitation"]
