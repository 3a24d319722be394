"""A joint call on the public pages and the staff pages (the journey through the API:
tests/api/test_joint_call_journey.py): applicants see every provider whose resources
the call offers, with its facility and country; the partner's user office is told of
its invitation by e-mail and answers it on the staff pages (accept or decline)."""

from __future__ import annotations

import email
from email.header import decode_header, make_header
from html import unescape

import pytest
from sqlalchemy import select

from opencall import auditlog, jobs
from opencall.calls.models import CallPartner
from tests.api.test_joint_call_journey import SLUG, draft_call, partner_up, two_providers
from tests.api.test_operator_journey import account, signed_in
from tests.web.conftest import Web, csrf

pytestmark = [
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),  # pages and mail
]


def test_the_public_pages_name_every_provider_of_a_joint_call(web: Web) -> None:
    ocean, uni, _tech, res = two_providers(web)
    draft_call(ocean)
    partner_up(ocean, uni, res)
    ocean.post(f"/api/v1/calls/{SLUG}/transition", {"target": "open"})
    anon = web.client("en")
    for path in ("/", f"/calls/{SLUG}", "/calls", f"/calls/{SLUG}/awarded",
                 f"/calls/{SLUG}/after-award", f"/calls/{SLUG}/figures"):  # fmt: skip
        text = unescape(anon.get(path).text)
        for words in ("Marine Institute", "R/V Explorer", "China",
                      "Coastal University", "Sediment core lab", "Kenya"):  # fmt: skip
            assert words in text, (path, words)
    # in the reader's language
    assert "Kenia" in unescape(web.client("es").get(f"/calls/{SLUG}").text)
    got = anon.get(f"/api/v1/calls/{SLUG}").json()
    assert got["provider"] == "Marine Institute"
    assert [(p["slug"], p["name"], p["country"], p["facilities"]) for p in got["providers"]] == [
        ("ocean", "Marine Institute", "CHN", ["R/V Explorer"]),
        ("sedlab", "Coastal University", "KEN", ["Sediment core lab"]),
    ]
    listed = anon.get("/api/v1/calls").json()["items"]
    assert [len(c["providers"]) for c in listed if c["slug"] == SLUG] == [2]


def test_an_accepted_partner_with_nothing_offered_is_not_named(web: Web) -> None:
    ocean, uni, _tech, _res = two_providers(web)
    draft_call(ocean)
    ocean.post(f"/api/v1/calls/{SLUG}/partners", {"provider": "sedlab"})
    uni.post(f"/api/v1/calls/{SLUG}/partners/sedlab/accept")
    ocean.post(f"/api/v1/calls/{SLUG}/transition", {"target": "open"})
    assert "Coastal University" not in web.client("en").get(f"/calls/{SLUG}").text
    got = web.client("en").get(f"/api/v1/calls/{SLUG}").json()
    assert [p["slug"] for p in got["providers"]] == ["ocean"]


def _mail_to(web: Web, address: str) -> tuple[str, str]:
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    """The subject and body of the invitation into the joint call mailed to ``address``
    (the one linking to the staff page's invitations; the role's mail is another)."""
    found = []
    for raw in web.mails():
        msg = email.message_from_string(raw)
        body = msg.get_payload(decode=True)
        assert isinstance(body, bytes)
        if msg["To"] == address and "/manage#invitations" in body.decode():
            found.append((str(make_header(decode_header(msg["Subject"]))), body.decode()))
    assert len(found) == 1, found
    return found[0]


def test_the_partners_office_is_mailed_and_answers_on_the_staff_pages(web: Web) -> None:
    ocean, uni, _tech, res = two_providers(web)
    draft_call(ocean)
    # a second office member of the university, a call manager reading French
    account(web, "cm@sedlab.example", "Call Manager", country_iso3="KEN", language="fr")
    uni.post("/api/v1/providers/sedlab/roles",
             {"email": "cm@sedlab.example", "role": "call_manager"})  # fmt: skip
    ocean.post(f"/api/v1/calls/{SLUG}/partners", {"provider": "sedlab"})
    subject, body = _mail_to(web, "office@sedlab.example")
    assert "Coastal University" in subject and "Marine Institute" in body
    assert "Joint ship and core-lab time" in body and "/manage" in body
    subject_fr, body_fr = _mail_to(web, "cm@sedlab.example")
    assert "Coastal University" in subject_fr and "invit" in body_fr
    assert subject_fr != subject
    assert not [m for m in web.mails() if "To: office@ocean.example" in m and "invitations" in m]

    # the partner's office lands on /manage and sees the invitation
    browser = signed_in(web, "office@sedlab.example")
    page = unescape(browser.get("/manage").text)
    assert "Joint ship and core-lab time, March 2028" in page and "Marine Institute" in page
    # the owner's office has nothing to answer; nor does the partner once it answered
    assert (
        "Invitations to joint calls"
        not in signed_in(web, "office@ocean.example").get("/manage").text
    )
    accept = f"/manage/calls/{SLUG}/partners/sedlab/accept"
    # without the CSRF token: refused, nothing changes
    r = browser.post(accept, data={})
    assert r.status_code in (400, 403)
    # the owner's office cannot accept for the partner
    owner = signed_in(web, "office@ocean.example")
    r = owner.post(accept, data={"csrf_token": csrf(owner)})
    assert r.status_code == 404
    with web.factory() as s:
        assert s.scalar(select(CallPartner.status)) == "invited"
    r = browser.post(accept, data={"csrf_token": csrf(browser)})
    assert r.status_code == 303, r.text[:2000]
    with web.factory() as s:
        assert s.scalar(select(CallPartner.status)) == "accepted"
        acts = [e.action for e in s.scalars(select(auditlog.AuditEvent))]
        assert "call.partner_accepted" in acts
    assert "Invitations to joint calls" not in browser.get("/manage").text
    # accepted twice: a clear refusal
    r = browser.post(accept, data={"csrf_token": csrf(browser)})
    assert r.status_code == 400 and "already takes part" in r.text
    ocean.post(f"/api/v1/calls/{SLUG}/pools", {"pool_id": res["Core scanning"]})


