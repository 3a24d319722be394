"""trialop22: a person asks to be forgotten. No command erased or anonymised an account
(docs/operators.md said so). ``opencall personal-data EMAIL --erase`` (the service
``personal_data.erase_person``) anonymises the person and keeps what the facility must
keep; it refuses while the person has open duties, and changes nothing then."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall import auditlog
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import ApiToken, User, UserSession
from opencall.people.queries import user_by_email
from opencall.personal_data import ERASED_NAME, erase_person, person_data
from opencall.proposals.models import Proposal, TeamMember
from tests.web.conftest import PASSWORD, Web, World, csrf


def _erase(web: Web, email: str) -> int:
    with web.factory() as s:
        user = user_by_email(s, email)
        assert user is not None
        erase_person(s, user, reason="written request of 2026-12-01")
        s.commit()
        return user.id


def test_an_erased_coinvestigator_is_gone_from_pages_login_and_export(
    web: Web, world: World
) -> None:
    pi = web.login(world.emails["pi"])
    page = pi.get(f"/proposals/{world.ids['proposal']}")
    assert "Oluwaseun" in page.text and "Quetzal Observatory" in page.text
    coi = web.login(world.emails["coi"])
    with web.factory() as s:
        user = user_by_email(s, world.emails["coi"])
        assert user is not None
        people_services.create_api_token(s, user, "laptop")
        s.commit()
    uid = _erase(web, world.emails["coi"])

    # the PI's page names the erased member no more; their own session is over
    page = pi.get(f"/proposals/{world.ids['proposal']}")
    assert page.status_code == 200
    for secret in ("Oluwaseun", "Adebayo-Kim", "Quetzal Observatory", "coi@example.org"):
        assert secret not in page.text, secret
    assert ERASED_NAME in page.text
    assert coi.get("/dashboard").status_code in (302, 303)
    with web.factory() as s:
        assert user_by_email(s, world.emails["coi"]) is None
        rows = person_data(s, uid, world.emails["coi"])
        text = repr(rows)
        for secret in ("Oluwaseun", "Quetzal Observatory", "coi@example.org"):
            assert secret not in text, secret
        assert "api_tokens" not in rows and "user_sessions" not in rows
        user = s.get_one(User, uid)
        assert not user.is_active and user.name == ERASED_NAME
        assert user.country_iso3 == "GTM"  # kept for the divide statistics (documented)
        member = s.scalars(select(TeamMember).where(TeamMember.user_id == uid)).one()
        assert (member.name, member.institution_name) == (ERASED_NAME, "")
        assert member.country_iso3 == "GTM"
        assert s.scalars(select(ApiToken).where(ApiToken.user_id == uid)).all() == []
        assert s.scalars(select(UserSession).where(UserSession.user_id == uid)).all() == []
        ev = s.scalars(
            select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "person.erased")
        ).one()
        assert ev.entity_id == str(uid) and ev.reason == "written request of 2026-12-01"
        assert "coi@example.org" not in repr(ev.data)
        assert auditlog.verify(s).problems == []
    c = web.client()
    r = c.post(
        "/login",
        data={"csrf_token": csrf(c), "email": world.emails["coi"], "password": PASSWORD},
    )
    assert r.status_code != 303, "an erased account signed in"


def test_an_erased_pis_unsubmitted_draft_goes(web: Web, world: World) -> None:
    uid = _erase(web, world.emails["pi"])
    with web.factory() as s:
        assert s.get(Proposal, world.ids["proposal"]) is None
        assert s.scalars(select(Proposal).where(Proposal.pi_user_id == uid)).all() == []
        assert s.get(Proposal, world.ids["other_proposal"]) is not None
        assert auditlog.verify(s).problems == []


@pytest.mark.parametrize("who", ["pi", "coi"])
def test_a_team_member_of_a_proposal_under_review_is_refused(
    web: Web, world: World, who: str
) -> None:
    with web.factory() as s:
        s.get_one(Proposal, world.ids["proposal"]).status = "under_review"
        s.commit()
    with web.factory() as s:
        user = user_by_email(s, world.emails[who])
        assert user is not None
        with pytest.raises(DomainError, match="under review") as exc:
            erase_person(s, user)
        assert s.get_one(Proposal, world.ids["proposal"]).code in exc.value.message
        s.rollback()
    with web.factory() as s:
        user = user_by_email(s, world.emails[who])
        assert user is not None and user.is_active
        assert (
            s.scalars(
                select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "person.erased")
            ).all()
            == []
        )


def test_a_reviewer_with_an_open_assignment_is_refused_and_one_done_is_erased(
    web: Web,
) -> None:
    from opencall.reviews.models import ReviewAssignment
    from tests import factories as F

    with web.factory() as s:
        call, proposals, reviewers = F.call_in_review(s, 2, 3)
        s.add(
            ReviewAssignment(
                call_id=call.id, proposal_id=proposals[0].id, reviewer_id=reviewers[0].id
            )
        )
        s.flush()
        with pytest.raises(DomainError, match="review") as exc:
            erase_person(s, reviewers[0])
        assert proposals[0].code in exc.value.message
        done = ReviewAssignment(
            call_id=call.id,
            proposal_id=proposals[1].id,
            reviewer_id=reviewers[1].id,
            status="submitted",
            score=4.0,
        )
        s.add(done)
        s.flush()
        erase_person(s, reviewers[1])
        assert done.score == 4.0 and done.reviewer_id == reviewers[1].id  # the review stays
        assert reviewers[1].name == ERASED_NAME


def test_the_only_site_administrator_is_refused(web: Web, world: World) -> None:
    with web.factory() as s:
        other = user_by_email(s, world.emails["other"])
        assert other is not None
        other.is_site_admin = True
        s.flush()
        with pytest.raises(DomainError, match="only site administrator"):
            erase_person(s, other)
        manager = user_by_email(s, world.emails["manager"])
        assert manager is not None
        manager.is_site_admin = True
        erase_person(s, other)  # another administrator remains
        assert not other.is_site_admin and not other.is_active
