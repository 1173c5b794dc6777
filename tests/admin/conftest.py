"""Fixtures of the staff tests: the two-committee world and logged-in browsers per user."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import FieldType, RequestField, Role
from tests.admin.helpers import answer


@pytest.fixture
def w(make):
    world = make.world()
    world.reviewer_x2 = make.user(Role.REVIEWER, committees=[world.committee_x])
    db.session.commit()
    return world


@pytest.fixture
def browser(app):
    """``browser(user)``: a separate logged-in client, as a second browser would be."""

    def login(user):
        client = app.test_client()
        client.login(user)
        return client

    return login


def quality_fields() -> list[RequestField]:
    return [
        RequestField(position=1, label="Antal brukare", type=FieldType.NUMBER, unit="personer"),
        RequestField(position=2, label="Beskriv arbetet med delaktighet", type=FieldType.TEXT),
        RequestField(position=3, label="Kvalitetsberättelse", type=FieldType.FILE, required=False),
        RequestField(
            position=4, label="Intern kontaktperson", type=FieldType.TEXT, for_publication=False
        ),
    ]


@pytest.fixture
def submitted(w, make):
    """Org A's submitted answer to a request of committee X, with its field keys."""
    (sub,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        fields=quality_fields(),
        service_area=w.area_x,
        title="Kvalitetsredovisning 2026",
    )
    keys = [f.key for f in sub.request.fields]
    answer(
        sub,
        w.user_a,
        {keys[0]: "142", keys[1]: "Brukarråd varannan månad.", keys[3]: "Anna, 070-123 45 67"},
    )
    sub.keys = keys
    return sub
