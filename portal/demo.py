"""The demo municipality: ``flask --app portal demo load``.

Loading twice gives the same data: the registry is matched on natural keys and
the workflow scenario is played once, through the workflow module like a real
user would.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from portal import municipalities, search, tenancy, workflow
from portal.auth.passwords import hash_password
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Agreement,
    Committee,
    FieldType,
    FollowUpForm,
    FollowUpItem,
    FollowUpPlan,
    Impact,
    InformationRequest,
    Municipality,
    Ownership,
    Provider,
    Publication,
    RequestField,
    Role,
    Route,
    ServiceArea,
    Submission,
    SubmissionKind,
    User,
)

PASSWORD = "Insyn-demo-2026"
HOME_SLUG = "exempelby"
SECOND_SLUG = "provby"
SECOND_STAFF = [
    (Role.REVIEWER, "handlaggare@provby.example", "Eva Strand"),
    (Role.ADMIN, "admin@provby.example", "Johan Ås"),
]

COMMITTEES = [
    ("Vård- och omsorgsnämnden", "VON"),
    ("Socialnämnden", "SN"),
    ("Tekniska nämnden", "TN"),
]
SERVICE_AREAS = [
    ("Hemtjänst", "VON"),
    ("Särskilt boende", "VON"),
    ("Daglig verksamhet LSS", "SN"),
    ("Snöröjning", "TN"),
]
# name, org number, ownership, service area, route, yearly value (SEK), impact
PROVIDERS = [
    (
        "Omsorgshuset i Exempelby AB",
        "556677-8899",
        Ownership.PRIVATE,
        "Hemtjänst",
        Route.CUSTOMER_CHOICE,
        12_000_000,
        Impact.HIGH,
    ),
    (
        "Trygga Händer Hemtjänst AB",
        "556123-4567",
        Ownership.PRIVATE,
        "Hemtjänst",
        Route.CUSTOMER_CHOICE,
        6_500_000,
        Impact.MEDIUM,
    ),
    (
        "Hemtjänsten Exempelby kommun (egen regi)",
        "212000-0142",
        Ownership.IN_HOUSE,
        "Hemtjänst",
        Route.IN_HOUSE_ASSIGNMENT,
        48_000_000,
        Impact.HIGH,
    ),
    (
        "Solgårdens Äldreboende AB",
        "556234-5677",
        Ownership.PRIVATE,
        "Särskilt boende",
        Route.PROCUREMENT,
        45_000_000,
        Impact.HIGH,
    ),
    (
        "Stiftelsen Gemenskap",
        "802456-7896",
        Ownership.NON_PROFIT,
        "Daglig verksamhet LSS",
        Route.PARTNERSHIP,
        3_200_000,
        Impact.MEDIUM,
    ),
    (
        "Föreningen Daglig Glädje",
        "802012-3454",
        Ownership.NON_PROFIT,
        "Daglig verksamhet LSS",
        Route.CUSTOMER_CHOICE,
        1_800_000,
        Impact.LOW,
    ),
    (
        "Exempelby Fastighetsservice AB",
        "556900-1232",
        Ownership.MUNICIPAL_COMPANY,
        "Snöröjning",
        Route.IN_HOUSE_ASSIGNMENT,
        4_000_000,
        Impact.MEDIUM,
    ),
    (
        "Vägvisarna Snö & Väg AB",
        "559123-4561",
        Ownership.PRIVATE,
        "Snöröjning",
        Route.DIRECT_AWARD,
        600_000,
        Impact.LOW,
    ),
]
USERS = [
    (Role.PROVIDER_USER, "kvalitet@omsorgshuset.example", "Anna Lind", "556677-8899", []),
    (Role.PROVIDER_ADMIN, "chef@omsorgshuset.example", "Karin Berg", "556677-8899", []),
    (Role.PROVIDER_USER, "kvalitet@solgarden.example", "Omar Haddad", "556234-5677", []),
    (Role.REVIEWER, "handlaggare@exempelby.example", "Lars Ek", None, ["VON", "SN"]),
    (Role.PUBLISHER, "publicerare@exempelby.example", "Maria Sund", None, ["VON", "SN", "TN"]),
    (Role.ADMIN, "admin@exempelby.example", "Per Holm", None, []),
]
QUALITY_REQUIREMENTS = (
    "Ledningssystem för systematiskt kvalitetsarbete. Kontaktperson för varje brukare. "
    "Avvikelser rapporteras till kommunen inom fem arbetsdagar."
)
QUALITY_FIELDS = [
    ("Antal brukare den 1 oktober", FieldType.NUMBER, "personer", True),
    (
        "Andel tillsvidareanställd personal med undersköterskeexamen",
        FieldType.PERCENTAGE,
        "%",
        True,
    ),
    (
        "Genomsnittligt antal personal som besöker en brukare under 14 dagar",
        FieldType.NUMBER,
        "personer",
        True,
    ),
    (
        "Har verksamheten ett ledningssystem för systematiskt kvalitetsarbete?",
        FieldType.YES_NO,
        "",
        True,
    ),
    ("Datum för senaste egenkontroll av läkemedelshantering", FieldType.DATE, "", True),
    ("Beskriv hur ni arbetar med brukarnas delaktighet", FieldType.TEXT, "", True),
    ("Kvalitetsberättelse", FieldType.FILE, "", False),
]


def load() -> list[tuple[str, str, str]]:
    """Create what is missing and return the demo logins as (municipality, role, e-mail).

    Two municipalities: Exempelby with the whole scenario, and Provby, whose request to
    Omsorgshuset (which serves both) waits for an answer."""
    home = _municipality(HOME_SLUG, current_app.config["MUNICIPALITY"])
    second = _municipality(SECOND_SLUG, "Provby kommun", email="insyn@provby.example")
    municipalities.forget()
    with tenancy.use(home):
        logins = [(HOME_SLUG, role, email) for role, email in _load_municipality()]
    with tenancy.use(second):
        logins += [(SECOND_SLUG, role, email) for role, email in _load_second()]
    return logins


def _municipality(slug: str, name: str, **contact: str) -> int:
    found = db.session.scalar(sa.select(Municipality.id).filter_by(slug=slug))
    if found is None:
        municipality = Municipality(slug=slug, name=name, **contact)
        db.session.add(municipality)
        db.session.flush()
        found = municipality.id
    db.session.commit()
    return found


def _load_second() -> list[tuple[str, str]]:
    """Provby: one committee, Omsorgshuset's agreement, staff, and a quality request
    issued to Omsorgshuset and not answered yet."""
    committee = _get_or_create(
        Committee, defaults=_contact("SN", SECOND_SLUG), code="SN", name="Socialnämnden"
    )
    area = _get_or_create(ServiceArea, name="Hemtjänst", committee=committee)
    omsorg = db.session.scalar(sa.select(Provider).filter_by(org_number="556677-8899"))
    _get_or_create(
        Agreement,
        reference="AVT-SN-001",
        committee=committee,
        defaults=dict(
            provider=omsorg,
            service_area=area,
            route=Route.CUSTOMER_CHOICE,
            starts_on=today().replace(month=1, day=1),
            yearly_value_sek=Decimal(8_000_000),
            impact=Impact.HIGH,
            responsible_officer="Eva Strand",
            quality_requirements=QUALITY_REQUIREMENTS,
        ),
    )
    users = {
        email: _get_or_create(
            User,
            email=email,
            defaults=dict(
                name=name,
                role=role,
                committees=[committee] if role is Role.REVIEWER else [],
                password_hash=hash_password(PASSWORD),
            ),
        )
        for role, email, name in SECOND_STAFF
    }
    if not db.session.scalar(sa.select(InformationRequest.id).limit(1)):
        request = InformationRequest(
            committee=committee,
            service_area=area,
            title=f"Kvalitetsredovisning hemtjänst {today().year}",
            instructions="Svara på samtliga frågor. Svaren publiceras på kommunens webbplats.",
            deadline=today() + timedelta(days=30),
            fields=[
                RequestField(position=i, label=label, type=kind, unit=unit, required=required)
                for i, (label, kind, unit, required) in enumerate(QUALITY_FIELDS, 1)
            ],
        )
        workflow.issue_request(request, [omsorg], users["handlaggare@provby.example"])
    db.session.commit()
    return [(str(role.value), email) for role, email, _name in SECOND_STAFF]


def _load_municipality() -> list[tuple[str, str]]:
    committees = {
        code: _get_or_create(Committee, defaults=_contact(code), code=code, name=name)
        for name, code in COMMITTEES
    }
    areas = {
        name: _get_or_create(ServiceArea, name=name, committee=committees[code])
        for name, code in SERVICE_AREAS
    }
    providers = {}
    for number, (name, org, ownership, area, route, value, impact) in enumerate(PROVIDERS, 1):
        provider = _get_or_create(Provider, name=name, org_number=org, ownership=ownership)
        providers[org] = provider
        _get_or_create(
            Agreement,
            reference=f"AVT-{areas[area].committee.code}-{number:03d}",
            committee=areas[area].committee,
            defaults=dict(
                provider=provider,
                service_area=areas[area],
                route=route,
                starts_on=today().replace(month=1, day=1) - timedelta(days=365),
                ends_on=today().replace(month=12, day=31) + timedelta(days=730),
                yearly_value_sek=Decimal(value),
                impact=impact,
                responsible_officer="Lars Ek",
                quality_requirements=QUALITY_REQUIREMENTS,
            ),
        )
    users = {}
    for role, email, name, org, codes in USERS:
        users[email] = _get_or_create(
            User,
            email=email,
            defaults=dict(
                name=name,
                role=role,
                provider=providers.get(org),
                committees=[committees[c] for c in codes],
                password_hash=hash_password(PASSWORD),
            ),
        )
    db.session.flush()
    _plan(committees["VON"], areas)
    if not db.session.scalar(sa.select(InformationRequest.id).limit(1)):
        _scenario(committees, areas, providers, users)
    db.session.commit()
    return [(str(role.value), email) for role, email, *_ in USERS]


def _contact(code: str, slug: str = HOME_SLUG) -> dict:
    """A committee's contact details, as its documents' footer shows them."""
    return {
        "postal_address": f"Box 100\n123 45 {slug.capitalize()}",
        "phone": "0123-45 60 00",
        "email": f"{code.lower()}@{slug}.example",
    }


def _get_or_create(model, defaults: dict | None = None, **keys):
    obj = db.session.scalar(
        sa.select(model).filter_by(**{k: v for k, v in keys.items() if not isinstance(v, db.Model)})
    )
    if obj is None:
        obj = model(**keys, **(defaults or {}))
        db.session.add(obj)
        db.session.flush()
    return obj


def _plan(committee: Committee, areas: dict[str, ServiceArea]) -> None:
    year = today().year
    if db.session.scalar(sa.select(FollowUpPlan).filter_by(committee=committee, year=year)):
        return
    plan = FollowUpPlan(committee=committee, year=year)
    plan.items = [
        FollowUpItem(
            service_area=areas["Hemtjänst"],
            form=FollowUpForm.OPERATIONS,
            responsible="Lars Ek",
            interval="Årligen, kvalitetsredovisning 31 mars",
            feedback_public=True,
            focus_areas="Nöjdhet, trygghet, kontinuitet",
        ),
        FollowUpItem(
            service_area=areas["Särskilt boende"],
            form=FollowUpForm.CONTRACT,
            responsible="Lars Ek",
            planned_from=today().replace(month=9, day=1),
            planned_to=today().replace(month=10, day=31),
            focus_areas="Delaktighet, kommunikation, avvikelser",
        ),
    ]
    db.session.add(plan)


def _scenario(committees, areas, providers, users) -> None:
    """Requests, answers in every review state, a deviation, an action plan, publications."""
    reviewer = users["handlaggare@exempelby.example"]
    publisher = users["publicerare@exempelby.example"]
    anna = users["kvalitet@omsorgshuset.example"]
    omar = users["kvalitet@solgarden.example"]
    hemtjanst = [
        p
        for p in providers.values()
        if p.agreements and p.agreements[0].service_area is areas["Hemtjänst"]
    ]

    quality = InformationRequest(
        committee=committees["VON"],
        service_area=areas["Hemtjänst"],
        title=f"Kvalitetsredovisning hemtjänst {today().year}",
        instructions="Svara på samtliga frågor. Uppgifterna avser förhållandena den 1 oktober. "
        "Svaren publiceras på kommunens webbplats.",
        deadline=today() + timedelta(days=21),
        fields=[
            RequestField(position=i, label=label, type=kind, unit=unit, required=required)
            for i, (label, kind, unit, required) in enumerate(QUALITY_FIELDS, 1)
        ],
    )
    answers = workflow.issue_request(quality, hemtjanst, reviewer)
    keys = [f.key for f in quality.fields]
    by_provider = {s.provider.org_number: s for s in answers}

    def answer(submission, user, values):
        workflow.save_draft(submission, user, dict(zip(keys, values, strict=False)))
        workflow.submit(submission, user)

    omsorg = by_provider["556677-8899"]
    answer(
        omsorg,
        anna,
        [
            "142",
            "78",
            "11",
            "yes",
            (today() - timedelta(days=40)).isoformat(),
            "Brukarråd varannan månad och individuella genomförandeplaner.",
        ],
    )
    workflow.approve(omsorg, reviewer, "Komplett redovisning.")
    _publish(
        omsorg,
        publisher,
        title=f"Kvalitetsredovisning hemtjänst {today().year}: Omsorgshuset",
        summary="Omsorgshusets svar på kommunens årliga frågor om kvalitet i hemtjänsten.",
        answer_keys=keys[:6],
        documents=[],
    )

    egen = by_provider["212000-0142"]
    egen_user = _provider_user(providers["212000-0142"], "kvalitet@hemtjanst.exempelby.example")
    answer(
        egen,
        egen_user,
        [
            "310",
            "81",
            "14",
            "yes",
            (today() - timedelta(days=90)).isoformat(),
            "Delaktighet följs upp i brukarundersökningen.",
        ],
    )
    workflow.ask_clarification(
        egen,
        reviewer,
        "Ange hur ofta brukarundersökningen genomförs och hur resultatet används.",
        today() + timedelta(days=10),
    )
    trygga = by_provider["556123-4567"]
    trygga_user = _provider_user(providers["556123-4567"], "kvalitet@tryggahander.example")
    answer(
        trygga,
        trygga_user,
        [
            "64",
            "65",
            "16",
            "yes",
            (today() - timedelta(days=20)).isoformat(),
            "Kontaktmannaskap och veckovisa avstämningar.",
        ],
    )

    _provider_portal_scenario(committees, areas, providers, reviewer)

    overdue = InformationRequest(
        committee=committees["VON"],
        service_area=areas["Särskilt boende"],
        title="Bemanning nattetid på särskilt boende",
        instructions="Redovisa bemanningen nattetid per enhet under vecka 40.",
        deadline=today() - timedelta(days=5),
        fields=[
            RequestField(
                position=1,
                label="Antal personal per natt och enhet",
                type=FieldType.NUMBER,
                unit="personer",
            )
        ],
    )
    workflow.issue_request(overdue, [providers["556234-5677"]], reviewer)

    deviation = _report(
        SubmissionKind.DEVIATION_REPORT,
        committees["VON"],
        providers["556234-5677"],
        "Fördröjd läkemedelsutdelning",
        omar,
        service_area=areas["Särskilt boende"],
    )
    workflow.save_draft(
        deviation,
        omar,
        {
            "category": "deviation",
            "severity": "medium",
            "occurred_on": (today() - timedelta(days=12)).isoformat(),
            "description": "Kvällens läkemedel delades ut två timmar sent på en avdelning.",
            "immediate_measures": "Extra personal inkallad, läkare informerad.",
        },
    )
    workflow.submit(deviation, omar)
    workflow.approve(deviation, reviewer, "Åtgärdsplan begärs.")

    plan = _report(
        SubmissionKind.ACTION_PLAN,
        committees["VON"],
        providers["556234-5677"],
        "Åtgärdsplan: läkemedelsutdelning",
        omar,
        deviation=deviation,
    )
    workflow.save_draft(
        plan,
        omar,
        {
            "measures": [
                {
                    "description": "Ny rutin för överlämning mellan dag- och kvällspass",
                    "owner": "Enhetschef",
                    "due": (today() + timedelta(days=30)).isoformat(),
                    "status": "in_progress",
                },
                {
                    "description": "Utbildning i läkemedelshantering för all kvällspersonal",
                    "owner": "Sjuksköterska",
                    "due": (today() + timedelta(days=60)).isoformat(),
                    "status": "planned",
                },
            ]
        },
    )
    workflow.submit(plan, omar)
    workflow.approve(plan, reviewer)

    mistake = _publish(
        deviation,
        publisher,
        title="Avvikelse: fördröjd läkemedelsutdelning",
        summary="Publicerades av misstag innan åtgärdsplanen var klar.",
        answer_keys=[],
        documents=[],
    )
    workflow.withdraw_publication(
        mistake, publisher, "Publicerades av misstag innan åtgärdsplanen var klar."
    )
    search.refresh(mistake)

    old_plan = _report(
        SubmissionKind.ACTION_PLAN,
        committees["VON"],
        providers["556234-5677"],
        "Åtgärdsplan: fallprevention",
        omar,
    )
    workflow.save_draft(
        old_plan,
        omar,
        {
            "measures": [
                {
                    "description": "Fallriskbedömning för alla boende",
                    "owner": "Sjuksköterska",
                    "due": (today() - timedelta(days=60)).isoformat(),
                    "status": "done",
                    "done_on": (today() - timedelta(days=70)).isoformat(),
                },
            ]
        },
    )
    workflow.submit(old_plan, omar)
    workflow.approve(old_plan, reviewer)
    workflow.close(old_plan, reviewer, "Effekten följd upp vid besök.")
    _publish(
        old_plan,
        publisher,
        title="Åtgärdsplan: fallprevention på Solgården",
        summary="Solgårdens åtgärder efter fall bland de boende. Alla åtgärder är genomförda "
        "och nämnden har följt upp effekten.",
        answer_keys=["measures"],
        documents=[],
    )

    gemenskap = _provider_user(providers["802456-7896"], "kvalitet@gemenskap.example")
    rejected = _report(
        SubmissionKind.DEVIATION_REPORT,
        committees["SN"],
        providers["802456-7896"],
        "Klagomål på lokaler",
        gemenskap,
    )
    workflow.save_draft(
        rejected,
        gemenskap,
        {
            "category": "complaint",
            "severity": "low",
            "occurred_on": (today() - timedelta(days=3)).isoformat(),
            "description": "En anhörig har klagat på ventilationen i lokalen.",
            "immediate_measures": "Fastighetsägaren kontaktad.",
        },
    )
    workflow.submit(rejected, gemenskap)
    workflow.reject(rejected, reviewer, "Gäller fastighetsägaren, inte den avtalade verksamheten.")

    vagvisarna = _provider_user(providers["559123-4561"], "drift@vagvisarna.example")
    draft = _report(
        SubmissionKind.DEVIATION_REPORT,
        committees["TN"],
        providers["559123-4561"],
        "Utebliven snöröjning",
        vagvisarna,
    )
    workflow.withdraw(draft, vagvisarna)


def _publish(submission: Submission, publisher: User, **values) -> Publication:
    """Publish and index, as the staff publish page does: search finds the demo's answers."""
    publication = workflow.publish(submission, publisher, **values)
    search.refresh(publication)
    return publication


