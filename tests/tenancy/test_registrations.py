"""Provider organisations are national, one row per organisation number, registered with
the municipalities that entered them or have agreements with them: each municipality's
lists show its own, and staff change an organisation's details only while it is theirs
alone."""

from __future__ import annotations

import sqlalchemy as sa

from portal import tenancy
from portal.extensions import db
from portal.models import Provider, Role
from tests import factories
from tests.conftest import text_of


def _admin(app, municipality, site: str):
    """A signed-in client of a new administrator of ``municipality``, at its prefix."""
    db.session.commit()
    with tenancy.use(municipality):
        user = factories.user(Role.ADMIN)
        db.session.commit()
        client = app.test_client()
        client.login(user, site=site)
        db.session.rollback()
    return client


def test_each_municipality_lists_the_organisations_registered_with_it(app, home, other):
    db.session.commit()
    with tenancy.use(other):
        lynx = factories.provider("Lodjurens Omsorg AB")
        lynx_id, number = lynx.id, lynx.org_number
        db.session.commit()
    a = _admin(app, home, "/exempelby")
    assert "Lodjurens" not in text_of(a.get("/exempelby/handlaggare/utforare"))
    assert "Lodjurens" not in text_of(a.get("/exempelby/utforare"))
    assert "Lodjurens" not in a.get("/exempelby/api/v1/providers").get_data(as_text=True)
    assert a.get(f"/exempelby/handlaggare/utforare/{lynx_id}/andra").status_code == 404

    # Entered in A too, by its number: the same organisation, now registered with both.
    page = a.get("/exempelby/handlaggare/utforare/ny")
    assert page.status_code == 200
    entered = a.post(
        "/exempelby/handlaggare/utforare/ny",
        data={"name": "Lodjurens Omsorg AB", "org_number": number, "ownership": "private"},
    )
    assert entered.status_code == 302, text_of(entered)[:500]
    assert entered.headers["Location"].endswith(f"/handlaggare/utforare/{lynx_id}")
    db.session.commit()
    with tenancy.use(None):
        same = db.session.scalars(sa.select(Provider).filter_by(org_number=number)).all()
        assert [p.id for p in same] == [lynx_id]
        assert same[0].registrations() == {home.id, other.id}
        db.session.rollback()
    assert "Lodjurens" in text_of(a.get("/exempelby/handlaggare/utforare"))
    # Serving two municipalities, it is kept by its own administrators: neither edits it.
    b = _admin(app, other, "/provby")
    for client, site in ((a, "/exempelby"), (b, "/provby")):
        assert client.get(f"{site}/handlaggare/utforare/{lynx_id}/andra").status_code == 404
