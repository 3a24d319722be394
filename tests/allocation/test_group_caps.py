"""A cap per country (income group, UN region) in a call's allocation policy, through the
services: the policy document refuses bad caps naming the field, the allocator holds each
country of the PIs to the cap and explains who it kept out ("the cap of N award(s) per
country was reached", in the reader's language), a cap nobody reaches changes no decision,
and the policy's sentences state the cap. Before, "at most two fellows from one country"
could not be said (docs/operators.md told operators to override by hand)."""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.allocation import services as al
from opencall.allocation.models import Award, Decision
from opencall.allocation.presenters import explain, policy_lines
from opencall.calls.queries import call_by_slug
from opencall.calls.schemas import allocation_policy
from opencall.calls.services import update_call
from opencall.errors import DomainError
from opencall.people.models import Country
from opencall.proposals.models import Proposal, Request
from opencall.web.i18n import Translator
from tests.allocation.test_policy_services import _to_allocation

ANCHOR = dt.date(2026, 11, 29)


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"group_caps": [{"per": "country"}]}, "give max_awards, max_amount or both"),
        ({"group_caps": [{"per": "country", "max_awards": 0}]}, "group_caps.0.max_awards"),
        ({"group_caps": [{"per": "city", "max_awards": 2}]}, "group_caps.0.per"),
        ({"group_caps": [{"per": "country", "max_amount": -1}]}, "max_amount"),
        ({"group_caps": [{"per": "country", "max_amount": {"x": 1}}]}, "max_amount"),
        (
            {"group_caps": [{"per": "country", "max_awards": 1}, {"per": "country", "max_awards": 2}]},
            "one cap per grouping",
        ),
        (
            {"nationality_blind": True, "group_caps": [{"per": "un_region", "max_awards": 3}]},
            "nationality-blind",
        ),
    ],
)  # fmt: skip
def test_bad_caps_are_refused_naming_the_field(doc: dict[str, Any], needle: str) -> None:
    with pytest.raises(DomainError) as exc:
        allocation_policy(doc)
    assert needle in str(exc.value)


def test_a_policy_without_caps_dumps_as_before_with_an_empty_list() -> None:
    ap = allocation_policy({"pi_cap_awards": 1})
    assert ap.group_caps == []
    doc = {"group_caps": [{"per": "income_group", "max_amount": {"4": 3}}]}
    assert allocation_policy(allocation_policy(doc).model_dump(mode="json")) == allocation_policy(
        doc
    )


@pytest.fixture
def small_world(demo: Callable[..., sessionmaker[Session]]) -> Iterator[Session]:
    with demo(2, 0.12, ANCHOR)() as s:
        yield s
        s.rollback()


def _awards_by_country(s: Session, call: Any) -> dict[str, int]:
    """Awards per country of the PI, counted as the policy counts them (a request, a
    bundle once)."""
    props = {p.id: p for p in s.scalars(select(Proposal).where(Proposal.call_id == call.id))}
    keys: dict[str, set[Any]] = defaultdict(set)
    for a in s.scalars(select(Award).where(Award.call_id == call.id)):
        req = s.get(Request, a.request_id)
        country = props[a.proposal_id].pi_member.country_iso3
        keys[country].add((a.proposal_id, req.bundle) if req.bundle else a.request_id)
    return {c: len(k) for c, k in keys.items()}


def _decisions(s: Session, call: Any) -> dict[int, tuple[str, str]]:
    return {
        d.proposal_id: (d.outcome, d.explanation)
        for d in s.scalars(select(Decision).where(Decision.call_id == call.id))
    }


def _from(s: Session, call: Any, countries: tuple[str, ...]) -> None:
    """The PIs of the call's proposals from ``countries``, in turn."""
    props = s.scalars(select(Proposal).where(Proposal.call_id == call.id).order_by(Proposal.id))
    for k, p in enumerate(props):
        p.pi_member.country_iso3 = countries[k % len(countries)]
    s.flush()


