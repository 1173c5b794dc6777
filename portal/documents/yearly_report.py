"""The yearly report on a committee's strategic agreements (Årsrapport över strategiska avtal).

The programme for follow-up asks each committee to report, every year and for each
strategic agreement: whether the provider meets the essential quality
requirements, the deficiencies observed, how they affect the committee's goal
fulfilment, and the action plans for them. :func:`collect` gathers that from the
registry, the findings and the action plans; :func:`yearly_report_docx` writes it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time

import sqlalchemy as sa

from portal import labels, municipalities
from portal.dates import STOCKHOLM, today
from portal.documents._layout import (
    add_facts,
    add_table,
    add_text,
    add_title,
    in_swedish,
    new_document,
    to_bytes,
)
from portal.extensions import db
from portal.formatting import format_long_date
from portal.models import (
    Agreement,
    Committee,
    Finding,
    MeasureStatus,
    ReviewState,
    Submission,
    SubmissionKind,
    SubmissionVersion,
)
from portal.models.organisation import STRATEGIC_VALUE_HIGH_IMPACT_SEK, STRATEGIC_VALUE_SEK
from portal.policy import shown_to_staff_condition


def kronor(value) -> str:
    return f"{int(value or 0):,}".replace(",", "\u00a0") + "\u00a0kr"


def strategic_rule() -> str:
    return (
        f"Ett avtal är strategiskt när det årliga värdet är minst {kronor(STRATEGIC_VALUE_SEK)}, "
        f"eller när verksamhetens påverkan är hög och det årliga värdet är minst "
        f"{kronor(STRATEGIC_VALUE_HIGH_IMPACT_SEK)}. Nämnden kan med en motivering göra avsteg "
        f"från regeln åt båda hållen."
    )


@dataclass
class PlanStatus:
    submission: Submission
    measures: int
    done: int
    late: int

    @property
    def state(self) -> str:
        return labels.staff_state_label(self.submission.state)

    @property
    def line(self) -> str:
        s = self.submission
        parts = [
            f"{s.registration_number}: {s.title}" if s.registration_number else s.title,
            self.state.lower(),  # mid-sentence
        ]
        if self.measures:
            parts.append(f"{self.done} av {self.measures} åtgärder genomförda")
        if self.late:
            parts.append(f"{self.late} åtgärder försenade")
        if s.state in (ReviewState.DRAFT, ReviewState.CLARIFICATION_REQUESTED) and s.deadline:
            parts.append(f"ska lämnas senast {s.deadline.isoformat()}")
        return ", ".join(parts)


@dataclass
class AgreementReport:
    agreement: Agreement
    findings: list[Finding]
    plans: list[PlanStatus]
    deviations: Counter = field(default_factory=Counter)

    @property
    def latest(self) -> Finding | None:
        return self.findings[-1] if self.findings else None

    @property
    def meets(self) -> str:
        if self.latest is None:
            return "Inte bedömt under året"
        return labels.yes_no(self.latest.meets_requirements)

    @property
    def deficiencies(self) -> str:
        texts = [f.deficiencies for f in self.findings if f.deficiencies.strip()]
        return "\n".join(texts)

    @property
    def goal_effect(self) -> str:
        texts = [f.goal_effect for f in self.findings if f.goal_effect.strip()]
        return "\n".join(texts)

    @property
    def plan_summary(self) -> str:
        if not self.plans:
            return "Ingen"
        counts = Counter(p.state for p in self.plans)
        return "; ".join(f"{n} {state.lower()}" for state, n in counts.items())

    @property
    def strategic_basis(self) -> str:
        a = self.agreement
        if a.strategic_override is None:
            return "Enligt regeln"
        return f"Avsteg från regeln: {a.strategic_override_reason}"


@dataclass
class YearlyReport:
    committee: Committee
    year: int
    agreements: list[AgreementReport]
    produced_on: date


def _active_during(year: int):
    start, end = date(year, 1, 1), date(year, 12, 31)
    return sa.and_(
        Agreement.starts_on <= end,
        sa.or_(Agreement.ends_on.is_(None), Agreement.ends_on >= start),
    )


def _measures(submission: Submission, on: date) -> tuple[int, int, int]:
    version = submission.latest_submitted
    measures = (
        [m for m in ((version.answers or {}).get("measures") or []) if isinstance(m, dict)]
        if version
        else []
    )
    done = sum(1 for m in measures if m.get("status") == MeasureStatus.DONE)
    late = sum(
        1
        for m in measures
        if m.get("status") != MeasureStatus.DONE and str(m.get("due") or "9999") < on.isoformat()
    )
    return len(measures), done, late


def collect(committee: Committee, year: int, on: date | None = None) -> YearlyReport:
    on = on or today()
    start, end = date(year, 1, 1), date(year, 12, 31)
    agreements = [
        a
        for a in db.session.scalars(
            sa.select(Agreement)
            .where(Agreement.committee_id == committee.id, _active_during(year))
            .order_by(Agreement.reference)
        )
        if a.strategic
    ]
    reports = []
    for agreement in agreements:
        findings = list(
            db.session.scalars(
                sa.select(Finding)
                .where(
                    Finding.agreement_id == agreement.id,
                    Finding.assessed_on >= start,
                    Finding.assessed_on <= end,
                )
                .order_by(Finding.assessed_on, Finding.id)
            )
        )
        all_finding_ids = sa.select(Finding.id).where(Finding.agreement_id == agreement.id)
        plans = db.session.scalars(
            sa.select(Submission)
            .where(
                Submission.kind == SubmissionKind.ACTION_PLAN,
                Submission.committee_id == committee.id,
                Submission.provider_id == agreement.provider_id,
                sa.or_(
                    Submission.finding_id.in_(all_finding_ids),
                    Submission.agreement_id == agreement.id,
                    sa.and_(
                        Submission.agreement_id.is_(None),
                        Submission.finding_id.is_(None),
                        sa.or_(
                            Submission.service_area_id.is_(None),
                            Submission.service_area_id == agreement.service_area_id,
                        ),
                    ),
                ),
                Submission.state != ReviewState.WITHDRAWN,
                shown_to_staff_condition(),
                Submission.created_at <= _end_of(end),
                sa.or_(
                    Submission.state != ReviewState.CLOSED,
                    Submission.decided_at >= _start_of(start),
                ),
            )
            .order_by(Submission.created_at)
        ).all()
        deviations = Counter()
        for (answers,) in db.session.execute(
            sa.select(_latest_answers()).where(
                Submission.kind == SubmissionKind.DEVIATION_REPORT,
                Submission.committee_id == committee.id,
                Submission.provider_id == agreement.provider_id,
                sa.or_(
                    Submission.service_area_id.is_(None),
                    Submission.service_area_id == agreement.service_area_id,
                ),
                Submission.submitted_at >= _start_of(start),
                Submission.submitted_at <= _end_of(end),
            )
        ):
            deviations[(answers or {}).get("severity", "")] += 1
        reports.append(
            AgreementReport(
                agreement,
                findings,
                [PlanStatus(p, *_measures(p, on)) for p in plans],
                deviations,
            )
        )
    return YearlyReport(committee, year, reports, on)


def _latest_answers():
    return (
        sa.select(SubmissionVersion.answers)
        .where(
            SubmissionVersion.submission_id == Submission.id,
            SubmissionVersion.submitted_at.is_not(None),
        )
        .order_by(SubmissionVersion.number.desc())
        .limit(1)
        .scalar_subquery()
    )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, STOCKHOLM)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, STOCKHOLM)


def deviation_text(counter: Counter) -> str:
    if not counter:
        return "Inga avvikelser rapporterade under året."
    total = sum(counter.values())
    parts = [
        f"{n} med allvarlighetsgrad {labels.name(labels.SEVERITY, k).lower() or 'ej angiven'}"
        for k, n in counter.most_common()
    ]
    counted = "1 avvikelse rapporterad" if total == 1 else f"{total} avvikelser rapporterade"
    return f"{counted} under året: " + ", ".join(parts) + "."


@in_swedish
def yearly_report_docx(report: YearlyReport) -> bytes:
    municipality = municipalities.current_name()
    committee = report.committee
    title = f"Årsrapport över strategiska avtal {report.year}"
    document = new_document(
        title=title,
        committee=committee,
        dated=report.produced_on,
        subject=f"{committee.name}, {municipality}",
    )
    add_title(document, title, f"{committee.name}, {municipality}")
    document.add_paragraph(f"Sammanställd {format_long_date(report.produced_on)}.")

    document.add_heading("Inledning", level=1)
    document.add_paragraph(
        f"Enligt kommunfullmäktiges program för uppföljning av privata utförare redovisar "
        f"{committee.name} varje år sina strategiska avtal: om utföraren uppfyller de väsentliga "
        f"kvalitetskraven, vilka brister som har iakttagits, hur bristerna påverkar nämndens "
        f"måluppfyllelse och vilka åtgärdsplaner som finns för bristerna."
    )
    document.add_paragraph(strategic_rule())
    document.add_paragraph(
        f"Rapporten omfattar {len(report.agreements)} strategiska avtal som gällde under "
        f"{report.year}."
    )

    document.add_heading("Sammanfattning", level=1)
    if report.agreements:
        add_table(
            document,
            [
                "Avtal",
                "Utförare",
                "Verksamhetsområde",
                "Uppfyller kraven",
                "Brister",
                "Åtgärdsplaner",
            ],
            (
                [
                    r.agreement.reference,
                    r.agreement.provider.name,
                    r.agreement.service_area.name,
                    r.meets,
                    labels.yes_no(r.deficiencies),
                    r.plan_summary,
                ]
                for r in report.agreements
            ),
        )
        met = sum(1 for r in report.agreements if r.latest and r.latest.meets_requirements)
        not_met = sum(1 for r in report.agreements if r.latest and not r.latest.meets_requirements)
        unassessed = sum(1 for r in report.agreements if r.latest is None)
        document.add_paragraph(
            f"{met} utförare uppfyller de väsentliga kvalitetskraven, {not_met} gör det inte och "
            f"{unassessed} avtal har inte bedömts under året."
        )
    else:
        document.add_paragraph("Nämnden hade inga strategiska avtal under året.")

    document.add_heading("Redovisning per avtal", level=1)
    for r in report.agreements:
        a = r.agreement
        document.add_heading(f"{a.reference}: {a.provider.name}", level=2)
        add_facts(
            document,
            [
                (
                    "Utförare",
                    f"{a.provider.name} ({a.provider.org_number}), "
                    f"{labels.label(a.provider.ownership)}",
                ),
                ("Verksamhetsområde", a.service_area.name),
                ("Avtalsform", labels.label(a.route)),
                (
                    "Period",
                    f"{a.starts_on.isoformat()} – "
                    f"{a.ends_on.isoformat() if a.ends_on else 'tills vidare'}",
                ),
                ("Årligt värde", kronor(a.yearly_value_sek)),
                ("Strategiskt", r.strategic_basis),
                ("Avtalsansvarig", a.responsible_officer),
            ],
        )
        document.add_heading("Väsentliga kvalitetskrav", level=3)
        add_text(document, a.quality_requirements, "Inga krav angivna i registret.")
        document.add_heading("Uppfyller utföraren kraven?", level=3)
        if r.latest is None:
            document.add_paragraph("Avtalet har inte bedömts under året.")
        else:
            document.add_paragraph(
                f"{r.meets}, enligt bedömningen {format_long_date(r.latest.assessed_on)}."
                + (
                    f" Antal bedömningar under året: {len(r.findings)}."
                    if len(r.findings) > 1
                    else ""
                )
            )
        document.add_heading("Iakttagna brister", level=3)
        add_text(document, r.deficiencies, "Inga brister har iakttagits.")
        document.add_heading("Påverkan på nämndens måluppfyllelse", level=3)
        add_text(document, r.goal_effect, "Ingen påverkan redovisad.")
        document.add_heading("Avvikelser", level=3)
        document.add_paragraph(deviation_text(r.deviations))
        document.add_heading("Åtgärdsplaner och status", level=3)
        if r.plans:
            for p in r.plans:
                document.add_paragraph(p.line, style="List Bullet")
        else:
            document.add_paragraph("Inga åtgärdsplaner.")
    return to_bytes(document)
