"""Identity and robustness fixes found in review: the chair gets no original PDF file
names before the freeze, conflict sources do not name team relations to the chair,
technical reviewers never judge a proposal they are conflicted with, and ids or
numbers no database row can have answer 404 / a clear error instead of a crash."""

from sqlalchemy import func, select

from opencall.people.models import User
from opencall.proposals.models import Attachment, Proposal
from opencall.reviews.models import Conflict, ReviewAssignment, TechnicalReview
from opencall.web.i18n import Translator
from tests.review_cycle import Cycle, Web
from tests.web.conftest import csrf


def test_chair_cannot_download_the_original_file_before_the_freeze(web: Web, cycle: Cycle) -> None:
    with web.factory() as s:
        p = s.get(Proposal, cycle.ids["proposal"])
        assert p is not None
        a = Attachment(
            proposal_id=p.id,
            filename="Quispe-Tupac_ZanzibarRadio.pdf",
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            storage_key="00/none",
        )
        s.add(a)
        s.commit()
        aid = a.id
    stored = web.settings.upload_dir / "00" / "none"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"%PDF-1.4 test")
    url = f"/proposals/{cycle.ids['proposal']}/attachments/{aid}"
    assert web.login(cycle.emails["chair"]).get(url).status_code == 404
    assert web.login(cycle.emails["assigned"]).get(url).status_code == 404
    office = web.login(cycle.emails["manager"]).get(url)
    assert office.status_code == 200 and "ZanzibarRadio" in office.headers["content-disposition"]


def test_conflict_sources_are_masked_for_the_chair_before_the_freeze(
    web: Web, cycle: Cycle
) -> None:
    with web.factory() as s:
        s.add(
            Conflict(
                call_id=cycle.ids["call"],
                proposal_id=cycle.ids["proposal"],
                reviewer_id=cycle.ids["reviewer"],
                source="team",
                detail="x",
            )
        )
        s.commit()
    page = web.login(cycle.emails["chair"]).get(f"/manage/calls/{cycle.slug}/assignment")
    assert page.status_code == 200
    assert Translator("en")("member of the team") not in page.text
    assert "conflict of interest" in page.text
    page = web.login(cycle.emails["manager"]).get(f"/manage/calls/{cycle.slug}/assignment")
    assert "member of the team" in page.text


def test_technical_reviewer_never_judges_a_conflicted_proposal(web: Web, cycle: Cycle) -> None:
    tech = web.login(cycle.emails["technical"])
    url = f"/technical/proposals/{cycle.ids['proposal']}"
    assert tech.get(url).status_code == 200
    with web.factory() as s:
        uid = s.scalar(select(User.id).where(User.email == cycle.emails["technical"]))
        s.add(
            Conflict(
                call_id=cycle.ids["call"],
                proposal_id=cycle.ids["proposal"],
                reviewer_id=uid,
                source="declared_reviewer",
                detail="my student",
            )
        )
        s.commit()
    assert tech.get(url).status_code == 404
    # a valid form (CSRF token included, so the view itself answers): not found, nothing stored
    r = tech.post(url, data={"csrf_token": csrf(tech, "/review"), "verdict": "not_feasible"})
    assert r.status_code == 404
    with web.factory() as s:
        assert s.scalar(select(func.count(TechnicalReview.id))) == 0


def test_impossible_ids_and_odd_digits_do_not_crash(web: Web, cycle: Cycle) -> None:
    c = web.login(cycle.emails["assigned"])
    for path in (f"/proposals/{2**70}", f"/review/assignments/{2**70}", "/proposals/99999999999"):
        assert c.get(path).status_code == 404
    chair = web.login(cycle.emails["chair"])
    url = f"/manage/calls/{cycle.slug}/assignment/add"
    with web.factory() as s:
        before = s.scalar(select(func.count(ReviewAssignment.id)))
    for odd in ("\u00b2", str(2**70), "-1"):  # a superscript two, too large, negative
        r = chair.post(
            url,
            data={"csrf_token": csrf(chair, "/review"), "proposal_id": odd, "reviewer_id": odd},
        )
        assert r.status_code == 400, (odd, r.status_code)
        assert Translator("en")("This value is not valid.") in r.text
    with web.factory() as s:
        assert s.scalar(select(func.count(ReviewAssignment.id))) == before
