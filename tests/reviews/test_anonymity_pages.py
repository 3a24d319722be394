"""The anonymity check in the pages: the chair sees which proposals still carry
identifying passages, but not the passages themselves before the ranking is frozen."""

from opencall import jobs
from opencall.proposals.models import Proposal
from opencall.proposals.services import request_anonymity_scans
from tests.review_cycle import TEAMS, Cycle, Web
from tests.web.conftest import World


def _scan(web: Web, p: Proposal) -> None:
    """Pages read cached findings: queue the scan of the changed text and run the job."""
    with web.factory() as s:
        prop = s.get(Proposal, p.id)
        assert prop is not None
        request_anonymity_scans(s, prop)
        s.commit()
    jobs.run_pending(web.factory, web.app.state.jobs)


def _plant(web: Web, cycle: Cycle) -> str:
    name = TEAMS[0][0]
    with web.factory() as s:
        p = s.get(Proposal, cycle.ids["proposal"])
        assert p is not None
        p.abstract += (
            f" As we showed in {name.split()[-1]} et al. (2021), our group at {TEAMS[0][1]}."
        )
        s.commit()
    _scan(web, p)
    return name.split()[-1]


def test_chair_sees_masked_findings_and_manager_sees_them(web: Web, cycle: Cycle) -> None:
    surname = _plant(web, cycle)
    chair = web.login(cycle.emails["chair"])
    page = chair.get(f"/manage/calls/{cycle.slug}")
    assert page.status_code == 200
    assert 'id="anonymity"' in page.text and "•••" in page.text
    assert surname not in page.text and TEAMS[0][1] not in page.text
    manager = web.login(cycle.emails["manager"])
    page = manager.get(f"/manage/calls/{cycle.slug}")
    assert TEAMS[0][1] in page.text


def test_reviewer_cannot_open_the_cockpit(web: Web, cycle: Cycle) -> None:
    _plant(web, cycle)
    reviewer = web.login(cycle.emails["assigned"])
    assert reviewer.get(f"/manage/calls/{cycle.slug}").status_code == 404


def test_applicant_is_warned_before_submission(web: Web, world: World) -> None:
    w = world
    with web.factory() as s:
        p = s.get(Proposal, w.ids["proposal"])
        assert p is not None
        p.science_case += (
            " Contact the team at pi@example.org or see https://www.zanzibar-radio.example/team."
        )
        s.commit()
    _scan(web, p)
    c = web.login(w.emails["pi"])
    page = c.get(f"/proposals/{w.ids['proposal']}")
    assert page.status_code == 200
    assert 'id="anonymity"' in page.text and "pi@example.org" in page.text
