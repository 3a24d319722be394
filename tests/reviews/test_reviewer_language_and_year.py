"""The reviewer's side of round 18's languages and limit per year (trialrev19): the
reviewer's own view of a proposal did not say which language it is written in (only the
office's page did), and the limit per calendar year could be set only through the API
(``/api/v1/me/review-year``), not on *My reviews*."""

from __future__ import annotations

from sqlalchemy import select

from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from tests.review_cycle import Cycle
from tests.web.conftest import Web, api_bearer, csrf


def _state_language(web: Web, cycle: Cycle, code: str) -> None:
    with web.factory() as s:
        p = s.get(Proposal, cycle.ids["proposal"])
        assert p is not None
        prop_services.set_language(s, p, code)
        s.commit()


def test_the_reviewer_sees_the_language_of_the_proposal(web: Web, cycle: Cycle) -> None:
    url = f"/review/assignments/{cycle.ids['assignment']}"
    c = web.login(cycle.emails["assigned"], lang="fr")
    page = c.get(url)
    assert page.status_code == 200 and "Langue de la proposition" not in page.text  # not stated
    _state_language(web, cycle, "es")
    page = c.get(url).text
    # on the invitation already, before accepting (a dual-anonymous call: it names nobody)
    assert "Langue de la proposition" in page and "espagnol" in page
    headers = api_bearer(web, cycle.emails["assigned"], scopes=("review",))
    got = web.client().get(f"/api/v1/assignments/{cycle.ids['assignment']}", headers=headers)
    assert got.status_code == 200 and got.json()["language"] == "es"
    listed = web.client().get("/api/v1/assignments", headers=headers).json()["items"]
    assert [i["language"] for i in listed if i["id"] == cycle.ids["assignment"]] == ["es"]


def test_the_reviewer_sets_the_limit_per_year_on_the_page(web: Web, cycle: Cycle) -> None:
    email = cycle.emails["assigned"]
    with web.factory() as s:
        uid = s.scalars(select(User.id).where(User.email == email)).one()

    def limit() -> int | None:
        with web.factory() as s:
            return rq.reviews_this_year(s, reviewer_id=uid).get(uid, (None, 0))[0]

    c = web.login(email, lang="es")
    page = c.get("/review")
    assert page.status_code == 200 and 'name="max_per_year"' in page.text
    url = "/review/year-limit"
    r = c.post(url, data={"csrf_token": csrf(c, "/review"), "max_per_year": "12"})
    assert r.status_code == 303 and limit() == 12
    page = c.get("/review").text
    assert 'value="12"' in page and "1 de 12" in page  # what this year counts against it
    for bad in ("1001", "0", "doce", "-3", "1e3"):
        r = c.post(url, data={"csrf_token": csrf(c, "/review"), "max_per_year": bad})
        assert r.status_code == 400 and limit() == 12, bad
        assert f'value="{bad}"' in r.text  # what was typed stays in the field
    r = c.post(url, data={"csrf_token": csrf(c, "/review"), "max_per_year": "1001"})
    assert "entre 1 y 1000" in r.text  # the service's message, translated
    r = c.post(url, data={"csrf_token": csrf(c, "/review"), "max_per_year": " "})
    assert r.status_code == 303 and limit() is None  # blank: no limit of one's own


def test_the_invitation_says_the_review_deadline_on_the_readers_clock(
    web: Web, cycle: Cycle
) -> None:
    """The e-mail inviting a reviewer named no deadline at all: a reviewer abroad had to
    accept before learning when the review is due (only the reminder said it)."""
    import datetime as dt

    from opencall.calls.models import Call
    from opencall.jobs import Job
    from opencall.reviews import notify
    from opencall.reviews import services as rv
    from opencall.web.pages import fmt_when

    due = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == cycle.slug)).one()
        call.review_settings = {**call.review_settings, "review_deadline": due.isoformat()}
        u = s.get(User, cycle.ids["reviewer"])
        assert u is not None
        u.language, u.time_zone = "fr", "Asia/Kathmandu"
        other = s.scalars(
            select(Proposal).where(
                Proposal.call_id == call.id, Proposal.id != cycle.ids["proposal"]
            )
        ).first()
        assert other is not None
        a = rv.add_assignment(s, call, other, u)
        assert notify.notify_assigned(s, "http://x", call, [a]) == 1
        job = s.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id.desc())).first()
        assert job is not None
        mails = [m for m in job.payload.get("messages", [job.payload]) if m["to"] == u.email]
        said = fmt_when(due, "Asia/Kathmandu", "fr")
        assert "Népal" in said and said in mails[-1]["body"], mails[-1]["body"]
