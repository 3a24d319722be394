"""A provider's administrator gives roles on the web and the API: an account
gets the role at once, an address without one gets an invitation it accepts
after registering; revocation; bad input changes nothing."""

from __future__ import annotations

import email
import email.policy
import re

from opencall.facilities import services as fac_services
from opencall.people import services as people_services
from opencall.people.queries import has_role, user_by_email
from tests import factories as F
from tests.web.conftest import Web, World, csrf

LINK = re.compile(r"/roles/invitations/([A-Za-z0-9_\-]+)")


def _setup(web: Web) -> tuple[str, int]:
    with web.factory() as s:
        p = fac_services.create_provider(s, name="Cryo-EM Centre", slug="cryo", country_iso3="ZAF")
        admin = F.user(s, email="admin@cryo.example")
        people_services.grant_role(s, admin.id, "provider_admin", provider_id=p.id)
        s.commit()
        return admin.email, p.id


def test_invite_register_accept_and_revoke(web: Web, world: World) -> None:
    admin_email, pid = _setup(web)
    admin = web.login(admin_email, "fr")
    page = admin.get("/manage/providers/cryo/people")
    assert page.status_code == 200 and "Personnes et rôles" in page.text
    tok = csrf(admin, "/manage/providers/cryo/people")
    r = admin.post(
        "/manage/providers/cryo/people",
        data={"csrf_token": tok, "email": "New.Chair@uni.example", "role": "chair", "scope": ""},
    )
    assert r.status_code == 303
    msg = email.message_from_string(web.mails()[-1], policy=email.policy.default)
    body = msg.get_body().get_content()  # type: ignore[union-attr]
    assert msg["To"] == "new.chair@uni.example" and "Président" in body
    token = LINK.search(body).group(1)  # type: ignore[union-attr]
    # the link is shown to anyone holding it; accepting needs the invited account
    assert "new.chair@uni.example" in web.client().get(f"/roles/invitations/{token}").text
    other = web.login(world.emails["other"])
    t2 = csrf(other, f"/roles/invitations/{token}")
    r = other.post(f"/roles/invitations/{token}", data={"csrf_token": t2})
    assert r.status_code == 403 and "another e-mail address" in r.text
    with web.factory() as s:
        F.user(s, email="new.chair@uni.example")
        s.commit()
    newcomer = web.login("new.chair@uni.example")
    t3 = csrf(newcomer, f"/roles/invitations/{token}")
    assert newcomer.post(f"/roles/invitations/{token}", data={"csrf_token": t3}).status_code == 303
    with web.factory() as s:
        u = user_by_email(s, "new.chair@uni.example")
        assert u is not None and has_role(s, u.id, ("chair",), provider_id=pid)
    # an existing account gets the role at once and is told so
    r = admin.post(
        "/manage/providers/cryo/people",
        data={"csrf_token": tok, "email": world.emails["other"], "role": "reviewer"},
    )
    assert r.status_code == 303
    page = admin.get("/manage/providers/cryo/people").text
    assert world.emails["other"] in page and "new.chair@uni.example" in page
    gid = re.search(r"/people/(\d+)/revoke", page)
    assert gid
    r = admin.post(f"/manage/providers/cryo/people/{gid.group(1)}/revoke", data={"csrf_token": tok})
    assert r.status_code == 303


def test_bad_input_is_refused_and_changes_nothing(web: Web, world: World) -> None:
    admin_email, _pid = _setup(web)
    admin = web.login(admin_email)
    tok = csrf(admin, "/manage/providers/cryo/people")
    with web.factory() as s:
        before = F.table_counts(s)
    for data, msg in [
        ({"email": "x@uni.example", "role": "emperor"}, "This field is required."),
        ({"email": "not an address", "role": "chair"}, "Invalid e-mail address"),
        # a call of another provider is not a scope of this one
        (
            {"email": "x@uni.example", "role": "chair", "scope": world.slugs["call"]},
            "Choose the provider or one of its calls.",
        ),
    ]:
        r = admin.post("/manage/providers/cryo/people", data={"csrf_token": tok, **data})
        assert r.status_code == 400 and msg in r.text, r.text[:500]
    with web.factory() as s:
        assert F.table_counts(s) == before


