"""Schedule explanations in the reader's language: every sentence the optimisers compose is
a catalogued message id whose English rendering is the stored ``detail``; the slot calendar
says why an award is not placed in French; entries stored before (English only, or FAST's
``why``) still render, translated through the catalogued templates."""

from __future__ import annotations

import random
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from opencall.optim import logistics as lg
from opencall.optim import slots as sl
from opencall.optim.messages import is_message, message, render
from opencall.proposals.models import Request
from opencall.scheduling import presenters, services
from opencall.scheduling.domain import explanation_details, label_details
from opencall.web.i18n import Translator, merged_catalog
from tests.authz.test_workspace_matrix import session_client
from tests.i18n.checks import SRC, extracted
from tests.scheduling.conftest import SlotWorld, get_call
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def _ids(msg: Any) -> set[str]:
    """Every message id in a message, nested ones included."""
    if is_message(msg):
        out = {msg["msg"]}
        for v in (msg.get("params") or {}).values():
            out |= _ids(v)
        return out
    if isinstance(msg, list | tuple):
        return set().union(*(_ids(v) for v in msg)) if msg else set()
    return set()


def _logistics_explanations(trials: int) -> list[Any]:
    """Explanations of random cruise, course and package problems (crowded, too deep, off
    route, no matching bin, not suitable...)."""
    rng = random.Random(7)
    out: list[Any] = []
    for t in range(trials):
        legs = []
        for j in range(rng.randint(1, 3)):
            start = date(2027, 1, 1) + timedelta(days=10 * j)
            legs.append(
                lg.Leg(
                    id=f"L{j}",
                    start=start,
                    end=start + timedelta(days=rng.randint(0, 4)),
                    ports=("a", "b"),
                    route=((rng.uniform(-5, 5), rng.uniform(-5, 5)), (0.0, 0.0)),
                    berths=rng.randint(0, 6),
                    dive_slots=rng.randint(0, 4),
                    max_dive_depth_m=rng.choice([3000.0, 6000.0]),
                )
            )
        reqs = [
            lg.CruiseRequest(
                id=f"r{i}",
                merit=rng.random(),
                berths=rng.randint(0, 4),
                dives=tuple(
                    lg.DiveSite(
                        f"s{i}{k}",
                        rng.uniform(-6, 6),
                        rng.uniform(-6, 6),
                        rng.choice([1000.0, 4000.0, 7000.0]),
                    )
                    for k in range(rng.randint(0, 3))
                ),
                legs=tuple(leg.id for leg in legs if rng.random() < 0.6),
            )
            for i in range(rng.randint(1, 8))
        ]
        out += lg.solve_cruise(
            lg.CruiseProblem(tuple(legs), tuple(reqs)), seed=t
        ).explanations.values()
        sessions = tuple(
            lg.CourseSession(f"S{j}", date(2027, 1, 1), date(2027, 1, 2), "x", rng.randint(0, 5))
            for j in range(rng.randint(1, 3))
        )
        seats = tuple(
            lg.SeatRequest(
                f"q{i}",
                rng.random(),
                rng.randint(1, 4),
                tuple(rng.sample([s.id for s in sessions] + ["gone"], k=rng.randint(0, 2))),
                min_count=rng.choice([None, 1]),
            )
            for i in range(rng.randint(1, 8))
        )
        out += lg.solve_courses(lg.CourseProblem(sessions, seats), seed=t).explanations.values()
        seasons = tuple(
            lg.PackageSeason(f"T{j}", rng.choice("ab"), rng.randint(0, 4))
            for j in range(rng.randint(1, 3))
        )
        packages = tuple(
            lg.PackageRequest(
                f"p{i}",
                rng.random(),
                rng.choice("ab"),
                "site",
                count=rng.randint(1, 3),
                seasons=tuple(rng.sample([s.id for s in seasons], k=rng.randint(0, len(seasons)))),
                suitable=(ok := rng.random() < 0.8),
                unsuitable_reason="" if ok else "too cold",
            )
            for i in range(rng.randint(1, 8))
        )
        out += lg.solve_packages(lg.PackageProblem(seasons, packages), seed=t).explanations.values()
    return out


def test_every_optimiser_sentence_is_a_catalogued_message_rendering_its_detail() -> None:
    explanations = _logistics_explanations(40)
    seen: set[str] = set()
    for ex in explanations:
        assert ex.message is not None and render(ex.message) == ex.detail
        seen |= _ids(ex.message)
    # the random problems reach the partial, crowded, off-route and unsuitable sentences
    assert {
        "berths on leg %(leg)s, %(done)s of %(n)s dives; %(missing)s",
        "fewer than %(n)s feasible dive(s) on any leg: %(parts)s",
        "fewer than %(n)s seat(s) left in %(bins)s",
        "site not suitable: %(reason)s",
    } <= seen
    catalogued = set(presenters.SCHEDULE_MESSAGES) | _solver_ids()
    # nested free text (a suitability reason) is what the caller wrote, not a message id
    assert seen - {"too cold"} <= catalogued
    for lang in ("fr", "es", "zh"):
        catalog = merged_catalog(lang)
        assert catalog is not None
        assert all(catalog.get(m) is not None and catalog.get(m).string for m in catalogued)


def _solver_ids() -> set[str]:
    """What Babel extracts from the logistics and slot solvers (their ``M_`` calls)."""
    return {
        m
        for sub in ("logistics", "slots")
        for m in extracted(SRC / "optim" / sub)
        if isinstance(m, str)
    }


