"""The personal-data guard: nothing is published until every hit in it is resolved.

Each part that would become public (a chosen answer, a chosen file; for a file
with a redacted copy, the copy) is read as text and scanned with
:func:`portal.pii.find_personal_data`. Hits of the same value in the same part
form one group with a stable token; the publisher resolves a group by a
redacted copy (files) or a redacted wording (answers), by leaving the part out,
or by an override with a reason, which is audited. A file whose text cannot be
read completely (a scanned PDF, an image, a damaged file) is never "clean": it
gets a group of its own that needs a redacted copy or an override too. A part the
provider marked as confidential (sekretessmarkering) gets a group of its own that only an
override resolves: publishing it is always a logged decision.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from portal.attachments import open_file
from portal.documents.text import ExtractionStatus, extract
from portal.models import Attachment
from portal.pii import PersonalDataKind, find_personal_data, masked_context
from storage.store import StoreError

KIND_LABELS = {
    PersonalDataKind.PERSONNUMMER: _l("Personnummer"),
    PersonalDataKind.SAMORDNINGSNUMMER: _l("Samordningsnummer"),
    PersonalDataKind.EMAIL: _l("E-postadress"),
    PersonalDataKind.PHONE: _l("Telefonnummer"),
    "unreadable": _l("Texten kunde inte läsas"),
    "confidential": _l("Sekretessmarkerat av utföraren"),
}
MAX_CONTEXTS = 3


@dataclass
class HitGroup:
    token: str
    kind: str
    masked: str
    # (before, hit, after), every hit in them masked: the page never shows one in full.
    contexts: list[tuple[str, str, str]] = field(default_factory=list)
    count: int = 0

    @property
    def label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))


@dataclass
class Checked:
    """One public part and what the guard found in it."""

    source: str  # "answer:<key>" or "file:<attachment id>"
    label: str
    groups: list[HitGroup]
    text: str = ""  # what was read, for the search index

    @property
    def clean(self) -> bool:
        return not self.groups


def _token(source: str, value: str) -> str:
    return hashlib.sha256(f"{source}\0{value}".encode()).hexdigest()[:16]


def check_text(source: str, label: str, text: str) -> Checked:
    groups: dict[str, HitGroup] = {}
    hits = find_personal_data(text or "")
    for hit in hits:
        key = f"{hit.kind}:{hit.normalized}"
        group = groups.get(key)
        if group is None:
            group = groups[key] = HitGroup(_token(source, key), str(hit.kind), hit.masked)
        group.count += 1
        if len(group.contexts) < MAX_CONTEXTS:
            # Masked as in the heading, and so is any other hit next to it.
            group.contexts.append(masked_context(text, hit, hits))
    return Checked(source, label, list(groups.values()), text or "")


def check_file(attachment: Attachment, label: str) -> Checked:
    """Read ``attachment`` from the store and check its text; unreadable text is a hit."""
    source = f"file:{attachment.id}"
    try:
        with open_file(attachment) as stream:
            result = extract(stream, attachment.content_type)
    except StoreError as exc:
        return _unreadable(source, label, attachment, _l("Filen kunde inte hämtas: %(e)s", e=exc))
    pdf_without_text = (
        attachment.content_type.startswith("application/pdf") and not result.text.strip()
    )
    if result.status is not ExtractionStatus.OK or pdf_without_text:
        reason = {
            ExtractionStatus.UNSUPPORTED: _l("filtypen har ingen text som kan läsas automatiskt"),
            ExtractionStatus.FAILED: _l("filen kunde inte tolkas"),
            ExtractionStatus.PARTIAL: _l("bara en del av texten kunde läsas"),
        }.get(result.status, _l("PDF-filen saknar textlager (inskannad bild)"))
        checked = check_text(source, label, result.text)
        unreadable = _unreadable(source, label, attachment, reason)
        checked.groups.insert(0, unreadable.groups[0])
        return checked
    return check_text(source, label, result.text)


def _unreadable(source: str, label: str, attachment: Attachment, reason) -> Checked:
    group = HitGroup(
        _token(source, f"unreadable:{attachment.sha256}"),
        "unreadable",
        "",
        [
            (
                "",
                str(
                    _l(
                        "Granska %(name)s manuellt: %(reason)s.",
                        name=attachment.display_name,
                        reason=reason,
                    )
                ),
                "",
            )
        ],
        1,
    )
    return Checked(source, label, [group])


def mark_confidential(checked: Checked, reason: str) -> Checked:
    """Add the provider's confidentiality marking of the part to what the guard found: like a
    personal-data hit it needs a logged decision (an override with a reason) before the part
    is published. A redacted wording or copy does not resolve it; leaving the part out does.
    The provider's reason is for staff: it is not part of the text that is published."""
    group = HitGroup(
        _token(checked.source, f"confidential:{reason}"),
        "confidential",
        "",
        [("", str(_l("Utförarens motivering: %(reason)s", reason=reason or "–")), "")],
        1,
    )
    checked.groups.insert(0, group)
    return checked


def unresolved(checked: list[Checked], overrides: dict[str, str]) -> list[HitGroup]:
    """The hit groups without an override reason."""
    return [g for c in checked for g in c.groups if not overrides.get(g.token, "").strip()]
