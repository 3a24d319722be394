"""A programme counted once everywhere (outcomes19b, after outcomes19): the public
after-award page's change across cycles pools the earlier cycles with a renewed
programme once (its awards; the awards with results withheld there, which only
unpublished counts could give), the first-and-repeat access table counts an award that
continues one of the facility's earlier awards (a renewal, a programme transferred to a
new PI) as a repeat access, as the programme count counts it once, and a renewal whose
only results are its programme's earlier ones has produced none of its own (the
stages, the funnels, the public page)."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from opencall.outcomes import after_award_data as aad
from opencall.outcomes import queries as oq
from opencall.people.models import User
from opencall.results import queries as rq
from opencall.results import services as res
from tests import factories as F
from tests.results.awards_world import telescope_cycles
from tests.web.conftest import Web


def _by(rows: list[dict[str, Any]], group: str, stage: str | None = None) -> dict[str, Any]:
    return next(r for r in rows if r["group"] == group and (stage is None or r["stage"] == stage))


def _paper(db: Session, p: Any, doi: str) -> None:
    res.add_output(db, p, {"doi": doi, "title": "P", "year": 2027}, actor_id=None)


def test_a_renewal_listing_only_its_programmes_earlier_paper_produced_no_result(
    db: Session,
) -> None:
    amina, jonas = F.user(db, country="KEN"), F.user(db, country="DEU")
    (c0, (a0,)), (c1, (a1, j1)) = telescope_cycles(
        db, [[(amina, True)], [(amina, True), (jonas, True)]], first_year=2025
    )
    res.set_continuation(db, a1, a0.id, actor=amina, office=True)
    _paper(db, a0, "10.5555/prog.1")
    _paper(db, a1, "10.5555/prog.1")  # the programme's paper, listed again
    _paper(db, j1, "10.5555/own.1")
    st = rq.stages_of_call(db, c1)
    assert not st[a1.id]["produced_results"]
    assert st[a1.id]["days_to_first_result"] is None and st[a1.id]["outputs"] == {}
    assert st[j1.id]["produced_results"]
    assert rq.stages_of_call(db, c0)[a0.id]["produced_results"]  # listed there first
    funnel = oq.report(db, c1)["after_award"]["funnels"]["ldc"]
    assert _by(funnel, "all", "produced_results")["count"] == 1
    # a new paper of its own: the renewal produced a result
    _paper(db, a1, "10.5555/prog.2")
    assert rq.stages_of_call(db, c1)[a1.id]["produced_results"]


def test_a_transferred_programme_is_a_repeat_access_not_a_first(db: Session) -> None:
    amina, sara, nima = (F.user(db, country=c) for c in ("KEN", "ETH", "NPL"))
    (c0, (a0,)), (c1, (s1, n1)) = telescope_cycles(
        db, [[(amina, True)], [(sara, True), (nima, True)]]
    )
    res.set_continuation(db, s1, a0.id, actor=sara, office=True)  # a transfer
    firsts = aad.first_access(db, [c0, c1])[c1.id]
    assert firsts[str(s1.id)][0] is False  # the programme had access before
    assert firsts[str(n1.id)][0] is True  # a new programme, a new PI
    access = oq.report(db, c1)["after_award"]["access"]["ldc"]
    every = _by(access, "all")
    assert (every["first_time"], every["repeat"]) == (1, 1)
    # the allocation's share group ``first_time`` by the same rule (one rule of a first
    # access, as tests/results/test_first_access.py holds it)
    from opencall.allocation import services as alloc

    assert alloc._groups_of(db, c1, [s1, n1])["first_time"] == {str(n1.id)}
    # the programmes table agrees: two programmes, one of them continuing
    progs = _by(oq.report(db, c1)["after_award"]["programmes"]["ldc"], "all")
    assert (progs["programmes"], progs["continuing"]) == (2, 1)


def test_a_continuation_from_another_facility_is_a_first_access_here(db: Session) -> None:
    amina = F.user(db, country="KEN")
    (c0, (a0,)), = telescope_cycles(db, [[(amina, True)]])  # fmt: skip
    (d0, (b0,)), = telescope_cycles(db, [[(amina, True)]])  # fmt: skip
    b0.continues_id = a0.id  # another provider's, as the links may hold it
    db.flush()
    assert aad.first_access(db, [d0])[d0.id][str(b0.id)][0] is True


def _pis(db: Session, n: int, country: str) -> list[User]:
    return [F.user(db, country=country) for _ in range(n)]


def _change_csv(web: Web, slug: str) -> dict[tuple[str, str], str]:
    oq.PUBLIC_AFTER_AWARD.clear()
    r = web.client("en").get(f"/calls/{slug}/after-award?format=csv")
    assert r.status_code == 200, r.text
    rows = csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))
    return {
        (x["group"], x["measure"]): x["value"]
        for x in rows
        if x["table"] == "change" and x["grouping"] == "ldc"
    }


def test_the_public_change_pools_a_renewed_programme_once(web: Web) -> None:
    with web.factory() as db:
        ken, deu = _pis(db, 6, "KEN"), _pis(db, 6, "DEU")
        new = _pis(db, 3, "KEN")
        cycles = telescope_cycles(
            db,
            [
                [(u, True) for u in ken + deu],
                [(u, True) for u in ken[:3] + deu + new],  # three of Kenya's renewed
                [(u, True) for u in ken + deu],
            ],
            first_year=2024,
        )
        (c0, p0), (c1, p1), (c2, _p2) = cycles
        for pi, earlier, later in zip(ken, p0[:3], p1[:3], strict=False):
            res.set_continuation(db, later, earlier.id, actor=pi, office=True)
        db.commit()
        slugs = (c1.slug, c2.slug)
    got = _change_csv(web, slugs[1])
    # 12 + 12 awards, 21 programmes (Kenya's three renewed ones once)
    assert (got[("non-LDC", "awards:earlier_count")], got[("non-LDC", "awards:earlier_total")]) == (
        "21",
        "21",
    ), got
    # the awards with results pooled once a programme would need the unpublished
    # results of single awards: withheld, no share, no difference
    assert got[("non-LDC", "results:earlier_count")] == "x", got
    assert got[("non-LDC", "results:difference")] == "", got
    # the page of cycle two pools cycle one alone: nothing renewed within it
    got1 = _change_csv(web, slugs[0])
    assert got1[("non-LDC", "awards:earlier_total")] == "12", got1
    assert got1[("non-LDC", "results:earlier_total")] == "0", got1


def test_the_pool_keeps_a_programme_at_its_latest_award() -> None:
    """A chain over three earlier cycles counts once, in its last PI's group; the
    results of a pool with a renewal are unknown, one without keeps them."""

    def cycle(*awards: tuple[int, str]) -> dict[str, Any]:
        return {"programmes": [[root, {"ldc": g}] for root, g in awards]}

    pool = [cycle((1, "LDC"), (2, "non-LDC")), cycle((1, "LDC"), (3, "LDC")), cycle((1, "non-LDC"))]
    gone = oq._superseded(pool)
    assert [[g["ldc"] for g in c] for c in gone] == [["LDC"], ["LDC"], []]
    counts = {"LDC": (1, 1), "non-LDC": (1, 0), "all": (2, 1)}
    assert oq._once_a_programme(counts, ["LDC"], True) == {
        "LDC": (0, None), "non-LDC": (1, None), "all": (1, None),
    }  # fmt: skip
    assert oq._once_a_programme(counts, [], False) == counts
    assert oq._superseded([cycle((1, "LDC")), cycle((2, "LDC"))]) == [[], []]


def test_the_public_page_says_how_it_counts_a_programme(web: Web) -> None:
    """The page's notes say so, in the reader's language: a continuation is a returning
    award, and a renewed programme counts once over the earlier cycles."""
    with web.factory() as db:
        pis = _pis(db, 6, "KEN")
        (_c0, _p0), (c1, _p1) = telescope_cycles(
            db, [[(u, True) for u in pis], [(u, True) for u in pis]]
        )
        db.commit()
        slug = c1.slug
    oq.PUBLIC_AFTER_AWARD.clear()
    page = web.client("fr").get(f"/calls/{slug}/after-award")
    assert page.status_code == 200
    assert "compte comme une attribution de retour" in page.text
    assert "compte une seule fois" in page.text