def test_the_solvers_write_each_sentence_once_at_its_call() -> None:
    """The logistics and slot solvers build their sentences with ``M_`` where they say
    them (as the allocation does): Babel extracts them from there, and the presenters
    list none of them a second time."""
    ids = _solver_ids()
    assert {
        "no leg is open to this request",
        "berths on leg %(leg)s, %(done)s of %(n)s dives; %(missing)s",
        "site not suitable: %(reason)s",
        "first choice",
        "fewer than %(n)s seat(s) left in %(bins)s",
        "room remained; the solver stopped within its gap",
        "all-or-nothing with %(others)s, which cannot be placed",
        "resource %(resource)s is not known",
    } <= ids
    assert not ids & set(presenters.SCHEDULE_MESSAGES)


def _nested(msg: Any, msg_id: str) -> list[dict[str, Any]]:
    """The parameters of every message ``msg_id`` nested in ``msg``."""
    if is_message(msg):
        params = msg.get("params") or {}
        out = [params] if msg["msg"] == msg_id else []
        for v in params.values():
            out += _nested(v, msg_id)
        return out
    if isinstance(msg, list | tuple):
        return [p for v in msg for p in _nested(v, msg_id)]
    return []


def test_dives_are_numbered_from_one_as_people_count() -> None:
    # the random requests name their k-th dive site s<i><k> (k from 0): dive number n is
    # the n-th site, so the numbers run 1..#dives and name the site they say
    numbered = [
        p
        for ex in _logistics_explanations(40)
        for p in _nested(ex.message, "dive %(k)s at %(site)s: %(why)s")
    ]
    assert numbered
    for p in numbered:
        assert isinstance(p["k"], int) and p["k"] >= 1, p
        assert p["site"].endswith(str(p["k"] - 1)), p


def test_a_nested_explanation_is_said_in_french_and_stays_english_in_the_csv() -> None:
    ex = lg.solve_cruise(
        lg.CruiseProblem(
            (lg.Leg("L1", date(2027, 1, 1), date(2027, 1, 1), (), ((0.0, 0.0),), 2, 1, 6000.0),),
            (
                lg.CruiseRequest(
                    "r",
                    1.0,
                    1,
                    (lg.DiveSite("A", 0.0, 0.0, 100.0), lg.DiveSite("B", 0.0, 0.0, 100.0)),
                ),
            ),
        )
    ).explanations["r"]
    # people count from 1: the second dive (B) is dive 2, in every language and the CSV
    assert ex.detail == "berths on leg L1, 1 of 2 dives; dive 2 at B: dive_slots_exhausted"
    details = explanation_details(ex)
    assert details["explanation"] == ex.detail  # what the CSV and the API show
    fr = presenters.explanation(Translator("fr"), details)
    assert fr == (
        "couchettes sur l’étape L1, plongées : 1 sur 2 ; plongée 2 à B : créneaux de plongée épuisés"
    )
    zh = presenters.explanation(Translator("zh"), details)
    assert "在 B 的第 2 次下潜" in zh and "第 1 次" not in zh and "第 0 次" not in zh
    assert "inmersión 2 en B" in presenters.explanation(Translator("es"), details)
    assert presenters.explanation(Translator("en"), details) == ex.detail
    label, said = label_details("%(n)s berth(s) on %(leg)s", n=2, leg="L1")
    entry = SimpleNamespace(label=label, details=said)
    assert label == "2 berth(s) on L1"
    assert presenters.label(Translator("es"), entry) == "2 litera(s) en L1"


def test_entries_stored_before_still_render() -> None:
    fr = Translator("fr")
    # an English-only row of an older schedule: translated through the catalogued template
    old = {"explanation": "berths on leg Leg 2, all dives"}
    assert presenters.explanation(fr, old) == "couchettes sur l’étape Leg 2, toutes les plongées"
    # FAST's unscheduled reason, composed in English by the optimiser
    why = {
        "unscheduled": "no_window_long_enough",
        "why": "longest visible stretch 68 min < 195 min",
    }
    assert presenters.explanation(Translator("zh"), why) == "最长连续可见 68 分钟 < 195 分钟"
    assert presenters.explanation(fr, {}) == ""
    assert presenters.label(fr, SimpleNamespace(label="P-001 M31", details={})) == "P-001 M31"
    # a message whose translation does not fit its parameters falls back to English
    assert presenters.say(fr, message("no such %(x)s sentence", x=1)) == "no such 1 sentence"


def test_the_calendar_says_in_french_why_the_bundle_is_not_placed(web: Web, sw: SlotWorld) -> None:
    with web.factory() as s:
        req = s.get(Request, sw.requests["collect"])
        assert req is not None
        req.details = {**req.details, "impossible_dates": [["2027-09-01", "2027-11-30"]]}
        s.commit()
    with web.factory() as s:
        services.run_schedule(s, get_call(s, sw))
        s.commit()
    office, _ = session_client(web, sw.emails["manager"])
    office.cookies.set("oc_lang", "fr")
    base = f"/manage/calls/{sw.slug}/resources"
    screen = office.get(f"{base}/{sw.pools['a']}/calendar").text
    collect = office.get(f"{base}/{sw.pools['b']}/calendar").text
    assert "tout ou rien avec" in screen and "all-or-nothing" not in screen
    assert "créneaux attribués, mais seuls 0 des" in collect
    assert "slots awarded but only" not in collect
    with web.factory() as s:
        stored = [
            e.details
            for e in services.entries(s, get_call(s, sw))
            if e.start is None and e.details.get("unscheduled") == "bundle"
        ]
    # the English sentence is stored as before, next to its message id and parameters
    assert [d["explanation"] for d in stored] == [
        sl.Unplaced.saying("x", "bundle", message(d["detail_msg"], **d["detail_params"])).detail
        for d in stored
    ]
    assert stored and stored[0]["explanation"].startswith("all-or-nothing with ")
