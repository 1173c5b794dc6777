"""Registration numbers (diarienummer) such as ``VON 2026/17``: gap-free per committee and year.

The counter row is incremented inside the caller's transaction, so a rolled-back
submission gives its number back and two concurrent ones queue on the row lock.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from portal.dates import today
from portal.extensions import db
from portal.models import Committee, RegistrationCounter


def next_registration_number(committee: Committee, year: int | None = None) -> str:
    year = year or today().year
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(RegistrationCounter)
        .values(
            municipality_id=committee.municipality_id,
            committee_id=committee.id,
            year=year,
            last_number=0,
        )
        .on_conflict_do_nothing()
    )
    number = db.session.execute(
        sa.update(RegistrationCounter)
        .where(RegistrationCounter.committee_id == committee.id, RegistrationCounter.year == year)
        .values(last_number=RegistrationCounter.last_number + 1)
        .returning(RegistrationCounter.last_number)
    ).scalar_one()
    return f"{committee.code} {year}/{number}"