def test_the_allocator_holds_each_country_to_its_cap_and_says_why(small_world: Session) -> None:
    s = small_world
    call = _to_allocation(s, "lunar-2027")
    _from(s, call, ("KEN", "KEN", "NPL"))
    al.run_allocation(s, call, seed=0)
    free = _awards_by_country(s, call)
    free_decisions = _decisions(s, call)
    top = max(free.values())
    assert top >= 2, free  # the demo call awards several proposals of one country
    # a cap nobody reaches changes no decision
    call.allocation_policy = allocation_policy(
        {**call.allocation_policy, "group_caps": [{"per": "country", "max_awards": top}]}
    ).model_dump(mode="json")
    s.flush()
    al.run_allocation(s, call, seed=0)
    assert _decisions(s, call) == free_decisions
    # one award fewer than the most any country had
    cap = top - 1
    call.allocation_policy = allocation_policy(
        {**call.allocation_policy, "group_caps": [{"per": "country", "max_awards": cap}]}
    ).model_dump(mode="json")
    s.flush()
    al.run_allocation(s, call, seed=0)
    capped = _awards_by_country(s, call)
    assert max(capped.values()) <= cap, capped
    texts = [e for _, e in _decisions(s, call).values()]
    said = f"the cap of {cap} award(s) per country was reached"
    assert any(said in t for t in texts), texts
    # in the reader's language
    d = next(d for d in al.decisions(s, call) if said in d.explanation)
    assert "已达到每个国家" in explain(Translator("zh"), d)
    assert "par pays a été atteint" in explain(Translator("fr"), d)
    assert "por país" in explain(Translator("es"), d)


def test_an_income_group_cap_counts_by_the_pis_country(small_world: Session) -> None:
    s = small_world
    call = _to_allocation(s, "lunar-2027")
    _from(s, call, ("KEN", "UGA", "DEU"))
    al.run_allocation(s, call, seed=0)
    income = {c.iso3: c.income_group for c in s.scalars(select(Country))}
    by_group: dict[str, int] = defaultdict(int)
    for country, n in _awards_by_country(s, call).items():
        by_group[income[country]] += n
    top = max(by_group.values())
    call.allocation_policy = allocation_policy(
        {**call.allocation_policy, "group_caps": [{"per": "income_group", "max_awards": top - 1}]}
    ).model_dump(mode="json")
    s.flush()
    al.run_allocation(s, call, seed=0)
    after: dict[str, int] = defaultdict(int)
    for country, n in _awards_by_country(s, call).items():
        after[income[country]] += n
    assert max(after.values()) <= top - 1, after


def test_an_amount_cap_above_the_offer_is_refused_and_nothing_changes(
    small_world: Session,
) -> None:
    s = small_world
    call = call_by_slug(s, "lunar-2027")
    assert call is not None
    call.status = "draft"
    s.flush()
    before = copy.deepcopy(call.allocation_policy)
    pool = call.pools[0]
    doc = {"group_caps": [{"per": "country", "max_amount": {str(pool.pool_id): pool.amount + 1}}]}
    with pytest.raises(DomainError) as exc:
        update_call(s, call, {"allocation_policy": doc})
    assert f"group_caps.0.max_amount.{pool.pool_id}" in str(exc.value)
    assert call.allocation_policy == before


def _same(text: str, **params: Any) -> str:
    return text % params


def test_the_policy_states_its_caps() -> None:
    fund = SimpleNamespace(name="Stipend fund", unit="eur", unit_labels={})
    call = SimpleNamespace(
        allocation_policy={
            "group_caps": [
                {"per": "country", "max_awards": 2},
                {"per": "un_region", "max_amount": {"7": 50000}},
            ]
        },
        review_settings={},
        pools=[SimpleNamespace(pool_id=7, pool=fund)],
    )
    en = policy_lines(_same, call)
    assert "At most 2 awards per country (the principal investigator's)." in en
    assert (
        "At most 50,000 eur of Stipend fund per UN region (of the principal investigator's "
        "country)." in en
    )
    one = SimpleNamespace(**{**call.__dict__, "allocation_policy": {"group_caps": [
        {"per": "country", "max_awards": 1}]}})  # fmt: skip
    assert "At most 1 award per country (the principal investigator's)." in policy_lines(_same, one)
    assert "每个国家（以项目负责人所在国计）最多 2 项授予。" in policy_lines(_same, call, "zh")
    fr = policy_lines(Translator("fr").gettext, call, "fr")
    assert "Au plus 2 attributions par pays (celui du responsable scientifique)." in fr