def test_the_api_gives_lists_and_takes_back_roles(web: Web, world: World) -> None:
    admin_email, pid = _setup(web)
    with web.factory() as s:
        admin = user_by_email(s, admin_email)
        assert admin is not None
        _t, raw = people_services.create_api_token(s, admin, "ops")
        s.commit()
    c = web.client()
    h = {"Authorization": f"Bearer {raw}"}
    r = c.post(
        "/api/v1/providers/cryo/roles",
        headers=h,
        json={"email": world.emails["coi"], "role": "technical_reviewer"},
    )
    assert r.status_code == 201 and r.json()["granted"]["role"] == "technical_reviewer"
    r = c.post(
        "/api/v1/providers/cryo/roles",
        headers=h,
        json={"email": "nobody@uni.example", "role": "chair"},
    )
    assert r.status_code == 201 and r.json()["invitation"]["email"] == "nobody@uni.example"
    roles = c.get("/api/v1/providers/cryo/roles", headers=h).json()["items"]
    invitations = c.get("/api/v1/providers/cryo/invitations", headers=h).json()["items"]
    assert {g["role"] for g in roles} == {"provider_admin", "technical_reviewer"}
    assert [i["email"] for i in invitations] == ["nobody@uni.example"]
    gid = next(g["id"] for g in roles if g["role"] == "technical_reviewer")
    assert c.delete(f"/api/v1/providers/cryo/roles/{gid}", headers=h).status_code == 204
    # the last administrator stays
    aid = next(g["id"] for g in roles if g["role"] == "provider_admin")
    r = c.delete(f"/api/v1/providers/cryo/roles/{aid}", headers=h)
    assert r.status_code == 400 and "at least one administrator" in r.json()["detail"]
    iid = invitations[0]["id"]
    assert c.delete(f"/api/v1/providers/cryo/invitations/{iid}", headers=h).status_code == 204
    after = c.get("/api/v1/providers/cryo/roles", headers=h).json()["items"]
    assert c.get("/api/v1/providers/cryo/invitations", headers=h).json()["items"] == []
    assert [g["role"] for g in after] == ["provider_admin"]
    r = c.post(
        "/api/v1/providers/cryo/roles", headers=h, json={"email": "a@b.example", "role": "x"}
    )
    assert r.status_code == 422
    with web.factory() as s:
        coi = user_by_email(s, world.emails["coi"])
        assert coi is not None and not has_role(s, coi.id, ("technical_reviewer",), provider_id=pid)


def test_revoking_a_call_role_revokes_its_copies_on_the_batches(web: Web) -> None:
    """A continuous call's chair serves its batches by copies of the role made at each
    cut (cycle.batches); revoking the role on the call, on the people page, takes the
    copies back too: the former chair opens no batch's cockpit (mend9b)."""
    import datetime as dt

    from sqlalchemy import select

    from opencall.cycle import batches
    from opencall.cycle import services as cycle
    from opencall.people.models import RoleGrant
    from opencall.proposals import services as ps

    with web.factory() as s:
        call = F.fast_call(s, status="draft")
        call.mode = "continuous"
        call.cutoffs = [(F.NOW + dt.timedelta(days=10)).isoformat(), call.closes_at.isoformat()]
        call.decision_days = 14
        cycle.transition_call(s, call, "open", now=F.NOW)
        slug = call.provider.slug
        admin = F.user(s, email="admin@obs.example")
        people_services.grant_role(s, admin.id, "provider_admin", provider_id=call.provider_id)
        chair = F.user(s, email="chair@obs.example")
        grant = people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        ps.submit(s, F.full_proposal(s, call), now=F.NOW - dt.timedelta(days=1))
        cycle.transition_call(s, call, "closed", now=F.NOW, reason="the receiver is down")
        (batch,) = batches.batches_of(s, call)
        gid, batch_slug, batch_id = grant.id, batch.slug, batch.id
        s.commit()
    former = web.login("chair@obs.example")
    assert former.get(f"/manage/calls/{batch_slug}").status_code == 200
    office = web.login("admin@obs.example")
    tok = csrf(office, f"/manage/providers/{slug}/people")
    r = office.post(f"/manage/providers/{slug}/people/{gid}/revoke", data={"csrf_token": tok})
    assert r.status_code == 303
    with web.factory() as s:
        left = s.scalars(select(RoleGrant).where(RoleGrant.user_id == chair.id)).all()
        assert [(g.role, g.call_id) for g in left] == [], batch_id
    assert former.get(f"/manage/calls/{batch_slug}").status_code in (403, 404)
