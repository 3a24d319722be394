"""A person's name carries no link and no text-direction override: names are mailed to
whatever address was typed ("Hello <name>," in the verification mail of a registration,
"<name> invites you ..." and "Hello <name>," in a team invitation), where a web or e-mail
address would come from this site (phishing with the site's own mail), and a right-to-left
override (U+202E) would turn the rest of the line around. Before the fix the registration,
the account page, and the team invitation (page and API) accepted
"Visit http://spam.example" and "Bob\\u202emoc.live" as names and mailed them."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from opencall import jobs
from opencall.people.domain import bidi_control_in, link_in_name
from opencall.people.models import User
from opencall.proposals.models import TeamMember
from tests.web.conftest import (
    PASSWORD,
    Web,
    World,
    api_bearer,
    csrf,
    invite_by_api,
    invite_on_site,
    register_on_site,
)

pytestmark = pytest.mark.filterwarnings("ignore")
SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer

LINKS = [
    "Visit http://spam.example",
    "Confirm at www.evil.example",
    "Your prize at evil.com",
    "Call EVIL.COM now",
    "Write to claims@evil.example",
    "\uff45\uff56\uff49\uff4c\uff0e\uff43\uff4f\uff4d",  # fullwidth "evil.com"
    "evil\u3002com",  # an ideographic full stop, a dot to a browser
    "(login.evil.example/reset)",
]
NAMES = [
    "Ximena Quispe-Tupac",
    "J. R. R. Tolkien",
    "St.John Smith",
    "Dr. A.B. Smith",
    "Mary.Ann Lee",
    "Zhang.wei",
    "李小龍",
    "محمد بن سلمان",
    "O'Brien",
    "Nguyễn Văn A",
]
OVERRIDE = "Bob\u202emoc.live"


def test_the_rule() -> None:
    for name in LINKS:
        assert link_in_name(name), name
    for name in NAMES:
        assert link_in_name(name) is None, name
        assert bidi_control_in(name) is None, name
    assert bidi_control_in(OVERRIDE) == "U+202E"
    assert bidi_control_in("Ann\u2067x\u2069") == "U+2067"


def _count(web: Web, model: type) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@SQLITE
def test_registration_refuses_a_name_with_a_link(web: Web) -> None:
    for i, name in enumerate(LINKS[:3]):
        c = web.client(address=f"198.51.100.{10 + i}")
        users, mails = _count(web, User), len(web.mails())
        r = c.post(
            "/register",
            data={
                "csrf_token": csrf(c, "/register"),
                "email": f"victim{i}@example.net",
                "name": name,
                "password": PASSWORD,
                "password2": PASSWORD,
            },
        )
        assert r.status_code == 400, (name, r.status_code)
        text = html.unescape(r.text)
        assert "A name may not contain" in text, name
        assert (_count(web, User), len(web.mails())) == (users, mails), name
    r = register_on_site(web.client(address="198.51.100.30"), "stjohn@example.net", "St.John Smith")
    assert r.status_code == 303, r.text[:500]
    # a direction override is taken out of the name (inputs.one_line), so the greeting
    # mailed to the address typed reads as it was typed, not turned around
    r = register_on_site(web.client(address="198.51.100.31"), "override@example.net", OVERRIDE)
    assert r.status_code == 303, r.text[:500]
    with web.factory() as s:
        u = s.scalar(select(User).where(User.email == "override@example.net"))
        assert u is not None and u.name == "Bobmoc.live"


@SQLITE
def test_the_account_page_refuses_a_name_with_a_link(web: Web, world: World) -> None:
    c = web.login(world.emails["other"], lang="fr")
    r = c.post(
        "/account",
        data={"csrf_token": csrf(c, "/account"), "name": "Go to evil.com", "language": "fr"},
    )
    assert r.status_code == 400, r.status_code
    assert "Un nom ne peut pas contenir d’adresse web ou e-mail (evil.com)" in html.unescape(r.text)
    with web.factory() as s:
        u = s.scalar(select(User).where(User.email == world.emails["other"]))
        assert u is not None and u.name == "Other Applicant"


@SQLITE
def test_a_team_invitation_refuses_a_name_with_a_link(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    members, mails = _count(web, TeamMember), len(web.mails())
    c = web.login(world.emails["pi"])
    for name in (LINKS[0],):
        r = invite_on_site(c, pid, "target@example.net", name)
        assert r.status_code == 400, (name, r.status_code)
        assert "A name may not contain" in html.unescape(r.text)
    bearer = api_bearer(web, world.emails["pi"])
    r = invite_by_api(web, bearer, pid, "target@example.net", "Claim at www.evil.example")
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("name: A name may not contain"), r.text
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    assert (_count(web, TeamMember), len(web.mails())) == (members, mails)


def _bodies(web: Web) -> list[tuple[str, str]]:
    """(recipient, text) of every mail sent so far."""
    from email import message_from_string, policy

    out = []
    for raw in web.mails():
        msg = message_from_string(raw, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        out.append((str(msg["To"]), body.get_content()))
    return out


@SQLITE
def test_a_team_invitation_mails_no_link_of_the_proposal_title(web: Web, world: World) -> None:
    """A draft's title is its PI's to write, and a team invitation mails it to whatever
    address the PI typed (trialcrowd23): a stranger got "... invites you to join the team
    of the proposal “Your account is closed: confirm at login.evil.example/reset” ...",
    sent by the site. A title holding a web or e-mail address is mailed as the proposal's
    code instead; any other title as it is."""
    from opencall.proposals.models import Proposal

    pid = world.ids["proposal"]
    bearer = api_bearer(web, world.emails["pi"])
    c = web.login(world.emails["pi"])
    lured = "Your account is closed: confirm at login.evil.example/reset"
    for i, title in enumerate([lured, "Write to claims@evil.example", "Visit www.evil.example"]):
        with web.factory() as s:
            p = s.get(Proposal, pid)
            assert p is not None
            p.title, code = title, p.code
            s.commit()
        target = f"stranger{i}@example.net"
        if i % 2:
            r = invite_by_api(web, bearer, pid, target)
            assert r.status_code in (200, 201), r.text
        else:
            r = invite_on_site(c, pid, target)
            assert r.status_code == 303, r.text[:300]
        jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
        said = [text for to, text in _bodies(web) if target in to]
        assert len(said) == 1, (target, said)
        assert "evil.example" not in said[0] and code in said[0], said[0]
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        p.title = "Pulsar timing with node.js-free pipelines"
        s.commit()
    r = invite_on_site(c, pid, "colleague@example.net")
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    said = [text for to, text in _bodies(web) if "colleague@example.net" in to]
    assert len(said) == 1 and "Pulsar timing" in said[0], said
