"""Codes kept in JSON and text columns that the database does not check: those of a
version's ``answers`` (deviation reports and action plans) and the audit log's actions.

The enums are the one list of the codes the forms offer, the code writes and the pages,
documents and reports name (their labels are in :mod:`portal.labels`).
"""

from __future__ import annotations

import enum


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class DeviationCategory(enum.StrEnum):
    COMPLAINT = "complaint"
    ERROR = "error"
    DEFICIENCY = "deficiency"
    DEVIATION = "deviation"


class MeasureStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class AuditAction(enum.StrEnum):
    """What an audit event records (``AuditEvent.action``): ``<object>.<what happened>``."""

    SUBMISSION_SUBMIT = "submission.submit"
    SUBMISSION_RESUBMIT = "submission.resubmit"
    SUBMISSION_WITHDRAW = "submission.withdraw"
    SUBMISSION_REPORT_PROGRESS = "submission.report_progress"
    SUBMISSION_ASK_CLARIFICATION = "submission.ask_clarification"
    SUBMISSION_APPROVE = "submission.approve"
    SUBMISSION_REJECT = "submission.reject"
    SUBMISSION_CLOSE = "submission.close"
    SUBMISSION_EXTEND_DEADLINE = "submission.extend_deadline"
    SUBMISSION_REQUEST_ACTION_PLAN = "submission.request_action_plan"
    SUBMISSION_FILES_ADDED = "submission.files_added"
    SUBMISSION_FILE_REMOVED = "submission.file_removed"
    DEVIATION_REPORT_START = "deviation_report.start"
    ACTION_PLAN_START = "action_plan.start"
    REQUEST_ISSUE = "request.issue"
    REQUEST_SCHEDULE = "request.schedule"
    REQUEST_EXTEND_DEADLINE = "request.extend_deadline"
    FINDING_RECORD = "finding.record"
    PUBLICATION_PUBLISH = "publication.publish"
    PUBLICATION_WITHDRAW = "publication.withdraw"
    PUBLICATION_PII_OVERRIDE = "publication.pii_override"
    ATTACHMENT_REDACTED_COPY = "attachment.redacted_copy"
    ATTACHMENT_REDACTED_COPY_REMOVED = "attachment.redacted_copy_removed"
    ATTACHMENT_INFECTED = "attachment.infected"
    UPLOAD_INFECTED = "upload.infected"
    MAIL_FAILED = "mail.failed"
    MAIL_RERUN = "mail.rerun"
    JOB_RERUN = "job.rerun"
    INVITATION_CREATE = "invitation.create"
    INVITATION_RESEND = "invitation.resend"
    INVITATION_WITHDRAW = "invitation.withdraw"
    USER_CREATE = "user.create"
    USER_UPDATE = "user.update"
    USER_DEACTIVATE = "user.deactivate"
    USER_REACTIVATE = "user.reactivate"
    USER_TOTP_RESET = "user.totp_reset"
    USER_WELCOME_RESENT = "user.welcome_resent"
    USER_INVITATION_ACCEPTED = "user.invitation_accepted"
    USER_INVITE_EXISTING_ACCOUNT = "user.invite_existing_account"
    SETTING_UPDATE = "setting.update"
    AUTH_LOGIN = "auth.login"
    AUTH_LOGOUT = "auth.logout"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_RESET_REQUESTED = "auth.reset_requested"
    AUTH_RESET_REQUESTED_UNKNOWN = "auth.reset_requested_unknown"
    AUTH_PASSWORD_CHOSEN = "auth.password_chosen"
    AUTH_PASSWORD_RESET = "auth.password_reset"
    AUTH_PASSWORD_CHANGED = "auth.password_changed"
    AUTH_TOTP_ENABLED = "auth.totp_enabled"
    AUTH_TOTP_REPLACED = "auth.totp_replaced"
    FOLLOW_UP_PLAN_CREATE = "follow_up_plan.create"
    FOLLOW_UP_PLAN_ADOPT = "follow_up_plan.adopt"
    FOLLOW_UP_PLAN_COPY = "follow_up_plan.copy"
    FOLLOW_UP_ITEM_CREATE = "follow_up_item.create"
    FOLLOW_UP_ITEM_UPDATE = "follow_up_item.update"
    FOLLOW_UP_ITEM_DELETE = "follow_up_item.delete"
    COMMITTEE_CREATE = "committee.create"
    COMMITTEE_UPDATE = "committee.update"
    SERVICE_AREA_CREATE = "service_area.create"
    SERVICE_AREA_UPDATE = "service_area.update"
    PROVIDER_CREATE = "provider.create"
    PROVIDER_UPDATE = "provider.update"
    AGREEMENT_CREATE = "agreement.create"
    AGREEMENT_UPDATE = "agreement.update"
    MUNICIPALITY_CREATE = "municipality.create"
    MUNICIPALITY_DEACTIVATE = "municipality.deactivate"
    MUNICIPALITY_ADMIN_ADD = "municipality.admin_add"
