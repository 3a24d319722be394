"""The chair recruits reviewers on the web; the invited person answers; a
reviewer keeps an expertise profile with imported publications."""

from __future__ import annotations

import email
import email.policy
import re

from tests import factories as F
from tests.review_cycle import Cycle
from tests.web.conftest import Web, api_bearer, csrf

LINK = re.compile(r"/review/invitations/([A-Za-z0-9_\-]+)")


def _last_mail_to(web: Web, address: str) -> str:
    for raw in reversed(web.mails()):
        msg = email.message_from_string(raw, policy=email.policy.default)
        if msg["To"] == address:
            return str(msg.get_body().get_content())  # type: ignore[union-attr]
    raise AssertionError(f"no mail to {address}")


def test_chair_invites_and_sees_who_accepted(web: Web, cycle: Cycle) -> None:
    chair = web.login(cycle.emails["chair"], "es")
    url = f"/manage/calls/{cycle.slug}/reviewers"
    page = chair.get(url)
    assert page.status_code == 200 and "Invitar a revisores" in page.text
    tok = csrf(chair, url)
    r = chair.post(url, data={"csrf_token": tok, "emails": "Nueva.Revisora@uni.example\n"})
    assert r.status_code == 303
    body = _last_mail_to(web, "nueva.revisora@uni.example")
    token = LINK.search(body).group(1)  # type: ignore[union-attr]
    with web.factory() as s:
        F.user(s, email="nueva.revisora@uni.example")
        s.commit()
    rev = web.login("nueva.revisora@uni.example")
    answer = f"/review/invitations/{token}"
    t2 = csrf(rev, answer)
    bad = rev.post(answer, data={"csrf_token": t2, "answer": "accept", "max_load": "many"})
    assert bad.status_code == 400 and "Enter a whole number." in bad.text
    ok = rev.post(
        answer,
        data={"csrf_token": t2, "answer": "accept", "max_load": "2", "availability": "May"},
    )
    assert ok.status_code == 303
    page = chair.get(url).text
    assert "1 persona aceptó evaluar." in page and "nueva.revisora@uni.example" in page
    assert re.search(r"aceptada</td><td class=\"num\">2</td><td>May", page)
    # another account holding the link is refused and nothing changes
    other = web.login(cycle.emails["unassigned"])
    t3 = csrf(other, answer)
    r = other.post(answer, data={"csrf_token": t3, "answer": "decline"})
    assert r.status_code == 403 and "another e-mail address" in r.text
    assert "1 persona aceptó evaluar." in chair.get(url).text


def test_expertise_profile_with_an_imported_file(web: Web, cycle: Cycle) -> None:
    c = web.login(cycle.emails["assigned"], "fr")
    tok = csrf(c, "/account/expertise")
    bib = b"@article{a, author={Doe, Jane and Roe, Rick}, title={Pulsar timing}, year={2024}}"
    r = c.post(
        "/account/expertise/import",
        data={"csrf_token": tok},
        files={"file": ("refs.bib", bib, "text/plain")},
    )
    assert r.status_code == 200 and "1 publication a été ajoutée." in r.text
    r = c.post(
        "/account/expertise/import",
        data={"csrf_token": tok},
        files={"file": ("refs.txt", b"nothing here", "text/plain")},
    )
    assert r.status_code == 400 and "Un fichier BibTeX" in r.text
    r = c.post("/account/expertise", data={"csrf_token": tok, "keywords": "pulsars, FRB"})
    assert r.status_code == 303
    page = c.get("/account/expertise").text
    assert "Pulsar timing" in page and "pulsars, FRB" in page


def test_throwaway_mailboxes_cannot_be_invited_to_review(web: Web, cycle: Cycle) -> None:
    """Registration refuses throwaway-mailbox addresses; so does the chair's invitation
    to review (one in a batch refuses the batch): a clear error, nothing written or mailed."""
    from sqlalchemy import func, select

    from opencall.reviews.models import ReviewInvitation

    with web.factory() as s:
        before = s.scalar(select(func.count(ReviewInvitation.id)))
    mails = len(web.mails())
    chair = web.login(cycle.emails["chair"])
    url = f"/manage/calls/{cycle.slug}/reviewers"
    tok = csrf(chair, url)
    for bad in ("bot@mailinator.com", "bot@EU.Mailinator.com"):
        emails = f"kept@uni.example\n{bad}\n"
        r = chair.post(url, data={"csrf_token": tok, "emails": emails})
        assert r.status_code == 400 and "throwaway mailbox" in r.text, r.text[-500:]
        assert bad.lower() in r.text
    fr = web.login(cycle.emails["chair"], "fr")
    r = fr.post(url, data={"csrf_token": csrf(fr, url), "emails": "b@yopmail.com"})
    assert r.status_code == 400 and "jetable" in r.text
    bearer = api_bearer(web, cycle.emails["chair"], scopes=("manage",))
    r = web.client().post(
        f"/api/v1/calls/{cycle.slug}/reviewer-invitations",
        json={"emails": ["kept@uni.example", "bot@mailinator.com"]},
        headers=bearer,
    )
    assert r.status_code == 400 and "throwaway mailbox" in r.text, r.text
    with web.factory() as s:
        assert s.scalar(select(func.count(ReviewInvitation.id))) == before
    assert len(web.mails()) == mails
