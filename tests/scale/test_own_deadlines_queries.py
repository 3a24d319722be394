"""A proposal's own deadline (``SubmissionExtension``) on the pages that list proposals
(mend22): read for the whole list in one statement, never one per proposal. The list
pages that show it: the applicant's dashboard (its deadline column); the editor shows one
proposal, to its team and to the staff. (The staff's, chair's and reviewers' lists and the
API's lists do not show it: reviewers are never told of an extension, and the cockpit
lists the call's extensions in one statement.) Counted at two sizes, never timed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from opencall.proposals import services as ps
from tests import factories as F
from tests.scale.test_site_history_round20 import statements
from tests.scale.test_site_history_round21 import rows_read
from tests.web.conftest import Web

EXTENDED = "extended for this proposal by the user office"


def _applicant(factory: sessionmaker[Session], n: int) -> tuple[str, list[int]]:
    """A PI of ``n`` drafts in an open call, every other one extended by the office."""
    with factory() as s:
        call = F.fast_call(s, pools=1)
        pi = F.user(s)
        ids = []
        for i in range(n):
            p = F.full_proposal(s, call, pi)
            if i % 2 == 0:
                until = call.closes_at + dt.timedelta(days=1 + i)
                ps.grant_submission_extension(s, p, until, reason="Power cut", actor_id=None)
            ids.append(p.id)
        s.commit()
        return pi.email, ids


def _count(web: Web, email: str, path: str) -> tuple[int, str]:
    c = web.login(email)
    c.get(path)  # warm
    with statements(web.app.state.engine) as seen:
        r = c.get(path)
    assert r.status_code == 200, r.text[:500]
    return len(seen), r.text


def test_the_dashboard_reads_the_own_deadlines_in_one_statement(
    web: Web, factory: sessionmaker[Session]
) -> None:
    few, _ = _applicant(factory, 2)
    many, _ = _applicant(factory, 10)
    n_few, page_few = _count(web, few, "/dashboard")
    n_many, page_many = _count(web, many, "/dashboard")
    assert (page_few.count(EXTENDED), page_many.count(EXTENDED)) == (1, 5)
    assert n_many == n_few


def test_the_editor_reads_its_proposals_deadline_not_the_readers_history(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """The editor of one proposal read the deadlines of every proposal its reader was ever
    on the team of (``own_submission_dues``: rows growing with the reader's history), to
    show one. Now the shown proposal's alone: the same rows of ``team_members`` and of
    ``submission_extensions`` for a PI of 2 proposals as for one of 10."""
    got = []
    for n in (2, 10):
        email, ids = _applicant(factory, n)
        c = web.login(email)
        path = f"/proposals/{ids[0]}"
        c.get(path)  # warm
        engine = web.app.state.engine
        with statements(engine) as seen:
            r = c.get(path)
        assert r.status_code == 200 and EXTENDED in r.text
        got.append(
            (
                len(seen),
                rows_read(engine, seen, "team_members"),
                rows_read(engine, seen, "submission_extensions"),
            )
        )
    assert got[1] == got[0]
