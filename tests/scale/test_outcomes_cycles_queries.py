"""The outcomes pages of a facility with a long history: the report (HTML, CSV, JSON,
PDF data), the public after-award page and the API's report cost the same SQL
statements for 2 and 7 earlier cycles (each with its proposals, decisions, awards,
records and results). The trend over the cycles and the after-award section read each
earlier cycle's applicant records and post-award stages: one set of queries per cycle
(28 statements a cycle on a bench facility, 580 for 20 cycles) before, one set for all
the cycles now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.outcomes import queries as oq
from opencall.proposals.models import Proposal, TeamMember
from opencall.results.models import PostAwardRecord, ResearchOutput
from tests import factories as F
from tests.scale.bulk_awards import insert_decided, past_call
from tests.scale.test_api_pages import count_statements
from tests.scale.test_results_page_queries import published
from tests.web.conftest import Web

COUNTRIES = ["KEN", "DEU", "NPL", "BRA", "COK"]  # COK: no income group


def add_cycles(factory: sessionmaker[Session], slug: str, n: int) -> None:
    """``n`` decided calls of the same facility before the one of ``slug``, 6
    proposals each (4 awarded, with a loan each and a paper; one paper shared by two
    awards)."""
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        pool_id = call.pools[0].pool_id
        pi = F.user(s)
        for c in range(n):
            year = 2010 + c
            past = past_call(s, call, f"{slug}-past{c}", f"P{c}", year, offer=10.0)
            s.flush()
            pids = []
            for i in range(6):
                p = Proposal(call_id=past.id, code=f"P{c}-{i}", pi_user_id=pi.id,
                             status="accepted" if i < 4 else "rejected", title=f"P {i}")  # fmt: skip
                s.add(p)
                s.flush()
                pids.append(p.id)
            s.execute(insert(TeamMember), [
                {"proposal_id": pid, "role": "pi", "email": pi.email, "name": "PI",
                 "country_iso3": COUNTRIES[(c + i) % len(COUNTRIES)], "user_id": pi.id,
                 "status": "accepted"}
                for i, pid in enumerate(pids)
            ])  # fmt: skip
            insert_decided(s, past.id, pids, pool_id, awarded=4, kind="fast", details={})
            s.execute(insert(PostAwardRecord), [
                {"call_id": past.id, "proposal_id": pid, "kind": "session", "reminders_sent": 0,
                 "data": {"observed_on": f"{year}-06-01", "observed_hours": 4.0,
                          "lost_hours": 0.0, "lost_reason": None, "completed": True}}
                for pid in pids[:4]
            ])  # fmt: skip
            s.execute(insert(ResearchOutput), [
                {"call_id": past.id, "proposal_id": pid, "kind": "publication",
                 "doi": f"10.5555/p{c}.{min(i, 2)}", "title": f"Paper {c} {i}", "year": year + 1,
                 "authors": [], "countries": [], "abstract": "", "acknowledgement": "",
                 "acknowledges": False, "source": "typed"}
                for i, pid in enumerate(pids[:4])
            ])  # fmt: skip
        s.commit()


def pages(slug: str) -> list[tuple[str, str]]:
    return [
        (f"/calls/{slug}/after-award", ""),
        (f"/manage/calls/{slug}/report", "office"),
        (f"/manage/calls/{slug}/report.csv", "office"),
        (f"/manage/calls/{slug}/report.json", "office"),
    ]


def visits(web: Web, data: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(first visit, second visit) statements of each page: computed, then kept."""
    office = web.login(data["office"])
    out = {}
    for path, who in pages(data["slug"]):
        c = office if who else web.client()
        oq.REPORTS.clear()
        oq.PUBLIC_AFTER_AWARD.clear()
        counts = []
        for _ in range(2):
            with count_statements(web) as seen:
                r = c.get(path)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            counts.append(len(seen))
        out[path.replace(data["slug"], "{slug}")] = (counts[0], counts[1])
    return out


def test_outcomes_statements_do_not_grow_with_the_cycles(
    web: Web, factory: sessionmaker[Session]
) -> None:
    few = published(factory, 3)
    add_cycles(factory, few["slug"], 2)
    many = published(factory, 3)
    add_cycles(factory, many["slug"], 7)
    small, big = visits(web, few), visits(web, many)
    print(small, big)
    grown = {p: (small[p], big[p]) for p in small if big[p] != small[p]}
    assert not grown, grown
