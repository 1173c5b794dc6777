"""The publisher's choices of what to publish (:class:`Draft`): the answers and files of
the version, the redacted wordings and copies, and the reasons to publish a hit of the
personal-data guard or a part the provider marked as confidential anyway."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.publication.forms import MAX_REASON, MAX_SUMMARY, MAX_TITLE
from admin.publication.pii_guard import (
    Checked,
    HitGroup,
    check_file,
    check_text,
    mark_confidential,
    unresolved,
)
from admin.review.answers import Answer, answers_of
from portal.extensions import db
from portal.models import Attachment, ScanStatus, Submission


@dataclass
class FileChoice:
    original: Attachment
    label: str  # the answer it belongs to
    copy: Attachment | None  # newest redacted copy

    @property
    def public(self) -> Attachment:
        return self.copy or self.original

    @property
    def confidential_reason(self) -> str | None:
        """The provider's reason when it marked the file as confidential; None: not marked."""
        return self.original.confidential_reason

    @property
    def problem(self) -> str:
        """Why this file cannot be published now ("" when it can): only a file the virus
        scanner found clean is ever published."""
        status = self.public.scan_status
        if status == ScanStatus.CLEAN:
            return ""
        return str(UNPUBLISHABLE.get(status, UNPUBLISHABLE[None]))


UNPUBLISHABLE = {
    ScanStatus.PENDING_SCAN: _l(
        "Kan inte publiceras ännu: filen ligger i karantän och väntar på virusgenomsökning."
    ),
    ScanStatus.NOT_SCANNED: _l(
        "Kan inte publiceras: filen är inte virusgenomsökt (genomsökningen var avstängd när "
        "filen laddades upp)."
    ),
    ScanStatus.INFECTED: _l(
        "Kan inte publiceras: viruskontrollen hittade skadlig kod och filen är borttagen."
    ),
    None: _l("Kan inte publiceras: filen är inte godkänd i viruskontrollen."),
}


class Draft:
    """The publisher's choices, from the form or, on first view, from the defaults."""

    def __init__(self, submission: Submission, form=None):
        self.submission = submission
        self.version = submission.latest_submitted
        self.answers: list[Answer] = [
            a for a in answers_of(submission, self.version) if a.key != "files" and a.answered
        ]
        self.files = self._files()
        # The provider's confidentiality markings of answers, {key: reason}.
        marked = self.version.confidential if self.version is not None else None
        self.marked: dict[str, str] = dict(marked or {})
        if form is None:
            self.title = f"{submission.title}: {submission.provider.name}"
            self.summary = ""
            # A marked answer is left out until the publisher chooses it.
            self.keys = {
                a.key
                for a in self.answers
                if a.publishable_by_default and a.text and a.key not in self.marked
            }
            self.file_ids = set()
            self.redacted: dict[str, str] = {}
            self.overrides: dict[str, str] = {}
        else:
            self.title = form.get("title", "").strip()[:MAX_TITLE]
            self.summary = form.get("summary", "").strip()[:MAX_SUMMARY]
            known = {a.key for a in self.answers}
            self.keys = {k for k in form.getlist("answer") if k in known}
            ids = {str(c.original.id) for c in self.files}
            self.file_ids = {int(i) for i in form.getlist("document") if i in ids}
            self.redacted = {
                a.key: form.get(f"redacted-{a.key}", "").strip()
                for a in self.answers
                if a.key in self.keys
                and form.get(f"redacted-{a.key}", "").strip()
                and form.get(f"redacted-{a.key}", "").strip() != a.text
            }
            self.overrides = {
                k.removeprefix("override-"): v.strip()[:MAX_REASON]
                for k, v in form.items()
                if k.startswith("override-") and v.strip()
            }

    def _files(self) -> list[FileChoice]:
        if self.version is None:
            return []
        labels_by_slot = {a.key: a.label for a in self.answers}
        copies: dict[int, Attachment] = {}
        originals = self.version.attachments
        for copy in db.session.scalars(
            sa.select(Attachment)
            .where(
                Attachment.redacts_id.in_([a.id for a in originals] or [-1]),
                # A copy the scan found infected is only the record of what was removed.
                Attachment.scan_status != ScanStatus.INFECTED,
            )
            .order_by(Attachment.id)
        ):
            copies[copy.redacts_id] = copy  # the newest wins
        return [FileChoice(a, labels_by_slot.get(a.slot, ""), copies.get(a.id)) for a in originals]

    def public_text(self, answer: Answer) -> str:
        return self.redacted.get(answer.key, answer.text)

    @property
    def chosen_files(self) -> list[FileChoice]:
        return [c for c in self.files if c.original.id in self.file_ids]

    def check(self) -> list[Checked]:
        """What the guard finds in every chosen part, with the provider's markings: a marked
        part needs a decision however it is worded."""
        checked = [
            check_text("title", str(_l("Rubrik")), self.title),
            check_text("summary", str(_l("Sammanfattning")), self.summary),
        ]
        for a in self.answers:
            if a.key in self.keys:
                part = check_text(f"answer:{a.key}", a.label, self.public_text(a))
                if a.key in self.marked:
                    mark_confidential(part, self.marked[a.key])
                checked.append(part)
        for c in self.chosen_files:
            if not c.problem:  # refused in errors()
                part = check_file(c.public, c.public.display_name)
                if c.confidential_reason is not None:
                    mark_confidential(part, c.confidential_reason)
                checked.append(part)
        return checked

    def errors(self) -> list[str]:
        out = []
        if not self.title:
            out.append(_("Ange en rubrik för publiceringen."))
        if not self.keys and not self.file_ids:
            out.append(_("Välj minst ett svar eller en fil att publicera."))
        for c in self.chosen_files:
            if c.problem:
                out.append(f"{c.public.display_name}: {c.problem}")
        return out

    def blockers(self, checked: list[Checked]) -> list[str]:
        """Why this cannot be published as chosen: the errors, and the guard's open hits."""
        out = self.errors()
        open_groups = unresolved(checked, self.overrides)
        if open_groups:
            out.append(
                _(
                    "Publiceringen är stoppad: %(n)d fynd av personuppgifter eller "
                    "sekretessmarkeringar är inte åtgärdade. Ladda upp en maskad kopia, ändra "
                    "lydelsen, välj bort delen eller motivera varför uppgiften ska publiceras.",
                    n=len(open_groups),
                )
            )
        return out

    @staticmethod
    def decisions(checked: list[Checked]) -> list[tuple[Checked, HitGroup]]:
        """Every hit that is published anyway, with its part: each is a logged decision."""
        return [(c, g) for c in checked for g in c.groups]

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The choices as (name, value) pairs: the confirmation page posts them again."""
        fields = [("title", self.title), ("summary", self.summary)]
        fields += [("answer", a.key) for a in self.answers if a.key in self.keys]
        fields += [("redacted-" + key, text) for key, text in self.redacted.items()]
        fields += [("document", str(c.original.id)) for c in self.chosen_files]
        fields += [("override-" + token, reason) for token, reason in self.overrides.items()]
        return fields