def _report(kind, committee, provider, title, user, **links) -> Submission:
    return workflow.start_report(
        Submission(kind=kind, committee=committee, provider=provider, title=title, **links), user
    )


def _provider_user(provider: Provider, email: str) -> User:
    return _get_or_create(
        User,
        email=email,
        defaults=dict(
            name="",
            role=Role.PROVIDER_USER,
            provider=provider,
            password_hash=hash_password(PASSWORD),
        ),
    )


def _provider_portal_scenario(committees, areas, providers, reviewer) -> None:
    """What waits for Omsorgshuset's quality manager: an open request with a file field and
    an action plan the committee asked for after a follow-up."""
    from portal.models import Finding

    summer = InformationRequest(
        committee=committees["VON"],
        service_area=areas["Hemtjänst"],
        title="Kontinuitet och bemanning under sommaren",
        instructions="Uppgifterna avser perioden 1 juni–31 augusti. Bifoga gärna er "
        "bemanningsplan för sommaren.",
        deadline=today() + timedelta(days=10),
        fields=[
            RequestField(
                position=1,
                label="Andel timmar utförda av ordinarie personal",
                type=FieldType.PERCENTAGE,
                unit="%",
            ),
            RequestField(
                position=2,
                label="Antal vikarier som arbetade under perioden",
                type=FieldType.NUMBER,
                unit="personer",
            ),
            RequestField(
                position=3,
                label="Träffade alla brukare sin kontaktperson minst en gång i veckan?",
                type=FieldType.YES_NO,
            ),
            RequestField(
                position=4, label="Beskriv hur sommarvikarierna introducerades", type=FieldType.TEXT
            ),
            RequestField(
                position=5,
                label="Bemanningsplan för sommaren",
                type=FieldType.FILE,
                required=False,
                for_publication=False,
            ),
        ],
    )
    workflow.issue_request(summer, [providers["556677-8899"]], reviewer)
    agreement = providers["556677-8899"].agreements[0]
    workflow.record_finding(
        Finding(
            agreement=agreement,
            assessed_on=today() - timedelta(days=7),
            meets_requirements=False,
            deficiencies="Genomförandeplanerna var inte uppdaterade för fyra av tio "
            "granskade brukare.",
            goal_effect="Brukarnas delaktighet i planeringen av insatserna kan inte säkerställas.",
            action_plan_due=today() + timedelta(days=30),
        ),
        reviewer,
    )
