"""Recording a finding on an agreement. The workflow adds the finding, opens the action
plan it asks for, audits and mails; nothing here commits: the view runs this in
:func:`portal.transactions.committed`."""

from __future__ import annotations

from admin.findings.forms import FindingForm
from portal import form_keys, workflow
from portal.models import Agreement, Finding, Submission, User


def record_finding(
    agreement: Agreement, form: FindingForm, actor: User
) -> tuple[Submission | None, bool]:
    """Record the finding ``form`` describes: the action plan it asks the provider for
    (None when it asks for none), and whether this post recorded it. A second post of the
    same form (a double click, both posts at once) records nothing: the plan exists."""
    if (earlier := form_keys.created_by_this_form()) is not None:
        return earlier, False
    finding = Finding(
        agreement=agreement,
        assessed_on=form.assessed_on.data,
        meets_requirements=form.meets_requirements.data == "yes",
        deficiencies=(form.deficiencies.data or "").strip(),
        goal_effect=(form.goal_effect.data or "").strip(),
        action_plan_due=form.plan_due.data if form.require_plan.data else None,
    )
    if finding.action_plan_due is None:
        return workflow.record_finding(finding, actor), True
    return form_keys.create_once(lambda: workflow.record_finding(finding, actor))
