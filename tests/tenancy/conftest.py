"""Two municipalities in one database: the tests' own (``exempelby``, made by ``app``) and
a second one, ``provby``, each with its own data made in its own scope."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portal import municipalities, tenancy
from portal.extensions import db
from portal.models import Municipality
from tests import factories


@pytest.fixture
def home(app) -> Municipality:
    return db.session.get(Municipality, app.config["TEST_MUNICIPALITY_ID"])


@pytest.fixture
def other(app) -> Municipality:
    """Provby kommun, with nothing in it yet."""
    provby = Municipality(slug="provby", name="Provby kommun")
    db.session.add(provby)
    db.session.commit()
    municipalities.forget()
    return provby


@pytest.fixture
def worlds(app, home, other):
    """``factories.world()`` made in each municipality, as ids: {slug: {name: id}}. Ids,
    not objects: an object of one municipality cannot be refreshed in another's scope."""
    made = {}
    for municipality in (home, other):
        db.session.commit()
        with tenancy.use(municipality):
            world = factories.world()
            made[municipality.slug] = SimpleNamespace(
                **{name: obj.id for name, obj in vars(world).items()}
            )
            db.session.commit()
    return made
