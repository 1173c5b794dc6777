"""The code's filter (portal.tenancy), on the suite's database: a municipality's scope sees
and writes only its own rows and the national ones; the national scope sees no
municipality's rows. Row-level security on PostgreSQL is tested in tests/security/test_rls.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import tenancy
from portal.extensions import db
from portal.models import (
    Agreement,
    AuditEvent,
    Committee,
    InformationRequest,
    Provider,
    Role,
    Setting,
    Submission,
    User,
)
from portal.models.tenant import Tenant, TenantOrNational, TenantOrNationalStrict
from portal.tenancy import CrossTenantWrite
from tests import factories
from tests.pdfs import pdf_bytes

NATIONAL_TABLES = {"municipality", "job_schedule", "alembic_version", "provider_municipality"}
# Tables without their own column: each row follows a parent of one municipality.
FOLLOWS_PARENT = {"user_committee"}


def test_every_table_is_municipal_shared_or_national():
    """A new table must say whose rows it holds: a mixin, or one of the named exceptions."""
    mixins = (Tenant, TenantOrNational, TenantOrNationalStrict)
    kinds = {}
    for mapper in db.Model.registry.mappers:
        kinds[mapper.local_table.name] = next(
            (m.__name__ for m in mixins if issubclass(mapper.class_, m)), None
        )
    for table in db.metadata.tables:
        assert kinds.get(table) is not None or table in NATIONAL_TABLES | FOLLOWS_PARENT, (
            f"{table}: give it a tenancy mixin or name it national"
        )


def _in(municipality, work):
    db.session.commit()
    with tenancy.use(municipality):
        try:
            return work()
        finally:
            db.session.rollback()


def test_a_scope_sees_its_rows_and_the_national_ones_only(worlds, home, other):
    a, b = worlds["exempelby"], worlds["provby"]
    committees = _in(home, lambda: set(db.session.scalars(sa.select(Committee.id))))
    assert committees == {a.committee_x, a.committee_y}
    # Provider organisations are national: both municipalities see both worlds' ones.
    providers = _in(other, lambda: set(db.session.scalars(sa.select(Provider.id))))
    assert {a.org_a, b.org_a} <= providers
    # Staff belong to their municipality; provider users are national.
    users = _in(home, lambda: set(db.session.scalars(sa.select(User.id))))
    assert a.reviewer_x in users and b.reviewer_x not in users
    assert b.user_a in users
    # By id, through a join, counted, and loaded as a relationship: nothing of B in A.
    assert _in(home, lambda: db.session.get(Committee, b.committee_x)) is None
    joined = _in(
        home,
        lambda: db.session.scalars(
            sa.select(Agreement.id).join(Agreement.committee).where(Committee.code == "VON")
        ).all(),
    )
    b_agreements = _in(other, lambda: set(db.session.scalars(sa.select(Agreement.id))))
    assert joined and not set(joined) & b_agreements
    count = _in(home, lambda: db.session.scalar(sa.select(sa.func.count(Agreement.id))))
    assert count == 3
    org_agreements = _in(home, lambda: {x.id for x in db.session.get(Provider, b.org_b).agreements})
    assert org_agreements == set()  # B's organisation has no agreement in A


def test_the_national_scope_sees_no_municipal_rows(worlds):
    with tenancy.use(None):
        db.session.commit()
        assert db.session.scalars(sa.select(Committee)).all() == []
        assert db.session.scalars(sa.select(Submission)).all() == []
        staff = db.session.scalars(sa.select(User).where(User.role == Role.REVIEWER)).all()
        assert staff == []
        assert len(db.session.scalars(sa.select(Provider)).all()) == 4  # national ones
        db.session.rollback()


def test_updates_and_deletes_touch_only_the_scope(worlds, home, other):
    def rename_all():
        changed = db.session.execute(sa.update(Committee).values(name=Committee.code)).rowcount
        db.session.commit()
        return changed

    assert _in(home, rename_all) == 2
    names = _in(other, lambda: set(db.session.scalars(sa.select(Committee.name))))
    assert names == {"Nämnd VON", "Nämnd KFN"}
    removed = _in(home, lambda: db.session.execute(sa.delete(Setting)).rowcount)
    assert removed == 0


def test_a_row_of_another_municipality_cannot_be_written(worlds, home, other):
    b = worlds["provby"]

    def issue():
        committee, org, reviewer = (
            db.session.get(Committee, b.committee_x),
            db.session.get(Provider, b.org_a),
            db.session.get(User, b.reviewer_x),
        )
        (submission,) = factories.info_request(committee, [org], reviewer)
        db.session.commit()
        return submission.request_id

    request_id = _in(other, issue)
    db.session.commit()
    with tenancy.use(other):
        request = db.session.get(InformationRequest, request_id)
        db.session.expunge(request)
        db.session.rollback()
    with tenancy.use(home):
        db.session.add(request)  # carried over from B's scope, changed in A's
        request.title = "Ändrad i fel kommun"
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
        db.session.rollback()
        committee = Committee(code="NY", name="Ny nämnd", municipality_id=other.id)
        db.session.add(committee)
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
        db.session.rollback()
    with tenancy.use(None):
        db.session.add(Committee(code="RIKS", name="Nationell nämnd"))
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
        db.session.rollback()


def test_new_rows_take_the_scope_and_audit_events_stay_in_it(worlds, home, other):
    a = worlds["exempelby"]
    with tenancy.use(other):
        db.session.add(AuditEvent(action="test.mark", detail={}))
        db.session.commit()
    events = _in(home, lambda: db.session.scalars(sa.select(AuditEvent.action)).all())
    assert "test.mark" not in events
    marked = _in(
        other,
        lambda: db.session.scalar(
            sa.select(AuditEvent.municipality_id).where(AuditEvent.action == "test.mark")
        ),
    )
    assert marked == other.id
    assert _in(home, lambda: db.session.get(User, a.reviewer_x).municipality_id) == home.id
    assert _in(home, lambda: db.session.get(User, a.user_a).municipality_id) is None


def test_an_object_loaded_in_one_scope_is_not_served_in_another(worlds, home):
    """An expired object in the identity map is refreshed under the new scope's filter."""
    a = worlds["exempelby"]
    committee_id = a.committee_x
    db.session.commit()
    with tenancy.use(None):
        assert db.session.get(Committee, committee_id) is None
        db.session.rollback()


def test_reconcile_counts_the_files_of_every_municipality(app, home, other):
    """The object store is the installation's: a file of B is not an orphan seen from A."""
    from portal.attachments import reconcile

    for municipality, content in ((home, pdf_bytes("A")), (other, pdf_bytes("B"))):
        db.session.commit()
        with tenancy.use(municipality):
            w = factories.world()
            factories.publication(w, files=[(1, "bilaga.pdf", content)])
            db.session.commit()
    db.session.commit()
    with tenancy.use(home):
        report = reconcile(delete=True, min_age=timedelta(0))
    assert report.orphan_objects == [] and report.missing_objects == []
    assert report.deleted == []
