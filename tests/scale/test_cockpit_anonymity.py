"""The chair's cockpit of a dual-anonymous call reads only the proposals whose anonymity
check has something to show (``reviews.queries.anonymity_candidates``): it read every
proposal under review, its team, files and scans, and keyed each, on every visit
(8,616 rows for 1,110 proposals at the demo's scale 5)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.jobs import Job
from opencall.people import services as people_services
from opencall.proposals.models import AnonymityScan, Proposal
from opencall.proposals.queries import cached_findings_of
from opencall.proposals.services import request_anonymity_scans, run_anonymity_scan
from opencall.reviews import queries as rq
from tests import factories as F
from tests.scale.test_paged_lists import _loaded
from tests.web.conftest import Web


def _run_scans(s: Session, tmp: Any) -> None:
    for sc in s.scalars(select(AnonymityScan).where(AnonymityScan.status == "queued")):
        run_anonymity_scan(s, sc.id, upload_dir=tmp)
    s.flush()


def dual_world(s: Session, n: int, tmp: Any) -> tuple[Call, list[Proposal]]:
    """A dual-anonymous call with ``n`` proposals under review, their scans run: the
    first names its PI (a finding), the second has a scan still queued, the third named
    its PI in an earlier version (a stale finding), the fourth was never scanned, the
    fifth has a superseded scan; the rest are clean."""
    call = F.fast_call(s, requires_pdf=False)
    assert call.anonymity == "dual"
    props = []
    for i in range(n):
        pi = F.user(s, name=f"Zebediah Quarrington{i}")
        p = F.full_proposal(s, call, pi)
        if i in (0, 2):
            p.abstract = f"We, {pi.name} and friends, will time pulsars."
            request_anonymity_scans(s, p)
        props.append(p)
    _run_scans(s, tmp)
    props[2].abstract = "We will time pulsars, anonymously."
    request_anonymity_scans(s, props[2])
    _run_scans(s, tmp)
    # the fifth was edited twice before its scans ran, the first edit's taken by the worker
    # (a waiting one is handed to the next edit: trialcrowd17): the first is superseded
    for text in ("We will time pulsars soon.", "We will time pulsars later."):
        props[4].abstract = text
        request_anonymity_scans(s, props[4])
        s.execute(update(Job).where(Job.status == "queued").values(status="running"))
    _run_scans(s, tmp)
    assert "superseded" in set(
        s.scalars(select(AnonymityScan.status).where(AnonymityScan.proposal_id == props[4].id))
    )
    props[1].abstract = "We will time pulsars again."
    request_anonymity_scans(s, props[1])  # queued, not run
    for sc in s.scalars(select(AnonymityScan).where(AnonymityScan.proposal_id == props[3].id)):
        s.delete(sc)
    for p in props:
        p.status = "under_review"
    call.status = "review"
    s.flush()
    return call, props


def shown(s: Session, proposals: list[Proposal]) -> dict[int, tuple[int, int, int]]:
    """(findings, pending, failed) of each proposal with any."""
    out = {}
    for pid, cf in cached_findings_of(s, proposals).items():
        if cf.findings or cf.pending or cf.failed:
            out[pid] = (len(cf.findings), cf.pending, cf.failed)
    return out


def test_the_candidates_hold_everything_the_check_shows(
    factory: sessionmaker[Session], tmp_path: Any
) -> None:
    with factory() as s:
        call, props = dual_world(s, 9, tmp_path)
        everything = shown(s, rq.proposals_for_review(s, call))
        assert set(everything) == {props[0].id, props[1].id, props[3].id}, everything
        candidates = rq.anonymity_candidates(s, call)
        # but the never scanned (the fourth), whose pending scans are counted in SQL
        # (scale19): its text and files, as ``cached_findings_of`` counts them
        assert shown(s, candidates) == {k: v for k, v in everything.items() if k != props[3].id}
        assert rq.unscanned_pending(s, call) == everything[props[3].id][1] >= 1
        # the clean ones (the stale finding's proposal aside) are not read, nor the one
        # with a superseded scan (the demo's applicants leave 2,669 at scale 5)
        assert {p.id for p in candidates} <= {props[i].id for i in range(4)}
        s.rollback()


def test_the_cockpit_reads_only_the_proposals_with_something_to_show(
    web: Web, factory: sessionmaker[Session], tmp_path: Any
) -> None:
    def read_for(n: int) -> tuple[int, int, int]:
        with factory() as s:
            call, props = dual_world(s, n, tmp_path)
            chair = F.user(s)
            people_services.grant_role(s, chair.id, "chair", call_id=call.id)
            s.commit()
            slug, email, code = call.slug, chair.email, props[0].code
        c = web.login(email)
        c.get(f"/manage/calls/{slug}")  # warm
        with _loaded(Proposal, AnonymityScan) as loaded:
            r = c.get(f"/manage/calls/{slug}")
        assert r.status_code == 200
        assert f"{code}:" in r.text  # its finding is listed
        assert 'id="anonymity-pending"' in r.text
        return loaded["Proposal"], loaded["AnonymityScan"], r.text.count("<li>")

    small, big = read_for(6), read_for(24)
    # before: every proposal and every scan of the call (6 and 24 proposals loaded)
    assert small == big, (small, big)