def test_the_partners_office_declines_on_the_staff_pages(web: Web) -> None:
    ocean, _uni, _tech, _res = two_providers(web)
    draft_call(ocean)
    ocean.post(f"/api/v1/calls/{SLUG}/partners", {"provider": "sedlab"})
    browser = signed_in(web, "office@sedlab.example", lang="zh")
    page = browser.get("/manage").text
    assert "/partners/sedlab/decline" in page and "联合征集邀请" in page  # in the reader's language
    r = browser.post(f"/manage/calls/{SLUG}/partners/sedlab/decline",
                     data={"csrf_token": csrf(browser)})  # fmt: skip
    assert r.status_code == 303
    with web.factory() as s:
        assert s.scalar(select(CallPartner)) is None
        acts = [e.action for e in s.scalars(select(auditlog.AuditEvent))]
        assert "call.partner_withdrawn" in acts
    assert ocean.get(f"/api/v1/calls/{SLUG}/partners")["items"] == []


def test_the_owners_office_invites_and_withdraws_a_partner_on_the_cockpit(web: Web) -> None:
    ocean, uni, _tech, res = two_providers(web)
    draft_call(ocean)
    owner = signed_in(web, "office@ocean.example")
    cockpit = f"/manage/calls/{SLUG}"
    page = owner.get(cockpit).text
    assert 'id="partners"' in page and f'action="{cockpit}/partners"' in page
    # without the CSRF token: refused, nothing changes
    assert owner.post(f"{cockpit}/partners", data={"provider": "sedlab"}).status_code in (400, 403)
    # the partner's office may not invite into another provider's call
    partner = signed_in(web, "office@sedlab.example")
    r = partner.post(f"{cockpit}/partners",
                     data={"provider": "sedlab", "csrf_token": csrf(partner)})  # fmt: skip
    assert r.status_code == 404
    with web.factory() as s:
        assert s.scalar(select(CallPartner)) is None
    # the API's refusals, in the API's words: the owner, nobody
    for slug, words in (("ocean", "own"), ("nobody", "There is no provider")):
        r = owner.post(f"{cockpit}/partners", data={"provider": slug, "csrf_token": csrf(owner)})
        assert r.status_code == 400 and words in unescape(r.text), (slug, r.text[:2000])
        assert words in ocean.post(f"/api/v1/calls/{SLUG}/partners", {"provider": slug},
                                   status=400)["detail"]  # fmt: skip
    r = owner.post(f"{cockpit}/partners", data={"provider": " sedlab ", "csrf_token": csrf(owner)})
    assert r.status_code == 303, r.text[:2000]
    with web.factory() as s:
        assert s.scalar(select(CallPartner.status)) == "invited"
        acts = [e.action for e in s.scalars(select(auditlog.AuditEvent))]
        assert "call.partner_invited" in acts
    _mail_to(web, "office@sedlab.example")  # told as through the API
    r = owner.post(f"{cockpit}/partners", data={"provider": "sedlab", "csrf_token": csrf(owner)})
    assert r.status_code == 400 and "already invited" in r.text
    page = unescape(owner.get(cockpit).text)
    assert "Coastal University" in page and f"{cockpit}/partners/sedlab/withdraw" in page
    # in the reader's language
    assert "Partenaires" in signed_in(web, "office@ocean.example", lang="fr").get(cockpit).text
    # withdrawn while nothing of the partner's is offered: gone, audited
    withdraw = f"{cockpit}/partners/sedlab/withdraw"
    # the partner's office cannot withdraw through the owner's form
    assert partner.post(withdraw, data={"csrf_token": csrf(partner)}).status_code == 404
    r = owner.post(withdraw, data={"csrf_token": csrf(owner)})
    assert r.status_code == 303, r.text[:2000]
    with web.factory() as s:
        assert s.scalar(select(CallPartner)) is None
        acts = [e.action for e in s.scalars(select(auditlog.AuditEvent))]
        assert "call.partner_withdrawn" in acts
    # accepted and offered: withdrawing is refused as through the API, nothing changes
    owner.post(f"{cockpit}/partners", data={"provider": "sedlab", "csrf_token": csrf(owner)})
    uni.post(f"/api/v1/calls/{SLUG}/partners/sedlab/accept")
    ocean.post(f"/api/v1/calls/{SLUG}/pools", {"pool_id": res["Core scanning"]})
    r = owner.post(withdraw, data={"csrf_token": csrf(owner)})
    assert r.status_code == 400 and "cannot leave this call" in unescape(r.text)
    with web.factory() as s:
        assert s.scalar(select(CallPartner.status)) == "accepted"
