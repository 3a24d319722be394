"""Another call's staff, or a signed-in stranger, get the same 404 from every export and
download of a call (the CSV tables, the outcomes report in each format, the post-award
overview) as from a call that does not exist, also once the report is kept in the
cache; and the JSON API answers an id that exists and one that does not alike (no
enumeration through its errors)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.scale.test_results_page_queries import published
from tests.web.conftest import Web

EXPORTS = [
    "/manage/calls/{slug}/decisions?format=csv",
    "/manage/calls/{slug}/schedule?format=csv",
    "/manage/calls/{slug}/ranking?format=csv",
    "/manage/calls/{slug}/assignment?format=csv",
    "/manage/calls/{slug}/audit?format=csv",
    "/manage/calls/{slug}/postaward?format=csv",
    "/manage/calls/{slug}/report",
    "/manage/calls/{slug}/report.csv",
    "/manage/calls/{slug}/report.json",
    "/manage/calls/{slug}/report.pdf",
]


def test_another_calls_staff_get_404_from_every_export(
    web: Web, factory: sessionmaker[Session]
) -> None:
    mine = published(factory, 3)
    theirs = published(factory, 3)  # another call, its own chair and user office
    office = web.login(mine["office"])
    for path in EXPORTS:  # the owner reads them all (the report is computed and kept)
        r = office.get(path.format(slug=mine["slug"]))
        assert r.status_code == 200, (path, r.status_code)
    for who in ("chair", "office"):
        c = web.login(theirs[who])
        for path in EXPORTS:
            r = c.get(path.format(slug=mine["slug"]))
            missing = c.get(path.format(slug="no-such-call"))
            assert r.status_code == missing.status_code == 404, (who, path, r.status_code)
            assert mine["codes"][0] not in r.text


def test_the_api_answers_existing_and_missing_ids_alike(
    web: Web, factory: sessionmaker[Session]
) -> None:
    data = published(factory, 3)
    with factory() as s:
        stranger = F.user(s)
        _t, raw = people_services.create_api_token(s, stranger, "probe")
        pid = s.scalar(select(Proposal.id).where(Proposal.code == data["codes"][0]))
        call_id = s.scalar(select(Call.id).where(Call.slug == data["slug"]))
        chair = s.scalar(select(User.id).where(User.email == data["chair"]))
        s.commit()
    assert pid and call_id and chair
    c = web.client()
    h = {"Authorization": f"Bearer {raw}"}
    missing_id = 2**31 - 2
    for path in (
        "/api/v1/proposals/{p}",
        "/api/v1/proposals/{p}/full",
        "/api/v1/proposals/{p}/outcome",
        "/api/v1/awards/{p}",
        "/api/v1/technical/proposals/{p}",
        "/api/v1/calls/{slug}/postaward",
        "/api/v1/calls/{slug}/conflicts",
        "/api/v1/calls/{slug}/reviewer-pool",
        "/api/v1/calls/{slug}/decisions",
        "/api/v1/calls/{slug}/schedule",
        "/api/v1/calls/{slug}/report",
        "/api/v1/technical/calls/{slug}",
    ):
        real = c.get(path.format(p=pid, slug=data["slug"]), headers=h)
        fake = c.get(path.format(p=missing_id, slug="no-such-call"), headers=h)
        assert (real.status_code, real.json()) == (fake.status_code, fake.json()), path
        assert real.status_code in (403, 404), (path, real.status_code)
