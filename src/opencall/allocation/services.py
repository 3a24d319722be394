"""Allocation: choose awards under the call's capacity pools and stated
policy with the HiGHS integer program in ``opencall.optim.allocation``, and
explain every decision. Overrides need a reason and are audited."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from opencall import auditlog
from opencall.allocation import reasons, tac_order
from opencall.allocation.instruments import instrument_shares
from opencall.allocation.models import (
    Award,
    AwardDecline,
    AwardEnd,
    AwardLaterPart,
    Decision,
    UnreviewedResolution,
)
from opencall.calls import services as call_services
from opencall.calls.domain import team_counted
from opencall.calls.models import Call
from opencall.calls.schemas import (
    allocation_policy,
    check_policy,
    review_settings,
    share_group_parts,
)
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities import domain as fac_domain
from opencall.facilities.domain import number_param, unit_text
from opencall.inputs import plain_number
from opencall.jobs import Job, enqueue
from opencall.optim.messages import M_, Message, composed, listing, number, render, unit
from opencall.people.models import Country
from opencall.people.queries import countries_named, persons
from opencall.proposals.models import Proposal
from opencall.proposals.queries import earlier_in_programme
from opencall.proposals.services import lock_call_for_close
from opencall.reviews import queries as rq
from opencall.reviews.domain import safety_hold
from opencall.reviews.policies import require_hands_off
from opencall.reviews.services import load_revisions, ranking_is_current, revision_content
from opencall.runs import Progress, Solve, SolverRun, record_run
from opencall.runs import no_progress as _noop

TECH_IDS = {"hybrid rice": "hybrid_rice", "tilapia": "tilapia", "juncao": "juncao"}
#: the wall-clock limit of an allocation run, from its start: the building of the problem
#: from the database counts against it, the solver's phases get the rest (at least
#: MIN_SOLVE_S); the explanations the solve writes after its last phase and the storing
#: of the decisions are not bounded by it (see docs/allocation-policy.md)
ALLOCATION_TIME_LIMIT_S = 60.0
MIN_SOLVE_S = 5.0
_clock = time.perf_counter


def pi_countries(session: Session, proposals: Sequence[Proposal]) -> dict[str, Country]:
    """{iso3: country} of the proposals' PIs: the countries named, not the reference
    data's 250 on every run (scale20)."""
    return countries_named(
        session, (p.pi_member.country_iso3 if p.pi_member else None for p in proposals)
    )


def _destinations(pools: Mapping[int, Any], requests: Iterable[Mapping[str, Any]]) -> set[str]:
    """The countries ``requests`` name as destinations for their resources' rules by
    country (``country_field``: :func:`_country_short` names them)."""
    out: set[str] = set()
    for req in requests:
        cp = pools.get(req.get("pool_id") or 0)
        if cp is not None and cp.pool.country_rules:
            iso3, shipped = fac_domain.rules_country(
                cp.pool.country_rules, req.get("details") or {}, None
            )
            if shipped and iso3:
                out.add(iso3)
    return out


def _groups_of(session: Session, call: Call, proposals: list[Proposal]) -> dict[str, set[str]]:
    """Group memberships derived from the PI's country (nationality-based groups), and
    ``first_time`` (:func:`repeat_pis`)."""
    countries = pi_countries(session, proposals)
    host = call.provider.country_iso3
    out: dict[str, set[str]] = {
        g: set() for g in ("international", "host", "low_lmic", "low", "lower-middle", "ldc")
    }
    for p in proposals:
        pi = p.pi_member
        c = countries.get(pi.country_iso3 or "") if pi else None
        if c is None:
            continue
        key = str(p.id)
        out["host" if c.iso3 == host else "international"].add(key)
        if c.income_group in ("low", "lower-middle"):
            out["low_lmic"].add(key)
        if c.income_group in ("low", "lower-middle"):
            out[c.income_group].add(key)
        if c.ldc:
            out["ldc"].add(key)
        out.setdefault(f"country:{c.iso3}", set()).add(key)
    out["first_time"] = first_time_proposals(session, call, proposals)
    return out


def first_time_proposals(session: Session, call: Call, proposals: Sequence[Proposal]) -> set[str]:
    """The ids of ``proposals`` in the share rule's group ``first_time``: their PI holds
    no award of an :func:`earlier_cycle` (:func:`repeat_pis`), and the proposal's
    programme (the chain of awards it continues, whatever their facility,
    ``proposals.queries.earlier_in_programme``) holds none either (outcomes19b,
    outcomes20: a renewal, a programme transferred to a new PI, or one brought back from
    a sister facility had access here before, as the report's first and repeat access
    counts it; a programme whose earlier awards were all at other facilities is new
    here). A statement a step back, and one more, where a proposal continues an award."""
    repeat = repeat_pis(session, call)
    chains = earlier_in_programme(session, [p.id for p in proposals if p.continues_id])
    earlier = sorted(set().union(*chains.values())) if chains else []
    renewed: set[int] = set()
    if earlier:
        renewed = set(
            session.scalars(
                select(Award.proposal_id)
                .join(Call, Call.id == Award.call_id)
                .where(earlier_cycle(call), Award.proposal_id.in_(earlier))
            )
        )
    return {
        str(p.id)
        for p in proposals
        if p.pi_user_id not in repeat and not chains.get(p.id, set()) & renewed
    }


#: The order of a facility's cycles, oldest first: by opening, then by creation.
CYCLE_ORDER = (Call.opens_at, Call.id)


def earlier_cycle(call: Call) -> ColumnElement[bool]:
    """The one rule of an earlier cycle of ``call``'s facility, for first-time and repeat
    access (the share rule's group ``first_time``, the report's first access): a call of
    the same facility whose decisions are released and that comes before ``call`` in
    :data:`CYCLE_ORDER` (a later cycle released already is no earlier access)."""
    return and_(
        Call.facility_id == call.facility_id,
        Call.decisions_released_at.is_not(None),
        or_(
            Call.opens_at < call.opens_at,
            and_(Call.opens_at == call.opens_at, Call.id < call.id),
        ),
    )


def repeat_pis(session: Session, call: Call) -> set[int]:
    """The PIs who hold an award of an :func:`earlier_cycle` of ``call``'s facility (an
    earlier cycle, or an earlier batch of a continuous call): the others are the group
    ``first_time`` of a share rule. A declined award's rows are gone, so it is no earlier
    access, as in the report's first and repeat access."""
    rows = session.scalars(
        select(Proposal.pi_user_id)
        .join(Award, Award.proposal_id == Proposal.id)
        .join(Call, Call.id == Award.call_id)
        .where(earlier_cycle(call))
        .distinct()
    )
    return {int(pi) for pi in rows if pi is not None}


def _share_groups(
    base: dict[str, set[str]], shares: Sequence[Any]
) -> dict[str, tuple[frozenset[str], bool]]:
    """{a share rule's group: (its proposals, derived from nationality)}: a group joined
    by ``+`` holds the proposals in every group it names."""
    out: dict[str, tuple[frozenset[str], bool]] = {}
    for s in shares:
        parts = share_group_parts(s.group)
        listed = set().union(*(base.get(f"country:{c}", set()) for c in s.countries))
        members = set.intersection(*(listed if p == "countries" else base[p] for p in parts))
        out[s.group] = (frozenset(members), s.nationality_based)
    return out


#: a cap's grouping (``calls.schemas.CAP_GROUPINGS``) in the explanation's words
CAP_PER = {"country": "country", "income_group": "income group", "un_region": "UN region"}


def _cap_groups(session: Session, proposals: list[Proposal], per: str) -> dict[str, frozenset[str]]:
    """The proposals of each country (income group, UN region) of their PI, by group name
    (``country:KEN``); a PI without a country is in none."""
    countries = pi_countries(session, proposals)
    out: dict[str, set[str]] = {}
    for p in proposals:
        pi = p.pi_member
        c = countries.get(pi.country_iso3 or "") if pi else None
        if c is None:
            continue
        value = {"country": c.iso3, "income_group": c.income_group, "un_region": c.un_region}[per]
        if value:
            out.setdefault(f"{per}:{value}", set()).add(str(p.id))
    return {name: frozenset(m) for name, m in out.items()}


def _group_caps(
    session: Session, policy_doc: Any, proposals: list[Proposal], pool_key: dict[int, str]
) -> tuple[list[Any], list[Any]]:
    """The policy's caps per country (income group, UN region) for the optimiser, and the
    groups they name."""
    from opencall.optim import allocation as al

    caps: list[Any] = []
    groups: list[Any] = []
    for doc in policy_doc.group_caps:
        members = _cap_groups(session, proposals, doc.per)
        groups.extend(al.Group(name, m, from_nationality=True) for name, m in members.items())
        names, per = tuple(members), CAP_PER[doc.per]
        if doc.max_awards is not None:
            caps.append(al.GroupCap(per, names, max_awards=doc.max_awards))
        if isinstance(doc.max_amount, dict):
            caps.extend(
                al.GroupCap(per, names, max_amount=v, pools=(pool_key[int(k)],))
                for k, v in doc.max_amount.items()
            )
        elif doc.max_amount is not None:
            caps.append(al.GroupCap(per, names, max_amount=doc.max_amount))
    return caps, groups


def _feasibility(
    session: Session, call: Call, p: Proposal, req: dict[str, Any], tech: Any, safety: Any
) -> Message | None:
    """Technical and safety reviews and site rules that exclude a request from the
    allocation: why (a message, translated where it is read), or None when the request
    is feasible. A safety review's refusal excludes it whatever its grade (trialfac24)."""
    from opencall.optim import logistics, suitability

    tr = tech.get(p.id)
    if tr is not None and tr.verdict == "not_feasible":
        return M_("judged not feasible by the technical review")
    sr = safety.get(p.id)
    if sr is not None and safety_hold(sr.hazard_class, sr.decision, ()) == "refused":
        return M_("refused by the safety review")
    kind = req["kind"]
    details = req["details"]
    policy = allocation_policy(call.allocation_policy)
    if kind in ("seat", "package") and policy.require_suitability:
        tid = TECH_IDS.get(details["technology"], details["technology"])
        th = suitability.DEFAULT_THRESHOLDS.get(tid)
        if th is not None:
            site = details["site"]
            verdict = suitability.assess(
                suitability.SiteConditions(
                    mean_temp_c=site.get("mean_temp_c"),
                    annual_rain_mm=site.get("annual_rain_mm"),
                    altitude_m=site.get("altitude_m"),
                    water_temp_c=site.get("water_temp_c"),
                ),
                th,
            )
            if not verdict.suitable:
                # the suitability rules give their reasons in English only
                return M_(
                    "site not suitable: %(reason)s",
                    reason=composed("; ".join(verdict.reasons[:2])),
                )
    if kind == "dive":
        pool = next((cp.pool for cp in call.pools if cp.pool_id == req["pool_id"]), None)
        if pool is not None:
            route = [tuple(x) for x in pool.attributes["route"]]
            ok = [
                logistics.route_distance_km(s["lat"], s["lon"], route)[0] <= 50.0
                for s in details["sites"]
            ]
            if not any(ok):
                return M_("no dive site lies within 50 km of the leg's route")
    return None


def _least_part(
    fraction: float,
    minimum: dict[int, float],
    positions: list[int],
    content: dict[str, Any],
) -> float:
    """The smallest part of a request a partial award may give: the policy's fraction,
    and never less than the call's minimum per request of the resource."""
    for i in positions:
        req = content["requests"][i]
        low = minimum.get(req.get("pool_id") or 0)
        if low and float(req["amount"]) > 0:
            fraction = max(fraction, min(1.0, low / float(req["amount"])))
    return fraction


#: (positions, demand, why it is not feasible (None: feasible), kind)
_Part = tuple[list[int], dict[str, float], Message | None, str]


def _demand(
    call: Call, req: dict[str, Any], pool_key: dict[int, str], lst_pool_by_hour: dict[int, int]
) -> dict[str, float]:
    """A request's demand by pool name: a FAST request's hours in each LST bin its targets
    are visible in (bins without a pool left out), any other its amount of its pool."""
    from opencall.optim import allocation as al

    if req["kind"] != "fast":
        return {pool_key[req["pool_id"]]: float(req["amount"])}
    targets = req["details"]["targets"]
    demand_vec = al.fast_lst_demands(
        [t["ra_deg"] for t in targets],
        [t["dec_deg"] for t in targets],
        [t["hours"] for t in targets],
        n_bins=24,
        max_zenith_deg=call.facility.attributes.get("max_zenith_deg", 40.0),
    )
    return {
        pool_key[lst_pool_by_hour[h]]: float(v)
        for h, v in enumerate(demand_vec)
        if v > 1e-9 and h in lst_pool_by_hour
    }


def _one_vessel_request(parts: list[_Part]) -> _Part:
    """A diver needs a berth on the same cruise: the berths and dives of one proposal are
    awarded together, as one request over both pools (feasible when every part is)."""
    demand: dict[str, float] = {}
    for _, d, _, _ in parts:
        for k, v in d.items():
            demand[k] = demand.get(k, 0.0) + v
    bad = [w for _, _, w, _ in parts if w is not None]
    return (
        [i for ii, _, _, _ in parts for i in ii],
        demand,
        (bad[0] if len(bad) == 1 else listing(bad, sep="; ")) if bad else None,
        " and ".join(k for _, _, _, k in parts),
    )


def _usable_slots(pool: Any, details: dict[str, Any], now: Any) -> set[tuple[Any, Any]] | None:
    """The (start, end) of each slot of ``pool``'s grid a request with ``details`` can be
    booked on: not in an unavailable period, not begun, not on a date it declares
    impossible (``impossible_dates``); None when the resource has no period."""
    from opencall.optim import slots as sl

    lo, hi = fac_domain.period_bounds(
        pool.period_start, pool.period_end, pool.day_start_hour, pool.time_zone or ""
    )
    if lo is None or hi is None:
        return None
    grid = sl.slot_grid(
        sl.Resource(
            id=str(pool.id),
            start=lo,
            end=hi,
            slot_hours=float(pool.slot_hours),
            unavailable=tuple((u.starts_at, u.ends_at, u.reason) for u in pool.unavailable),
            not_before=now,
            time_zone=pool.time_zone or "",
            wall_start=fac_domain.period_wall_start(pool.period_start, pool.day_start_hour)
            if pool.period_start is not None
            else None,
        )
    )
    off = sl.date_ranges(details.get("impossible_dates") or [], pool.time_zone or "")
    return {
        (g.start, g.end)
        for g in grid
        if not g.reason and not any(i0 < g.end and g.start < i1 for i0, i1 in off)
    }


def _longest_run(usable: set[tuple[Any, Any]]) -> int:
    """The most slots of ``usable`` (their (start, end)) that follow one another, each
    starting when the one before ends (the grid's slots do: a closure breaks the run)."""
    best = run = 0
    end = None
    for s, e in sorted(usable):
        run = run + 1 if s == end else 1
        best, end = max(best, run), e
    return best


def _window_short(
    pools: Mapping[int, Any], requests: Sequence[dict[str, Any]], least: Callable[[int], float]
) -> dict[int, Message]:
    """Why a request on a resource offered in slots cannot be placed, by its position: the
    dates it declares impossible leave fewer usable slots (free, not begun) than the least
    it may be awarded (``least``: its amount, or the smallest partial award). The schedule
    could never book it, whatever else is awarded (trialfac14: a coral team's spawning
    window of 5 days asking for 10). On a resource that books each award in one unbroken
    run (``CapacityPool.unbroken``), the longest run of usable slots is what counts
    (trialfac17: a 120-day crop in a chamber whose lamps are replaced after 101 days). A same-time bundle's requests are
    :func:`_same_time_apart`'s."""
    now = utcnow()
    same_time = {
        r.get("bundle")
        for r in requests
        if r.get("bundle") and r["kind"] == "custom" and r["details"].get("bundle_same_time")
    }
    out: dict[int, Message] = {}
    for i, req in enumerate(requests):
        cp = pools.get(req.get("pool_id") or 0)
        if (
            req["kind"] != "custom"
            or cp is None
            or cp.pool.slot_hours is None
            or not (req["details"].get("impossible_dates") or cp.pool.unbroken)
            or (req.get("bundle") and req.get("bundle") in same_time)
        ):
            continue
        usable = _usable_slots(cp.pool, req["details"], now)
        if usable is None:
            continue
        run = _longest_run(usable) if cp.pool.unbroken else len(usable)
        if run < len(usable) and run < least(i) - 1e-9:
            out[i] = M_(
                "%(resource)s books each award in one unbroken run, and its longest run of "
                "usable slots is %(n)s (%(asked)s asked)",
                n=number(str(run)),
                resource=cp.pool.name,
                asked=number(plain_number(float(req["amount"]))),
            )
            continue
        if len(usable) >= least(i) - 1e-9:
            continue
        out[i] = M_(
            "only %(n)s slots of %(resource)s are usable outside the dates the request "
            "declares impossible (%(asked)s asked)",
            n=number(str(len(usable))),
            resource=cp.pool.name,
            asked=number(plain_number(float(req["amount"]))),
        )
    return out


def _counts_team(limits: Mapping[str, Any]) -> bool:
    """Whether any of a call's resource limits counts the members of a team."""
    return any(lim.max_per_person is not None or lim.income_groups for lim in limits.values())


def _team_short(
    pools: Mapping[int, Any],
    content: dict[str, Any],
    limits: Mapping[str, Any],
    countries: Mapping[str, Country],
) -> dict[int, Message]:
    """Why a request is not awarded under its resource's limits on the team (trialfac24),
    by its position: the resource goes only to the members from countries of its
    ``income_groups`` and the team has none, or the request asks for more than
    ``max_per_person`` times the members counted (those of those groups, where it names
    any; every accepted member otherwise): a travel grant's cap per traveller. Read from
    the frozen revision's team, as the reviewers read it."""
    out: dict[int, Message] = {}
    for i, req in enumerate(content["requests"]):
        lim = limits.get(str(req.get("pool_id")))
        cp = pools.get(req.get("pool_id") or 0)
        if lim is None or cp is None or (lim.max_per_person is None and not lim.income_groups):
            continue
        groups = [countries[t["country"]].income_group if t.get("country") in countries
                  else "" for t in content.get("team", [])]  # fmt: skip
        n = team_counted(groups, lim.income_groups)
        if n == 0:
            out[i] = M_(
                "only for team members from countries of the income groups %(groups)s; this team "
                "has none",
                groups=", ".join(lim.income_groups),
            )
        elif lim.max_per_person is not None and float(req["amount"]) > (
            n * lim.max_per_person + 1e-9
        ):
            out[i] = M_(
                "at most %(cap)s %(unit)s per team member (%(n)s counted), %(total)s in all, "
                "less than the %(asked)s asked",
                cap=number(plain_number(lim.max_per_person)),
                unit=unit(cp.pool.unit, plain_number(lim.max_per_person)),
                n=number(str(n)),
                total=number(plain_number(n * lim.max_per_person)),
                asked=number(plain_number(float(req["amount"]))),
            )
    return out


def _country_short(
    pools: Mapping[int, Any],
    requests: Sequence[dict[str, Any]],
    country: Country | None,
    now: dt.datetime,
    countries: Mapping[str, Country] | None = None,
    least: Callable[[int], float] | None = None,
) -> dict[int, Message]:
    """Why a request cannot go to its team, by its position: its resource's rules by country
    (``CapacityPool.country_rules``, read by ``facilities.domain.country_rule`` for the
    PI's country, or for the country the request names in the rules' ``country_field``, a
    destination, named through ``countries``) bar that country (an export permit, a visa
    refused), or the resource's first day is nearer than the lead time a team from there
    (a shipment to there: a phytosanitary certificate) needs. A resource without a period
    has no first day: its lead times are not read. On a resource offered in slots over a
    season, the lead time is counted to the team's own first slot, not the season's:
    the request is refused only when the slots that begin after it (outside its
    impossible dates; one unbroken run where the resource asks for it) are fewer than
    the least it may be awarded (``least``: its amount without one) (trialfac22: before,
    a mail-in team needing 100 days was refused a 13-week season that began in 90)."""
    out: dict[int, Message] = {}
    for i, req in enumerate(requests):
        cp = pools.get(req.get("pool_id") or 0)
        if cp is None or not cp.pool.country_rules:
            continue
        pool = cp.pool
        iso3, shipped = fac_domain.rules_country(
            pool.country_rules, req.get("details") or {}, country.iso3 if country else None
        )
        place = (countries or {}).get(iso3 or "") if shipped else country
        where = place.name if place is not None else (iso3 or "?")
        barred, lead = fac_domain.country_rule(pool.country_rules, iso3)
        if barred:
            out[i] = (
                M_(
                    "%(resource)s cannot be sent to %(country)s (its rules by country)",
                    resource=pool.name,
                    country=where,
                )
                if shipped
                else M_(
                    "%(resource)s cannot go to a team from %(country)s (its rules by country)",
                    resource=pool.name,
                    country=where,
                )
            )
            continue
        lo, _hi = fac_domain.period_bounds(
            pool.period_start, pool.period_end, pool.day_start_hour, pool.time_zone or ""
        )
        if lead and lo is not None and now + dt.timedelta(days=lead) > lo:
            floor = now + dt.timedelta(days=lead)
            usable = (
                _usable_slots(pool, req.get("details") or {}, floor) if pool.slot_hours else None
            )
            if usable is not None:
                n = _longest_run(usable) if pool.unbroken else len(usable)
                need = least(i) if least is not None else float(req.get("amount") or 0.0)
                if n >= need - 1e-9:
                    continue  # the team's slots begin after its lead time
                slot_args = {
                    "country": where,
                    "days": number(str(lead)),
                    "resource": pool.name,
                    "n": number(str(n)),
                    "asked": number(plain_number(float(req.get("amount") or 0.0))),
                }
                out[i] = (
                    M_(
                        "a shipment to %(country)s needs %(days)s days before its first slot "
                        "of %(resource)s, and only %(n)s usable slots are left after that "
                        "(%(asked)s asked)",
                        **slot_args,
                    )
                    if shipped
                    else M_(
                        "a team from %(country)s needs %(days)s days before its first slot "
                        "of %(resource)s, and only %(n)s usable slots are left after that "
                        "(%(asked)s asked)",
                        **slot_args,
                    )
                )
                continue
            args = {
                "country": where,
                "days": number(str(lead)),
                "resource": pool.name,
                "first": pool.period_start.isoformat() if pool.period_start else "",
                "left": number(str(max(0, (lo - now).days))),
            }
            out[i] = (
                M_(
                    "a shipment to %(country)s needs %(days)s days before %(resource)s "
                    "begins (on %(first)s), and only %(left)s are left",
                    **args,
                )
                if shipped
                else M_(
                    "a team from %(country)s needs %(days)s days before %(resource)s begins "
                    "(on %(first)s), and only %(left)s are left",
                    **args,
                )
            )
    return out


def _same_time_commons(
    pools: Mapping[int, Any], requests: Sequence[dict[str, Any]], now: dt.datetime
) -> list[tuple[list[int], list[Any], set[tuple[Any, Any]]]]:
    """Each same-time bundle (``bundle_same_time``) of one proposal's requests: the
    positions of its requests, their offered pools and the instants (start, end) usable on
    all of its resources at once (not in an unavailable period, not begun, not on a date
    its request declares impossible)."""
    bundles: dict[str, list[int]] = {}
    for i, req in enumerate(requests):
        if req["kind"] == "custom" and req.get("bundle"):
            bundles.setdefault(req["bundle"], []).append(i)
    out = []
    for positions in bundles.values():
        reqs = [requests[i] for i in positions]
        cps = [pools.get(r["pool_id"]) for r in reqs]
        if (
            len(reqs) < 2
            or not any(r["details"].get("bundle_same_time") for r in reqs)
            or any(cp is None or cp.pool.slot_hours is None for cp in cps)
        ):
            continue
        common: set[tuple[Any, Any]] | None = None
        offered = [cp for cp in cps if cp is not None]  # every one (checked above)
        for r, cp in zip(reqs, offered, strict=True):
            usable = _usable_slots(cp.pool, r["details"], now)
            if usable is None:
                common = set()
                break
            common = usable if common is None else common & usable
        out.append((positions, offered, common or set()))
    return out


def _same_time_apart(
    pools: Mapping[int, Any], requests: Sequence[dict[str, Any]], now: dt.datetime | None = None
) -> dict[int, Message]:
    """Why each request of a same-time bundle (``bundle_same_time``) cannot be placed, by its
    position: its resources share fewer usable slots (``_same_time_commons``) than it asks
    for. The schedule could never book it, whatever else is awarded."""
    out: dict[int, Message] = {}
    for positions, offered, common in _same_time_commons(pools, requests, now or utcnow()):
        asked = max(float(requests[i]["amount"]) for i in positions)
        n = len(common)
        if n < asked:
            why = M_(
                "only %(n)s slots are usable on all of its bundle's resources at once "
                "(%(resources)s; %(asked)s asked)",
                n=number(str(n)),
                resources=listing([cp.pool.name for cp in offered]),
                asked=number(plain_number(asked)),
            )
            out.update({i: why for i in positions})
    return out


def same_time_windows(
    pools: Mapping[int, Any],
    requests_of: Mapping[int, Sequence[dict[str, Any]]],
    *,
    now: dt.datetime | None = None,
) -> list[Any]:
    """What same-time bundles sharing a resource take together, between bundles (of one
    proposal or of several): on a resource, the bundles whose common instants lie within
    a set ``W`` of its instants (``W`` one bundle's common instants, or all of theirs
    together) need their slots among ``W``'s, so at most ``len(W)`` of them are awarded
    (Hall's condition on those sets; a pool's capacity counts its slots, not which). One
    ``SharedCapacity`` per such set that the bundles on it could overdraw; its demand is
    keyed by the allocation's request ids (``<proposal id>:<position>``)."""
    from opencall.optim import allocation as al

    at = now or utcnow()
    # per pool: (request id, slots asked, the bundle's common instants)
    on_pool: dict[int, list[tuple[str, float, frozenset[tuple[Any, Any]]]]] = {}
    for proposal_id, requests in requests_of.items():
        for positions, _offered, common in _same_time_commons(pools, requests, at):
            shared = frozenset(common)
            for i in positions:
                req = requests[i]
                rid = f"{proposal_id}:{i}"
                on_pool.setdefault(req["pool_id"], []).append((rid, float(req["amount"]), shared))
    out: list[Any] = []
    for pid, entries in sorted(on_pool.items()):
        if len(entries) < 2:
            continue
        windows = {w for _, _, w in entries} | {frozenset().union(*(w for _, _, w in entries))}
        seen: set[frozenset[str]] = set()
        for w in sorted(windows, key=lambda w: (len(w), sorted(w))):
            members = {rid: asked for rid, asked, c in entries if c <= w}
            key = frozenset(members)
            if len(members) < 2 or key in seen or sum(members.values()) <= len(w):
                continue
            seen.add(key)
            name = pools[pid].pool.name
            out.append(al.SharedCapacity(f"{name}: {len(out) + 1}", float(len(w)), members))
    return out


def build_problem(
    session: Session, call: Call, *, seed: int = 0, chair_order: bool = True
) -> tuple[Any, dict[str, Any]]:
    """The allocation problem of ``call``: its ranked proposals' requests, pools and policy,
    in the TAC chair's order (``allocation.tac_order``; ``chair_order=False``: the
    calibrated order, as the chair's preview compares)."""
    from opencall.optim import allocation as al

    policy_doc = allocation_policy(call.allocation_policy)
    rs = review_settings(call.review_settings)
    # a batch's policy is its continuous call's: checked against what the call offers
    # (a batch is offered what the earlier batches left, which may be less than a limit)
    parent = session.get(Call, call.parent_id) if call.parent_id is not None else None
    check_policy(
        policy_doc,
        rs,
        call_services.offered_pools(parent if parent is not None and parent.pools else call),
    )
    ranked = rq.ranking(session, call)
    if not ranked:
        raise DomainError("Calibrate and rank the proposals before allocating.")
    merit = allocation_merit(session, call, ranked, rs)
    set_aside: dict[int, Message] = {}
    if chair_order:
        merit, set_aside = tac_order.chair_merit(
            session, call, merit, rs.lower_is_better, {r.proposal_id: r.rank for r in ranked}
        )
    tech = rq.technical_reviews(session, call)
    safety = rq.safety_reviews(session, call) if rs.safety_review else {}
    proposals = [p for p in rq.proposals_for_review(session, call) if p.id in merit]
    _held = load_revisions(session, proposals)  # held: revision_content reads them
    pools = {cp.pool_id: cp for cp in call.pools}
    lst_pool_by_hour: dict[int, int] = {}
    for cp in call.pools:
        if cp.pool.pool_type == "lst_hours":
            lst_pool_by_hour[int(cp.pool.attributes["lst_start_h"])] = cp.pool_id
    # pools are named in explanations, so their names are the optimiser's ids
    pool_key = {cp.pool_id: cp.pool.name for cp in call.pools}
    minimum = {cp.pool_id: cp.min_per_request for cp in call.pools if cp.min_per_request}
    requests = []
    # request id -> (proposal id, {pool name: position of the request row in the proposal})
    index: dict[str, tuple[int, dict[str, int]]] = {}
    kind_of: dict[str, str] = {}
    same_time_requests: dict[int, list[dict[str, Any]]] = {}
    contents = {p.id: revision_content(session, p) for p in proposals}
    # the PIs' countries and the destinations the requests name, not all 250
    countries = {
        **pi_countries(session, proposals),
        **countries_named(
            session, _destinations(pools, (r for c in contents.values() for r in c["requests"]))
        ),
        # the team's countries, where a resource's limits count its members (trialfac24)
        **countries_named(
            session,
            (
                t.get("country")
                for c in contents.values()
                for t in c.get("team", [])
                if _counts_team(policy_doc.resource_limits)
            ),
        ),
    }
    now = utcnow()
    capped = policy_doc.pi_cap_awards is not None or policy_doc.pi_cap_amount is not None
    # the accounts of one mailbox (aliases made before round 17 refused them) are one PI
    # for the caps per PI, here and in the continuous call's earlier batches (trialcrowd18)
    person = persons(
        session,
        {p.pi_user_id for p in proposals}
        | (holders_in_earlier_batches(session, call) if capped else set()),
    )
    for p in proposals:
        content = contents[p.id]
        pi = str(person[p.pi_user_id])
        parts: list[_Part] = []
        bundle_of: dict[int, str | None] = {}
        apart = _same_time_apart(pools, content["requests"])
        same_time_requests[p.id] = content["requests"]

        def least(i: int, c: dict[str, Any] = content) -> float:
            """The least request ``i`` may be awarded: all of it, or its smallest part."""
            req = c["requests"][i]
            if policy_doc.award_mode != "partial" or req.get("bundle"):
                return float(req["amount"])
            return float(req["amount"]) * _least_part(policy_doc.min_fraction, minimum, [i], c)

        apart = {**_window_short(pools, content["requests"], least), **apart}
        pi_country = countries.get(p.pi_member.country_iso3 or "") if p.pi_member else None
        apart = {
            **apart,
            **_country_short(pools, content["requests"], pi_country, now, countries, least),
            **_team_short(pools, content, policy_doc.resource_limits, countries),
        }
        for i, req in enumerate(content["requests"]):
            demand = _demand(call, req, pool_key, lst_pool_by_hour)
            why = (
                set_aside.get(p.id)
                or _feasibility(session, call, p, req, tech, safety)
                or apart.get(i)
            )
            if req["kind"] == "fast" and not demand:
                why = M_("no target is ever visible from the telescope")
            parts.append(([i], demand, why, req["kind"]))
            bundle_of[i] = req.get("bundle") or None
        if call.facility.kind == "vessel" and len(parts) > 1:
            parts = [_one_vessel_request(parts)]
        for positions, demand, why, kind in parts:
            rid = f"{p.id}:{positions[0]}"
            requests.append(
                al.Request(
                    id=rid,
                    proposal_id=str(p.id),
                    pi_id=pi,
                    merit=float(merit[p.id]),
                    demand=demand,
                    min_fraction=_least_part(policy_doc.min_fraction, minimum, positions, content)
                    if policy_doc.award_mode == "partial"
                    else 1.0,
                    feasible=why is None,
                    infeasible_reason="" if why is None else render(why),
                    infeasible_message=why,
                    # a merged vessel request is one request already
                    bundle=bundle_of.get(positions[0]) if len(positions) == 1 else None,
                    # the applicant's order: among equal merits the request listed first
                    # wins (a preferred cohort before an acceptable one)
                    preference=positions[0],
                )
            )
            pos_of_pool: dict[str, int] = {}
            for i in positions:
                req = content["requests"][i]
                if req["kind"] == "fast":
                    pos_of_pool.update({name: i for name in demand})
                else:
                    pos_of_pool[pool_key[req["pool_id"]]] = i
            index[rid] = (p.id, pos_of_pool)
            # a decision's sentence of each request is said under this word when the
            # proposal has several: a custom resource's request under the resource's
            # name, so that a project cut by a different fraction on each resource reads
            # which fraction is which ("CPU cluster: awarded 40.0% ...", usage23), not
            # "Request: ...; Request: ..."
            own = kind == "custom" and len(positions) == 1
            kind_of[rid] = pool_key[content["requests"][positions[0]]["pool_id"]] if own else kind
    share_groups = (
        _share_groups(_groups_of(session, call, proposals), policy_doc.group_shares)
        if policy_doc.group_shares
        else {}
    )
    caps, cap_groups = _group_caps(session, policy_doc, proposals, pool_key)
    groups = tuple(
        al.Group(name=g, proposal_ids=m, from_nationality=nat)
        for g, (m, nat) in share_groups.items()
    ) + tuple(cap_groups)
    # a share is measured in one unit: the call's first pool type (FAST hours, berths, mg,
    # seats) and, for custom resources (all of type "custom"), the first resource's unit
    first = (call.pools[0].pool.pool_type, call.pools[0].pool.unit) if call.pools else None
    share_pools = tuple(
        pool_key[cp.pool_id] for cp in call.pools if (cp.pool.pool_type, cp.pool.unit) == first
    )
    rules = tuple(
        al.GroupShareRule(
            group=s.group,
            min_share=s.min_share,
            pools=share_pools,
            nationality_based=s.nationality_based,
            min_quality=s.min_quality,
        )
        for s in policy_doc.group_shares
    )
    cap = policy_doc.pi_cap_amount
    held: dict[int, int] = {}
    if policy_doc.pi_cap_awards is not None:
        for uid, n in awards_held_in_earlier_batches(session, call, set(person)).items():
            held[person[uid]] = held.get(person[uid], 0) + n
    # the amount cap per PI holds across a continuous call's batches too
    held_amounts: dict[int, dict[int, float]] = {}
    if cap is not None:
        for uid, per_pool in amounts_held_in_earlier_batches(session, call, set(person)).items():
            mine = held_amounts.setdefault(person[uid], {})
            for pid, v in per_pool.items():
                mine[pid] = mine.get(pid, 0.0) + v
    # a limit on the total awarded of a resource holds across a continuous call's batches:
    # what the earlier batches awarded of it comes off (the rest bounds the batch's room)
    earlier = {
        pid: amount
        for pid, amount in awarded_in_earlier_batches(session, call).items()
        if (lim := policy_doc.resource_limits.get(str(pid))) is not None
        and lim.max_total is not None
    }
    policy = al.AllocationPolicy(
        allow_partial=policy_doc.award_mode == "partial",
        min_fraction=policy_doc.min_fraction,
        max_awards_per_pi=policy_doc.pi_cap_awards,
        awards_held_by_pi={str(pi): n for pi, n in held.items()},
        amount_held_by_pi={
            str(pi): {pool_key.get(pid, f"pool {pid}"): v for pid, v in per_pool.items()}
            for pi, per_pool in held_amounts.items()
        },
        max_amount_per_pi=cap if isinstance(cap, float | int) else None,
        max_amount_per_pi_by_pool=(
            {pool_key[int(k)]: v for k, v in cap.items()} if isinstance(cap, dict) else {}
        ),
        resource_limits={
            pool_key[int(k)]: al.ResourceLimit(
                lim.max_per_proposal, None if int(k) in earlier else lim.max_total
            )
            for k, lim in policy_doc.resource_limits.items()
        },
        group_share_rules=rules,
        group_caps=tuple(caps),
        nationality_blind=policy_doc.nationality_blind,
        quality_threshold=policy_doc.quality_threshold,
    )
    # of a slot-based resource, no more than its slots not begun now that other calls do
    # not hold: a slot that has begun can no longer be booked
    capacity = {pid: float(cp.amount) for pid, cp in pools.items()}
    # less what earlier calls' multi-period awards hold of it for this period (outcomes23)
    for pid, held_part in committed_parts(session, call).items():
        if pid in capacity:
            capacity[pid] = max(capacity[pid] - held_part, 0.0)
    for pid, used in earlier.items():
        total = policy_doc.resource_limits[str(pid)].max_total or 0.0
        if pid in capacity:
            capacity[pid] = min(capacity[pid], max(total - used, 0.0))
    room: dict[int, float] = {}
    for pid, cp in pools.items():
        left = call_services.slots_left(session, cp.pool, call.id)
        if left is not None:
            capacity[pid] = min(capacity[pid], left)
            room[pid] = left
    # a resource whose schedule keeps slots free between two proposals (a travelling team's
    # travel days, a lab's changeover): its awards and those slots fit in its free slots,
    # or the schedule could not place every award
    pool_objs = tuple(
        al.Pool(
            id=pool_key[pid],
            capacity=capacity[pid],
            unit=cp.pool.unit,
            kind=cp.pool.pool_type,
            # plot-seasons, sessions, berths: a partial award is a whole number of them
            whole=cp.pool.whole_only or cp.pool.slot_hours is not None,
            changeover=float(cp.pool.changeover_slots or 0) if pid in room else 0.0,
            room=room.get(pid),
        )
        for pid, cp in pools.items()
    )
    # same-time bundles sharing a resource: the instants common to their resources, counted
    # between bundles (each alone was checked by ``_same_time_apart``)
    request_ids = {r.id for r in requests}
    shared = tuple(
        al.SharedCapacity(w.id, w.capacity, {k: v for k, v in w.demand.items() if k in request_ids})
        for w in same_time_windows(pools, same_time_requests)
    ) + tuple(instrument_shares(session, call, pools, pool_key, capacity, requests))
    problem = al.AllocationProblem(
        pools=pool_objs,
        requests=tuple(requests),
        policy=policy,
        groups=groups,
        shared=shared,
        merit_higher_is_better=not rs.lower_is_better,
    )
    return problem, {
        "index": index,
        "kind": kind_of,
        "pool_id": {v: k for k, v in pool_key.items()},
    }


def awards_held_in_earlier_batches(session: Session, call: Call, pis: set[int]) -> dict[int, int]:
    """The awards each of ``pis`` holds in the earlier batches of ``call``'s continuous
    call (empty for a call that is not a batch): the call's cap on awards per PI holds
    across its batches, not per batch. An award counts as the optimiser counts it, once
    per awarded request; a declined award's rows are gone, so it no longer counts."""
    if call.parent_id is None or call.batch_number is None or not pis:
        return {}
    stmt = select(Proposal.pi_user_id, func.count(func.distinct(Award.request_id)))
    rows = session.execute(_in_earlier_batches(stmt, call, pis).group_by(Proposal.pi_user_id))
    return {int(pi): int(n) for pi, n in rows if pi is not None}


def holders_in_earlier_batches(session: Session, call: Call) -> set[int]:
    """The PIs who hold awards in the batches of ``call``'s continuous call before
    ``call`` (empty for a call that is not a batch)."""
    if call.parent_id is None or call.batch_number is None:
        return set()
    stmt = select(Proposal.pi_user_id).distinct()
    return {int(pi) for pi in session.scalars(_in_earlier_batches(stmt, call)) if pi is not None}


def awarded_in_earlier_batches(session: Session, call: Call) -> dict[int, float]:
    """What the batches of ``call``'s continuous call before ``call`` awarded of each
    resource (``{pool id: amount}``; empty for a call that is not a batch): a limit on
    the total awarded of a resource (``resource_limits.<pool>.max_total``) holds across
    the batches. A declined award's rows are gone, so it no longer counts."""
    if call.parent_id is None or call.batch_number is None:
        return {}
    rows = session.execute(
        select(Award.pool_id, func.sum(Award.amount))
        .join(Call, Call.id == Award.call_id)
        .where(Call.parent_id == call.parent_id, Call.batch_number < call.batch_number)
        .group_by(Award.pool_id)
    )
    return {int(pid): float(amount) for pid, amount in rows if pid is not None and amount}


def _in_earlier_batches(stmt: Any, call: Call, pis: set[int] | None = None) -> Any:
    """``stmt`` over the awards of ``pis`` (of anyone: None) in the batches of ``call``'s
    continuous call before ``call``."""
    stmt = (
        stmt.select_from(Award)
        .join(Proposal, Proposal.id == Award.proposal_id)
        .join(Call, Call.id == Award.call_id)
        .where(Call.parent_id == call.parent_id, Call.batch_number < call.batch_number)
    )
    return stmt if pis is None else stmt.where(Proposal.pi_user_id.in_(pis))


def amounts_held_in_earlier_batches(
    session: Session, call: Call, pis: set[int]
) -> dict[int, dict[int, float]]:
    """The amounts each of ``pis`` holds in the earlier batches of ``call``'s continuous
    call, per resource (``{pi: {pool id: amount}}``; empty for a call that is not a
    batch): the call's cap on the amount per PI (``pi_cap_amount``) holds across its
    batches, as the cap on awards does. A declined award's rows are gone, so it no longer
    counts."""
    if call.parent_id is None or call.batch_number is None or not pis:
        return {}
    stmt = select(Proposal.pi_user_id, Award.pool_id, func.sum(Award.amount))
    rows = session.execute(
        _in_earlier_batches(stmt, call, pis).group_by(Proposal.pi_user_id, Award.pool_id)
    )
    out: dict[int, dict[int, float]] = {}
    for pi, pool_id, amount in rows:
        if pi is not None and amount:
            out.setdefault(int(pi), {})[int(pool_id)] = float(amount)
    return out


def allocation_merit(
    session: Session, call: Call, ranked: Sequence[Any], rs: Any
) -> dict[int, float]:
    """The merit the allocation reads: the calibrated score of each ranked proposal with
    enough counted reviews (``min_reviews``); a proposal short of reviews that the chair
    carried to the allocation comes just below the last reviewed one (its few grades do not
    rank it); one short of reviews otherwise is left out (no decision)."""
    short = {p.id for p in short_of_reviews(session, call)}
    merit = {r.proposal_id: float(r.score) for r in ranked if r.proposal_id not in short}
    carried = [
        pid
        for pid, res in resolutions(session, call).items()
        if pid in short and res.action == "carry"
    ]
    if carried:
        scores = list(merit.values()) or [float(r.score) for r in ranked]
        step = 1e-6 * max(1.0, rs.grade_max - rs.grade_min)
        last = max(scores) + step if rs.lower_is_better else min(scores) - step
        merit.update({pid: last for pid in carried})
    return merit


def run_allocation(
    session: Session,
    call: Call,
    *,
    seed: int = 0,
    actor_id: int | None = None,
    progress: Progress = _noop,
) -> SolverRun:
    from opencall.optim import allocation as al

    if call.decisions_released_at is not None:
        # the teams were told (and their proposals accepted or rejected): a new run would
        # replace the decisions and awards behind what they read
        raise DomainError(
            "Decisions were already released; the allocation can no longer be run again."
        )
    if call.anonymity == "dual" and call.ranking_frozen_at is None:
        # explanations name share-rule groups and PI caps, which tell about the teams
        raise DomainError(
            "Freeze the ranking before allocating: in a dual-anonymous call the allocation "
            "uses and explains facts about the teams."
        )
    if not ranking_is_current(session, call):
        # the ranking the allocation would read no longer matches the grades
        raise DomainError(
            "The grades changed since the last calibration; calibrate again before "
            "allocating (unfreeze the ranking first if it is frozen)."
        )
    solve = Solve(seed, actor_id)
    started = _clock()
    # read before the order is built: a change committed meanwhile makes the run stale
    chair_change = tac_order.last_change(session, call)
    progress(5, "building the allocation problem")
    try:
        problem, meta = build_problem(session, call, seed=seed)
    except (al.PolicyError, al.ProblemError) as exc:
        raise DomainError("The allocation problem is invalid: %(error)s", error=exc) from exc
    progress(20, f"solving for {len(problem.requests)} requests over {len(problem.pools)} pools")
    built = _clock()
    left = max(ALLOCATION_TIME_LIMIT_S - (built - started), MIN_SOLVE_S)
    res = al.solve_allocation(problem, seed=seed, time_limit_s=left)
    solved = _clock()
    errors = res.check(problem)
    if errors:
        raise DomainError(
            "The allocation failed its check: %(errors)s", errors="; ".join(errors[:5])
        )
    run = record_run(
        session,
        call,
        "allocation",
        solve,
        inputs={
            "requests": [(r.id, r.merit, dict(r.demand), r.feasible) for r in problem.requests],
            "pools": [(p.id, p.capacity) for p in problem.pools],
            "policy": call.allocation_policy,
            # (only where earlier batches hold awards: the other runs' inputs hash as before)
            **(
                {"awards_held_by_pi": dict(problem.policy.awards_held_by_pi)}
                if problem.policy.awards_held_by_pi
                else {}
            ),
            **(
                {
                    "amount_held_by_pi": {
                        k: dict(v) for k, v in problem.policy.amount_held_by_pi.items()
                    }
                }
                if problem.policy.amount_held_by_pi
                else {}
            ),
        },
        parameters={"policy": call.allocation_policy},
        objective=res.objective,
        bound=res.bound,
        gap=res.mip_gap,
        summary={
            "status": res.status,
            "backend": res.backend,
            "phases": res.phases,
            "group_shares": [g.__dict__ for g in res.group_shares],
            "pool_usage": res.pool_usage(),
            "time_limit_s": ALLOCATION_TIME_LIMIT_S,
            # tenths of a second: the run's record is shown on the audit page, and a
            # figure such as 1.253 there reads like a grade (and trips the leak checks)
            "build_s": round(built - started, 1),
            "solve_s": round(solved - built, 1),
            # the TAC chair's latest change this run read (none: the key is left out)
            **({"tac_change": chair_change} if chair_change is not None else {}),
        },
    )
    progress(80, "recording decisions")
    session.execute(delete(Award).where(Award.call_id == call.id))
    session.execute(delete(Decision).where(Decision.call_id == call.id))
    index: dict[str, tuple[int, dict[str, int]]] = meta["index"]
    ranked = {r.proposal_id: r for r in rq.ranking(session, call)}
    short = {p.id for p in short_of_reviews(session, call)}
    by_proposal: dict[int, list[str]] = {}
    for rid, (pid, _) in index.items():
        by_proposal.setdefault(pid, []).append(rid)
    awarded_order = sorted(
        (
            pid
            for pid, rids in by_proposal.items()
            if any(res.fractions.get(r, 0) > 0 for r in rids)
        ),
        # a carried proposal short of reviews comes after every reviewed one
        key=lambda pid: (pid in short, ranked[pid].rank if pid in ranked else 0),
    )
    n = max(1, len(awarded_order))
    priority = {
        pid: "A" if i < n / 3 else ("B" if i < 2 * n / 3 else "C")
        for i, pid in enumerate(awarded_order)
    }
    proposals = {p.id: p for p in rq.proposals_for_review(session, call)}
    # the TAC chair's moves and accept band, said after the allocation's own sentences
    chair_notes = tac_order.notes(session, call)
    for pid, rids in by_proposal.items():
        fr = [res.fractions.get(r, 0.0) for r in rids]
        expl = [res.explanations[r] for r in rids]
        if all(f >= 1 - 1e-9 for f in fr):
            outcome = "awarded"
        elif any(f > 0 for f in fr):
            outcome = "awarded_partially"
        else:
            outcome = "not_awarded"
        session.add(
            decision := Decision(
                call_id=call.id,
                proposal_id=pid,
                outcome=outcome,
                explanation="; ".join(
                    f"{meta['kind'][r]}: {e.detail}" if len(rids) > 1 else e.detail
                    for r, e in zip(rids, expl, strict=True)
                ),
                explanation_msg=_parts(
                    [
                        (meta["kind"][r] if len(rids) > 1 else None, e.message)
                        for r, e in zip(rids, expl, strict=True)
                    ]
                ),
                priority=priority.get(pid, ""),
                run_id=run.id,
            )
        )
        if pid in chair_notes:
            _add_notes(decision, chair_notes[pid])
        for rid in rids:
            f = res.fractions.get(rid, 0.0)
            if f <= 0:
                continue
            _, positions = index[rid]
            rows = proposals[pid].requests
            for pool_name, amount in res.amounts.get(rid, {}).items():
                i = positions[pool_name]
                if amount > 1e-9 and i < len(rows):
                    session.add(
                        Award(
                            call_id=call.id,
                            proposal_id=pid,
                            request_id=rows[i].id,
                            pool_id=meta["pool_id"][pool_name],
                            amount=float(amount),
                            fraction=float(f),
                            run_id=run.id,
                        )
                    )
    for pid, chosen in resolutions(session, call).items():
        if pid in short and chosen.action == "reject" and pid in proposals:
            session.add(_not_reviewed(call, pid, chosen))
    session.flush()
    progress(100, "allocation done")
    return run


def _parts(
    said: Sequence[tuple[str | None, Mapping[str, Any] | None]],
) -> list[dict[str, Any]] | None:
    """A decision's explanation as stored for translation (``Decision.explanation_msg``):
    each request's sentence as a message (``optim.messages``) with its request kind (None
    when the proposal has one request); None when a sentence has no message."""
    if any(m is None for _, m in said):
        return None
    return [{"kind": kind, "message": dict(m or {})} for kind, m in said]


def _add_notes(d: Decision, said: Sequence[Message]) -> None:
    """``said`` (the TAC chair's sentences) after ``d``'s explanation."""
    d.explanation = "; ".join([d.explanation, *(render(m) for m in said)])
    if d.explanation_msg is not None:
        d.explanation_msg = [*d.explanation_msg, *({"kind": None, "message": m} for m in said)]


def _explain_as(d: Decision, said: dict[str, Any]) -> None:
    """``d``'s explanation is the one sentence ``said`` (a message)."""
    d.explanation = render(said)
    d.explanation_msg = _parts([(None, said)])


def decisions(session: Session, call: Call) -> list[Decision]:
    return list(
        session.scalars(select(Decision).where(Decision.call_id == call.id).order_by(Decision.id))
    )


#: What goes with a proposal's awards when an override replaces them: the scheduling
#: feature comes after allocation and registers here at import the removal of the
#: proposal's entries on the call's stored schedule (``scheduling.services``; the
#: schedule page then lists a new award as not scheduled yet, to run the step again).
AWARD_DROP_HOOKS: list[Callable[[Session, Call, Proposal], None]] = []


def override_decision(
    session: Session,
    call: Call,
    proposal: Proposal,
    *,
    outcome: str,
    reason: str,
    actor_id: int | None = None,
) -> Decision:
    """A chair's override: needs a reason, audited, and never overdraws a pool."""
    require_hands_off(session, proposal, actor_id)
    if not reason.strip():
        raise DomainError("An override needs a reason.", field="reason")
    if outcome not in ("awarded", "not_awarded"):
        raise DomainError("Override to 'awarded' or 'not_awarded'.", field="outcome")
    # the applicant reads the reason (``allocation.reasons``)
    reasons.require_clean(session, call, proposal, reason.strip())
    if call.decisions_released_at is not None:
        raise DomainError("Decisions were already released; an override is no longer possible.")
    d = session.scalar(
        select(Decision).where(Decision.call_id == call.id, Decision.proposal_id == proposal.id)
    )
    if d is None:
        raise DomainError("Run the allocation before overriding it.")
    if outcome == "awarded":
        _require_allocated(session, call, proposal)
        # no exception to the stated policy either (trialpolicy23), as an offer is none
        _require_policy(session, call, proposal)
    new_awards = awards_within_capacity(session, call, proposal, d) if outcome == "awarded" else []
    # the stored schedule's entries of the awards replaced go with them (trialfac23b: an
    # override after the scheduling step failed on their rows, a 500)
    for drop in AWARD_DROP_HOOKS:
        drop(session, call, proposal)
    session.execute(delete(Award).where(Award.proposal_id == proposal.id, Award.call_id == call.id))
    session.add_all(new_awards)
    if outcome == "not_awarded":
        d.priority = ""
    before = d.outcome
    d.outcome = outcome
    d.override_reason = reason.strip()
    d.overridden_by = actor_id
    _explain_as(d, M_("overridden by the chair: %(reason)s", reason=reason.strip()))
    session.flush()
    auditlog.record(
        session,
        "decision.overridden",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=reason,
        data={"from": before, "to": outcome},
    )
    return d


def used_capacity(session: Session, call: Call, *, besides: int | None = None) -> dict[int, float]:
    """Pool id -> what the call's awards use of it (the awards of the proposal ``besides``
    not counted: they are replaced by the award in question)."""
    stmt = select(Award).where(Award.call_id == call.id)
    if besides is not None:
        stmt = stmt.where(Award.proposal_id != besides)
    used: dict[int, float] = {}
    for a in session.scalars(stmt):
        used[a.pool_id] = used.get(a.pool_id, 0.0) + a.amount
    # what an award the user office ended gave back is free again (outcomes22)
    ends = select(AwardEnd.returned).where(AwardEnd.call_id == call.id)
    if besides is not None:
        ends = ends.where(AwardEnd.proposal_id != besides)
    for returned in session.scalars(ends):
        for x in returned:
            used[int(x["pool_id"])] = used.get(int(x["pool_id"]), 0.0) - float(x["returned"])
    # the later parts of earlier calls' multi-period awards held in this call (outcomes23)
    for pid, amount in committed_parts(session, call).items():
        used[pid] = used.get(pid, 0.0) + amount
    return used


def call_caps(session: Session, call: Call) -> dict[int, float]:
    """Pool id -> what the call's awards may take of it: its offer, and never more than
    the resource has beside what the other calls hold (``calls.services.held_by_calls``).
    Once a call's decisions are released it holds only what it awarded, so what a
    decline or an ended award frees returns to the resource, where a later call may be
    offered it (trialfac23b: the freed seeds were also still free within the first call's
    offer, and its next in line was given them beside the second call's offer: 85 seeds
    of an accession of 60). Before the release the other calls hold at most what the
    offer left, so this is the offer."""
    pools = list(call.pools)
    held = call_services.held_by_calls(session, [cp.pool_id for cp in pools], call.id)
    return {
        cp.pool_id: min(
            float(cp.amount),
            max(float(cp.pool.amount) - sum(held.get(cp.pool_id, {}).values()), 0.0),
        )
        for cp in pools
    }


#: a later part in these states is committed in its later call (``returned``: free again)
COMMITTED_PARTS = ("held", "released")


def committed_parts(session: Session, call: Call) -> dict[int, float]:
    """Pool id -> what the later parts of earlier calls' multi-period awards hold of this
    call's offer (held or released; outcomes23)."""
    rows = session.execute(
        select(AwardLaterPart.pool_id, func.sum(AwardLaterPart.amount))
        .where(
            AwardLaterPart.later_call_id == call.id,
            AwardLaterPart.status.in_(COMMITTED_PARTS),
        )
        .group_by(AwardLaterPart.pool_id)
    )
    return {int(pid): float(total or 0.0) for pid, total in rows}


def free_capacity(session: Session, call: Call) -> dict[int, float]:
    """Pool id -> what the call may still award of it (:func:`call_caps`) that no award
    uses."""
    used = used_capacity(session, call)
    return {pid: cap - used.get(pid, 0.0) for pid, cap in call_caps(session, call).items()}


def full_awards(
    call: Call,
    proposal: Proposal,
    d: Decision,
    problem: Any,
    meta: dict[str, Any],
) -> list[Award]:
    """The awards of the whole of ``proposal``'s requests as the allocation's problem
    (:func:`build_problem`) counts them (unsaved rows)."""
    mine = requests_by_proposal(problem).get(str(proposal.id), [])
    out: list[Award] = []
    for r in mine:
        _, positions = meta["index"][r.id]
        for name, amt in r.demand.items():
            out.append(
                Award(
                    call_id=call.id,
                    proposal_id=proposal.id,
                    request_id=proposal.requests[positions[name]].id,
                    pool_id=meta["pool_id"][name],
                    amount=float(amt),
                    fraction=1.0,
                    run_id=d.run_id,
                )
            )
    return out


def requests_by_proposal(problem: Any) -> dict[str, list[Any]]:
    """The allocation problem's requests by proposal id (as the problem names it)."""
    out: dict[str, list[Any]] = {}
    for r in problem.requests:
        out.setdefault(r.proposal_id, []).append(r)
    return out


class PoolAmount(NamedTuple):
    """How much of one pool (by id) an award would take."""

    pool_id: int
    amount: float


def fits(
    awards: Sequence[Award] | Sequence[PoolAmount], used: dict[int, float], cap: dict[int, float]
) -> bool:
    """Whether ``awards`` fit beside what is ``used`` of each pool's ``cap``acity."""
    want: dict[int, float] = {}
    for a in awards:
        want[a.pool_id] = want.get(a.pool_id, 0.0) + a.amount
    return not any(used.get(pid, 0.0) + amt > cap.get(pid, 0.0) + 1e-9 for pid, amt in want.items())


def awards_within_capacity(
    session: Session, call: Call, proposal: Proposal, d: Decision
) -> list[Award]:
    """The full awards of ``proposal`` (unsaved), refused where they would overdraw a
    pool beside the other proposals' awards: the one capacity check of an override and
    of an offer to the next in line after a decline."""
    problem, meta = build_problem(session, call)
    new_awards = full_awards(call, proposal, d, problem, meta)
    _require_country_rules(session, call, proposal, new_awards)
    cap = call_caps(session, call)
    used = used_capacity(session, call, besides=proposal.id)
    offer = {cp.pool_id: float(cp.amount) for cp in call.pools}
    if fits(new_awards, used, offer) and not fits(new_awards, used, cap):
        # room in the call's own offer, but the resource's stock it would take is held by
        # another call now (what the decline freed went back to the resource first)
        cp = next(
            cp
            for cp in call.pools
            if not fits([a for a in new_awards if a.pool_id == cp.pool_id], used, cap)
        )
        raise DomainError(
            "Awarding this proposal would overdraw %(resource)s: it has %(amount)s, and "
            "other calls now hold what this call no longer uses of it (this call can award "
            "at most %(left)s more).",
            resource=repr(cp.pool.name),
            amount=fac_domain.amount_text(cp.pool.unit, cp.pool.unit_labels, cp.pool.amount),
            left=fac_domain.amount_text(
                cp.pool.unit,
                cp.pool.unit_labels,
                max(cap[cp.pool_id] - used.get(cp.pool_id, 0.0), 0.0),
            ),
        )
    if not fits(new_awards, used, cap):
        raise DomainError(
            "Awarding this proposal would overdraw capacity; free capacity first by "
            "overriding another award to 'not awarded'."
        )
    _require_changeover_room(session, call, proposal, new_awards, problem, meta, used)
    return new_awards


def _require_country_rules(
    session: Session, call: Call, proposal: Proposal, new_awards: Sequence[Award]
) -> None:
    """Refuse an award by hand (an override, an offer after a decline) that the
    resource's rules by country would refuse at the allocation (:func:`_country_short`:
    the PI's country barred, or fewer days left than its lead time): the chair's reason
    does not lift an export permit or a visa (fix15b)."""
    why = _country_refusal(session, call, proposal, new_awards)
    if why is not None:
        raise DomainError(
            "Proposal %(proposal)s cannot be awarded by hand; the rules by country of its "
            "resource refuse it: %(why)s.",
            proposal=proposal.code,
            why=render(why),
        )


def _awards_asked(proposal: Proposal, awards: Sequence[Award]) -> list[dict[str, Any]]:
    """``awards`` (of ``proposal``) as the requests :func:`_country_short` reads."""
    details = {r.id: r.details for r in proposal.requests}
    return [
        {"pool_id": a.pool_id, "details": details.get(a.request_id) or {}, "amount": a.amount}
        for a in awards
        if a.amount > 0
    ]


def _country_refusal(
    session: Session, call: Call, proposal: Proposal, awards: Sequence[Award]
) -> Message | None:
    """Why the resources' rules by country refuse ``proposal``'s ``awards`` now (the
    first reason, :func:`_country_short`), or None."""
    pools = {cp.pool_id: cp for cp in call.pools}
    asked = _awards_asked(proposal, awards)
    iso3 = proposal.pi_member.country_iso3 if proposal.pi_member else None
    country = session.get(Country, iso3) if iso3 else None
    countries = countries_named(session, _destinations(pools, asked))
    short = _country_short(pools, asked, country, utcnow(), countries)
    return next(iter(short.values())) if short else None


def _safety_held(session: Session, call: Call) -> list[str]:
    """The codes of the call's awarded proposals whose safety review holds the release:
    none yet, or a hazard class the call says needs approval and not approved
    (``reviews.domain.safety_hold``). Nothing is read of a call without a safety review."""
    rs = review_settings(call.review_settings)
    if not rs.safety_review:
        return []
    awarded = set(
        session.scalars(select(Award.proposal_id).where(Award.call_id == call.id, Award.amount > 0))
    )
    if not awarded:
        return []
    reviewed = rq.safety_reviews(session, call)
    codes = session.execute(
        select(Proposal.id, Proposal.code).where(Proposal.id.in_(sorted(awarded)))
    ).all()
    out = []
    for pid, code in sorted(codes, key=lambda row: row[1]):
        sr = reviewed.get(pid)
        hold = safety_hold(
            sr.hazard_class if sr else None, sr.decision if sr else None, rs.approval_required
        )
        if hold is not None:
            out.append(code)
    return out


def _late_awards(session: Session, call: Call) -> list[str]:
    """The call's awards the rules by country of their resources refuse now, each said as
    "<proposal code>: <why>": a lead time (an import permit, a phytosanitary certificate,
    a visa) read at the allocation that no longer fits before the resource's first day
    when the decisions are released weeks later, or a country barred since
    (trialfac23b: such an award was released, and its team told of samples that could
    not be sent in time). Nothing is read of a call none of whose resources has rules."""
    if not any(cp.pool.country_rules for cp in call.pools):
        return []
    pools = {cp.pool_id: cp for cp in call.pools}
    by_proposal: dict[int, list[Award]] = {}
    for a in session.scalars(select(Award).where(Award.call_id == call.id, Award.amount > 0)):
        by_proposal.setdefault(a.proposal_id, []).append(a)
    # every proposal with its team and requests, and every country named, read at once
    # (not a few statements per awarded proposal)
    props = list(
        session.scalars(
            select(Proposal)
            .where(Proposal.id.in_(by_proposal))
            .options(selectinload(Proposal.members), selectinload(Proposal.requests))
            .order_by(Proposal.code)
        )
    )
    asked = {p.id: _awards_asked(p, by_proposal[p.id]) for p in props}
    pis = {p.id: p.pi_member.country_iso3 if p.pi_member else None for p in props}
    named = countries_named(
        session, [*pis.values(), *_destinations(pools, [r for a in asked.values() for r in a])]
    )
    now = utcnow()
    out: list[str] = []
    for p in props:
        short = _country_short(pools, asked[p.id], named.get(pis[p.id] or ""), now, named)
        if short:
            out.append(f"{p.code}: {render(next(iter(short.values())))}")
    return out


def _require_changeover_room(
    session: Session,
    call: Call,
    proposal: Proposal,
    new_awards: Sequence[Award],
    problem: Any,
    meta: dict[str, Any],
    used: dict[int, float],
) -> None:
    """Of a resource with a changeover (a travelling team's travel days), the awards of the
    call's other proposals, the new ones and a changeover between each two fit in its free
    slots, as the allocation counts them (``Pool.changeover`` and ``room``)."""
    pools = {meta["pool_id"][p.id]: p for p in problem.pools if p.changeover > 0}
    res = {cp.pool_id: cp.pool for cp in call.pools}
    want: dict[int, float] = {}
    for a in new_awards:
        if a.pool_id in pools and a.amount > 0:
            want[a.pool_id] = want.get(a.pool_id, 0.0) + a.amount
    for pool_id, amount in want.items():
        pool = pools[pool_id]
        others = session.scalar(
            select(func.count(func.distinct(Award.proposal_id))).where(
                Award.call_id == call.id,
                Award.pool_id == pool_id,
                Award.proposal_id != proposal.id,
                Award.amount > 0,
            )
        )
        need = used.get(pool_id, 0.0) + amount + pool.changeover * int(others or 0)
        if need > pool.changeover_room + 1e-9:
            raise DomainError(
                "Awarding this proposal would leave no room for the changeover of %(name)s "
                "between two proposals (%(need)s of %(room)s %(unit)s with the changeovers); "
                "free room first by overriding another award to 'not awarded'.",
                name=repr(pool.id),
                need=number_param(need),
                room=number_param(pool.changeover_room),
                unit=unit_text(res[pool_id].unit, res[pool_id].unit_labels, need),
            )


def without_decision(proposals: Sequence[Proposal], ds: Sequence[Decision]) -> list[Proposal]:
    """Those of ``proposals`` (a call's submitted ones) that have no decision among ``ds``
    (one short of reviews that the chair has not resolved gets none from the allocation):
    the release is refused while there are any. By code."""
    decided = {d.proposal_id for d in ds}
    return sorted((p for p in proposals if p.id not in decided), key=lambda p: p.code)


def undecided(session: Session, call: Call) -> list[Proposal]:
    """The call's submitted proposals that have no decision (:func:`without_decision`)."""
    return without_decision(rq.proposals_for_review(session, call), decisions(session, call))


RESOLUTIONS = ("reject", "carry")
#: the call states in which the chair resolves proposals short of reviews
RESOLVABLE = ("ranking", "allocation", "scheduling")


def counted_reviews(session: Session, call: Call) -> dict[int, int]:
    """Proposal id -> its submitted reviews whose grade counts (the reviewer is not
    conflicted with it; a conflict found after the grade keeps the review out)."""
    conflicted = rq.conflict_pairs(session, call)
    out: dict[int, int] = {}
    pairs = rq.submitted_pairs(session, call)
    for proposal_id, reviewer_id in pairs:
        if (proposal_id, reviewer_id) not in conflicted:
            out[proposal_id] = out.get(proposal_id, 0) + 1
    return out


def short_of_reviews(
    session: Session,
    call: Call,
    proposals: Sequence[Proposal] | None = None,
    counts: dict[int, int] | None = None,
) -> list[Proposal]:
    """The call's submitted proposals with fewer counted reviews than the call's
    ``min_reviews`` (1 by default: none at all), by code. The allocation decides on them
    only as the chair resolved them (:func:`resolve_unreviewed`)."""
    need = review_settings(call.review_settings).min_reviews
    if counts is None:
        counts = counted_reviews(session, call)
    if proposals is None:
        # only the short ones are loaded: a page of a large call reads its own rows
        ids = session.scalars(
            select(Proposal.id).where(
                Proposal.call_id == call.id, Proposal.status.in_(rq.REVIEWABLE)
            )
        )
        short = [i for i in ids if counts.get(i, 0) < need]
        proposals = list(session.scalars(select(Proposal).where(Proposal.id.in_(short))))
    return sorted((p for p in proposals if counts.get(p.id, 0) < need), key=lambda p: p.code)


def resolutions(session: Session, call: Call) -> dict[int, UnreviewedResolution]:
    """Proposal id -> the chair's resolution for it (proposals short of reviews)."""
    rows = session.scalars(
        select(UnreviewedResolution).where(UnreviewedResolution.call_id == call.id)
    )
    return {r.proposal_id: r for r in rows}


def _not_reviewed(call: Call, proposal_id: int, res: UnreviewedResolution) -> Decision:
    said = M_("not reviewed, so not awarded: %(reason)s", reason=res.reason)
    return Decision(
        call_id=call.id,
        proposal_id=proposal_id,
        outcome="not_awarded",
        explanation=render(said),
        explanation_msg=_parts([(None, said)]),
        priority="",
        override_reason=res.reason,
        overridden_by=res.decided_by,
    )


def _left_out(session: Session, call: Call, proposal: Proposal) -> bool:
    """Whether the allocation leaves ``proposal`` out: short of reviews, not carried."""
    if proposal.id not in {p.id for p in short_of_reviews(session, call)}:
        return False
    chosen = resolutions(session, call).get(proposal.id)
    return chosen is None or chosen.action != "carry"


def _require_allocated(session: Session, call: Call, proposal: Proposal) -> None:
    """Refuse an award (by override or offer) to a proposal the allocation left out: not
    in the allocation's problem, an award would name no amount."""
    if _left_out(session, call, proposal):
        raise DomainError(
            "Proposal %(proposal)s is short of reviews and not in the allocation; carry it "
            "to the allocation and allocate again instead.",
            proposal=proposal.code,
        )


def resolve_unreviewed(
    session: Session,
    call: Call,
    proposal: Proposal,
    *,
    action: str,
    reason: str,
    actor_id: int | None = None,
) -> UnreviewedResolution:
    """The chair's answer for a submitted proposal short of reviews, before the release:
    ``reject`` (not reviewed, so not awarded; ``reason`` is the explanation the applicant
    reads) or ``carry`` (to the allocation, below every reviewed proposal, flagged). Once
    the allocation has run, a rejection is its decision at once and a carried proposal
    waits for the next allocation run. Reason required; audited; may be changed until the
    release. (The third answer, more reviewers, is an assignment.)"""
    reason = reason.strip()
    if action not in RESOLUTIONS:
        raise DomainError("Choose 'reject' or 'carry'.", field="action")
    if not reason:
        raise DomainError("Give the reason (the applicant reads it).", field="reason")
    if len(reason) > 2000:
        raise DomainError("The reason is limited to 2,000 characters.", field="reason")
    if proposal.call_id != call.id:
        raise DomainError("Not found", code="not_found")
    require_hands_off(session, proposal, actor_id)
    if call.decisions_released_at is not None:
        raise DomainError("Decisions were already released; they can no longer be changed.")
    if call.status not in RESOLVABLE:
        raise DomainError(
            "Proposals short of reviews are resolved once the review is over (ranking, "
            "allocation or scheduling); the call is %(status)s.",
            status=call.status,
        )
    if proposal.id not in {p.id for p in short_of_reviews(session, call)}:
        raise DomainError(
            "Proposal %(proposal)s has enough reviews: the allocation decides on it by its rank.",
            proposal=proposal.code,
        )
    res = resolutions(session, call).get(proposal.id)
    before = res.action if res is not None else None
    # in scheduling, a carried proposal's award may be in the schedule: changing its answer
    # is refused rather than leaving entries without their award
    if (
        call.status == "scheduling"
        and action != before
        and session.scalar(
            select(exists().where(Award.call_id == call.id, Award.proposal_id == proposal.id))
        )
    ):
        raise DomainError(
            "Proposal %(proposal)s has an award the schedule may use: go back to the "
            "allocation before changing its answer.",
            proposal=proposal.code,
        )
    if res is None:
        res = UnreviewedResolution(call_id=call.id, proposal_id=proposal.id)
        session.add(res)
    res.action, res.reason, res.decided_by = action, reason, actor_id
    # a new reason for the same answer changes no decision (a carried one keeps its award);
    # a rejection's explanation is its reason, so a rejection is always written again
    if rq.latest_run(session, call, "allocation") is not None and (
        action != before or action == "reject"
    ):
        session.execute(
            delete(Award).where(Award.call_id == call.id, Award.proposal_id == proposal.id)
        )
        session.execute(
            delete(Decision).where(Decision.call_id == call.id, Decision.proposal_id == proposal.id)
        )
        if action == "reject":
            session.add(_not_reviewed(call, proposal.id, res))
    session.flush()
    auditlog.record(
        session,
        "proposal.unreviewed_resolved",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=reason,
        data={"action": action, "before": before},
    )
    return res


def releasable(call: Call, any_decision: bool, any_proposal: bool) -> bool:
    """Whether the call has something to release: decisions, or (a call past its ranking
    with nothing to review: no proposal at the close, or every one withdrawn) none to
    make, when releasing none lets it be published and archived."""
    return any_decision or (call.status in ("allocation", "scheduling") and not any_proposal)


def awarded_by_call(session: Session, pool_ids: Sequence[int]) -> dict[tuple[int, int], float]:
    """What each call awarded of the resources ``pool_ids`` (``{(resource id, call id):
    amount}``): a call whose decisions are released holds that much of it, not its whole
    offer (``calls.services.offered_elsewhere``). What an award the user office ended
    returned is not counted (outcomes22b): it is free within its call
    (:func:`used_capacity`) and for the other calls' offers, whichever takes it first
    (:func:`call_caps`: the call never awards what another call holds since)."""
    pools = sorted(set(pool_ids))
    rows = session.execute(
        select(Award.pool_id, Award.call_id, func.sum(Award.amount))
        .where(Award.pool_id.in_(pools))
        .group_by(Award.pool_id, Award.call_id)
    )
    out = {(pid, cid): float(total or 0.0) for pid, cid, total in rows}
    with_awards = select(Award.call_id).where(Award.pool_id.in_(pools))
    ended = select(AwardEnd.call_id, AwardEnd.returned).where(AwardEnd.call_id.in_(with_awards))
    for cid, returned in session.execute(ended):
        for x in returned:
            key = (int(x["pool_id"]), cid)
            if key in out:
                out[key] -= float(x["returned"])
    return out


def later_parts_by_call(session: Session, pool_ids: Sequence[int]) -> dict[tuple[int, int], float]:
    """What each later call holds of the resources ``pool_ids`` for the later parts of
    earlier calls' multi-period awards (``{(resource id, later call id): amount}``; held or
    released, not returned; outcomes23): committed in that call, whatever its awards."""
    rows = session.execute(
        select(
            AwardLaterPart.pool_id, AwardLaterPart.later_call_id, func.sum(AwardLaterPart.amount)
        )
        .where(
            AwardLaterPart.pool_id.in_(sorted(set(pool_ids))),
            AwardLaterPart.status.in_(COMMITTED_PARTS),
        )
        .group_by(AwardLaterPart.pool_id, AwardLaterPart.later_call_id)
    )
    return {(pid, cid): float(total or 0.0) for pid, cid, total in rows}


for _counter in (awarded_by_call, later_parts_by_call):
    if _counter not in call_services.AWARD_COUNTERS:
        call_services.AWARD_COUNTERS.append(_counter)


def queue_decision_mails(session: Session, call: Call, *, actor_id: int | None = None) -> Job:
    """Queue the decision e-mails as one job (``allocation.notify``, run by the worker
    after the release commits): one e-mail per accepted team member, in their language.
    What a release does, on the decisions page, the command line and the API alike."""
    return enqueue(
        session, "allocation.notify", {"call_id": call.id}, call_id=call.id, created_by=actor_id
    )


def _chair_change_read(session: Session, ds: Sequence[Decision]) -> int | None:
    """The TAC chair's latest change that the allocation of ``ds`` read (None: none, or
    decisions made by no recorded run)."""
    runs = [d.run_id for d in ds if d.run_id is not None]
    run = session.get(SolverRun, max(runs)) if runs else None
    said = (run.summary or {}).get("tac_change") if run is not None else None
    return int(said) if said is not None else None


def release_decisions(
    session: Session,
    call: Call,
    *,
    actor_id: int | None = None,
    then: Callable[[], object] | None = None,
) -> int:
    """Make decisions visible to applicants; proposals become accepted or rejected.
    ``then`` (the decision e-mails) runs only when this call releases them: two
    releases at once (a double click, two chairs) are serialised on the call's row and
    the second finds them released, so nobody is mailed twice."""
    session.flush()  # the caller's changes to the call, kept through the re-read
    lock_call_for_close(session, call)  # the call's row, exclusively, until the commit
    session.refresh(call, ["decisions_released_at"])
    ds = decisions(session, call)
    proposals = rq.proposals_for_review(session, call)
    if not releasable(call, bool(ds), bool(proposals)):
        raise DomainError("There are no decisions to release.")
    if call.decisions_released_at is not None:
        return len(ds)
    if ds and tac_order.last_change(session, call) != _chair_change_read(session, ds):
        # the chair's list changed after the allocation: its decisions are not the list's
        raise DomainError(
            "The TAC chair changed the ranked list after the last allocation; run the "
            "allocation again before releasing the decisions.",
            code="stale_allocation",
        )
    missing = without_decision(proposals, ds)
    if missing:
        # each submitted proposal gets its answer: none is left under review by the release
        raise DomainError(
            "%(n)s submitted proposal(s) have no decision: %(codes)s. Before the release, "
            "assign them more reviewers (then calibrate and allocate again), reject them as "
            "not reviewed with an explanation, or carry them to the allocation (then allocate "
            "again).",
            code="unresolved",
            n=len(missing),
            codes=", ".join(p.code for p in missing),
        )
    late = _late_awards(session, call)
    if late:
        # an award its team cannot be sent in time is not announced: the chair decides
        raise DomainError(
            "%(n)s award(s) can no longer go to their team under the rules by country of "
            "their resource: %(awards)s. Override them to 'not awarded' (or change the "
            "resource's rules or first day), then release the decisions.",
            code="late_award",
            n=len(late),
            awards="; ".join(late),
        )
    held = _safety_held(session, call)
    if held:
        # an award is final only once the safety officer has reviewed its samples and
        # approved those of a class that needs it (trialfac24)
        raise DomainError(
            "%(n)s award(s) wait for the safety review of their samples: %(codes)s. The "
            "safety officer reviews them (and approves a hazard class that needs it), or "
            "override them to 'not awarded'; then release the decisions.",
            code="safety_pending",
            n=len(held),
            codes=", ".join(held),
        )
    props = {p.id: p for p in proposals}
    for d in ds:
        p = props.get(d.proposal_id)
        if p is not None and p.status == "under_review":
            p.status = "accepted" if d.outcome.startswith("awarded") else "rejected"
    call.decisions_released_at = utcnow()
    session.flush()
    auditlog.record(
        session,
        "decisions.released",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        data={"decisions": len(ds)},
    )
    if then is not None:
        then()
    return len(ds)


#: What follows an offer to the next in line (``proposal``'s new awards stored): the
#: scheduling feature comes after allocation and registers here at import the booking of
#: the award on the call's stored schedule when it fits without moving anyone
#: (``scheduling.services.book_offered``).
#: Each says whether it booked the award (None: the call has no stored schedule to book on).
OFFER_HOOKS: list[Callable[[Session, Call, Proposal, int | None], bool | None]] = []


class Offer(NamedTuple):
    """An offer to the next in line: the decision, and whether the award was booked on the
    call's stored schedule (None: the call has no stored schedule; False: it does not fit
    there without moving another award, and waits for the schedule to be run again)."""

    decision: Decision
    booked: bool | None


#: the decisions a chair may turn into an offer once an award of the call was declined
OFFERABLE = ("not_awarded", "awarded_partially")


def declines(session: Session, call: Call) -> list[AwardDecline]:
    """The call's declined awards, the earliest first."""
    return list(
        session.scalars(
            select(AwardDecline).where(AwardDecline.call_id == call.id).order_by(AwardDecline.id)
        )
    )


def line_order(session: Session, call: Call) -> list[Any]:
    """The call's ranking rows in the order the freed capacity is offered: the ranking's,
    or, where the TAC chair changed the list (``allocation.tac_order``), the accept band
    first (one the allocation could not fit), then the reserve band, then the proposals in
    no band, each in the chair's order; never one the chair put in the reject band."""
    ranking = rq.ranking(session, call)
    rows = tac_order.adjustments(session, call)
    if not rows:
        return ranking
    order, band = tac_order.chair_order([r.proposal_id for r in ranking], rows)
    by_id = {r.proposal_id: r for r in ranking}
    rank = {"accept": 0, "reserve": 1, "": 2}
    kept = [pid for pid in order if band.get(pid, "") in rank]
    return [by_id[pid] for pid in sorted(kept, key=lambda pid: rank[band.get(pid, "")])]


#: why a proposal that fits is held out of the next in line by its safety review
#: (:func:`_safety_blocks`; trialfac24d), as the chair's page and the API say it
SAFETY_HELD = {
    "safety_refused": M_("held: the safety review refused its samples"),
    "safety_unreviewed": M_("held: its samples have no safety review yet"),
    "safety_awaiting": M_(
        "held: its samples' hazard class needs the safety officer's approval, not given yet"
    ),
}


def next_in_line(
    session: Session, call: Call, hidden: frozenset[int] = frozenset()
) -> list[tuple[int, Proposal, list[PoolAmount]]]:
    """:func:`line_and_held`'s next in line."""
    return line_and_held(session, call, hidden)[0]


def line_and_held(
    session: Session, call: Call, hidden: frozenset[int] = frozenset()
) -> tuple[list[tuple[int, Proposal, list[PoolAmount]]], list[tuple[int, Proposal, Message]]]:
    """The next in line (below), and the proposals that would be but for their safety
    review, each with why (:data:`SAFETY_HELD`; trialfac24d): shown as held, never offered.

    The proposals the chair may offer the capacity freed by a declined award: not
    awarded or partially awarded, not declined, in :func:`line_order`, whose whole award
    (as an override to 'awarded' would give it) fits in what the call's awards leave free.
    ``hidden``: the proposals withheld from the reader (their team, a recorded conflict),
    never listed. Each as (rank, proposal, what its whole award takes of each pool)."""
    declined = {x.proposal_id for x in declines(session, call)}
    if not declined:
        return [], []
    ds = {d.proposal_id: d for d in decisions(session, call)}
    ranked = [
        r
        for r in line_order(session, call)
        if r.proposal_id not in hidden
        and r.proposal_id not in declined
        and r.proposal_id in ds
        and ds[r.proposal_id].outcome in OFFERABLE
    ]
    if not ranked:
        return [], []
    used = used_capacity(session, call)
    cap = call_caps(session, call)
    held: dict[int, dict[int, float]] = {}
    for a in session.scalars(
        select(Award).where(
            Award.call_id == call.id, Award.proposal_id.in_([r.proposal_id for r in ranked])
        )
    ):
        held.setdefault(a.proposal_id, {})
        held[a.proposal_id][a.pool_id] = held[a.proposal_id].get(a.pool_id, 0.0) + a.amount
    wants = whole_awards(session, call)
    fitting: list[tuple[int, int, list[PoolAmount]]] = []
    for r in ranked:
        shares = list(wants.get(r.proposal_id, ()))
        own = held.get(r.proposal_id, {})
        besides = {pid: amt - own.get(pid, 0.0) for pid, amt in used.items()}
        if shares and fits(shares, besides, cap):
            fitting.append((r.rank, r.proposal_id, shares))
    blocked = offer_blocker(session, call, [pid for _rank, pid, _s in fitting])
    kept_out = [
        (rank, pid, SAFETY_HELD[blocked[pid]])
        for rank, pid, _s in fitting
        if blocked.get(pid) in SAFETY_HELD
    ]
    fitting = [f for f in fitting if f[1] not in blocked]
    props = {
        p.id: p
        for p in session.scalars(
            select(Proposal).where(
                Proposal.id.in_([pid for _rank, pid, _s in fitting] + [k[1] for k in kept_out])
            )
        )
    }
    return (
        [(rank, props[pid], shares) for rank, pid, shares in fitting],
        [(rank, props[pid], why) for rank, pid, why in kept_out],
    )


#: the allocation problems of the calls seen lately (:func:`_kept_problem`), in this
#: process (each web worker keeps its own): {(database, call id, its latest allocation
#: run's id, inputs hash and time, the call's pools): (problem, meta, whole awards)}
_WHOLE_AWARDS: OrderedDict[
    Hashable, tuple[Any, dict[str, Any], dict[int, tuple[PoolAmount, ...]]]
] = OrderedDict()
_WHOLE_AWARDS_LOCK = threading.Lock()
_WHOLE_AWARDS_SIZE = 8


def whole_awards(session: Session, call: Call) -> dict[int, tuple[PoolAmount, ...]]:
    """What each proposal's whole award would take of each pool (its requests' demands of
    the allocation problem, summed per pool; plain numbers, no Award rows), by proposal id.

    Building the problem reads every proposal's revision and works out each FAST
    request's hours per LST pool: 1.6-1.9 s of CPU at 2,000 proposals, which the
    declines page paid on every view. The problem's requests are what the call's latest
    allocation run solved (its inputs hash covers each request's demand and the pools),
    so the result is kept under that run (its id and inputs hash, and the database): a
    new run is a new key. What changes with the decisions and the declines (who is
    offerable, the capacity used, each proposal's awards) is never kept: the callers
    read it on every view. Without an allocation run nothing is kept."""
    return _kept_problem(session, call)[2]


def _kept_problem(
    session: Session, call: Call
) -> tuple[Any, dict[str, Any], dict[int, tuple[PoolAmount, ...]]]:
    """:func:`build_problem` of ``call`` and :func:`whole_awards` from it, kept under the
    call's latest allocation run (see :func:`whole_awards`)."""
    run = rq.latest_run(session, call, "allocation")
    key = None
    if run is not None:
        url = session.connection().engine.url.render_as_string(hide_password=True)
        # the pools' ids too (the problem names pools by name) and the run's time (a
        # database emptied and filled again may give a new run an old id)
        pools = tuple(sorted((cp.pool_id, cp.pool.name) for cp in call.pools))
        key = (url, call.id, run.id, run.inputs_hash, run.created_at, pools)
        with _WHOLE_AWARDS_LOCK:
            kept = _WHOLE_AWARDS.get(key)
            if kept is not None:
                _WHOLE_AWARDS.move_to_end(key)
                return kept
    problem, meta = build_problem(session, call)
    # each proposal's requests found once (not by a scan of the call's for each)
    out: dict[int, tuple[PoolAmount, ...]] = {}
    for proposal_id, requests in requests_by_proposal(problem).items():
        want: dict[int, float] = {}
        for q in requests:
            for name, amt in q.demand.items():
                pid = meta["pool_id"][name]
                want[pid] = want.get(pid, 0.0) + float(amt)
        out[int(proposal_id)] = tuple(PoolAmount(pid, amt) for pid, amt in want.items())
    built = (problem, meta, out)
    if key is not None:
        with _WHOLE_AWARDS_LOCK:
            _WHOLE_AWARDS[key] = built
            while len(_WHOLE_AWARDS) > _WHOLE_AWARDS_SIZE:
                _WHOLE_AWARDS.popitem(last=False)
    return built


def _held_by_proposal(
    session: Session, call: Call, meta: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """The awards of ``call`` now, as the allocation problem names them: {proposal id:
    {pool: amount}}."""
    name_of = {pid: name for name, pid in meta["pool_id"].items()}
    held: dict[str, dict[str, float]] = {}
    for proposal_id, pool_id, amount in session.execute(
        select(Award.proposal_id, Award.pool_id, Award.amount).where(Award.call_id == call.id)
    ):
        name = name_of.get(pool_id)
        if name is not None:
            mine = held.setdefault(str(proposal_id), {})
            mine[name] = mine.get(name, 0.0) + float(amount)
    return held


def offer_blocker(session: Session, call: Call, proposal_ids: Sequence[int]) -> dict[int, str]:
    """{proposal id: why the call's stated policy keeps its whole award out beside the
    call's awards now} of ``proposal_ids`` (``optim.allocation.offer_blocker``: not
    eligible, below the quality threshold, a cap of its group reached; since trialpolicy23
    also a cap of its PI, a resource's limit, a share rule's reserve); the proposals the
    policy allows are left out (trialpolicy22)."""
    from opencall.optim import allocation as oal

    if not proposal_ids:
        return {}
    problem, meta, _whole = _kept_problem(session, call)
    held = _held_by_proposal(session, call, meta)
    found = oal.offer_blockers(problem, held, [str(pid) for pid in proposal_ids])
    return {
        **{int(pid): why for pid, why in found.items()},
        **_safety_blocks(session, call, proposal_ids),
    }


def _safety_blocks(session: Session, call: Call, proposal_ids: Sequence[int]) -> dict[int, str]:
    """{proposal id: ``safety_<hold>``} of ``proposal_ids`` whose safety review keeps an
    award by hand out (``reviews.domain.safety_hold``; trialfac24d): before the release
    (an override) a refusal only, as the release waits for the rest; after it (an offer of
    freed capacity, which no release gate follows) also no review yet, or a class that
    needs approval and has none. Nothing is read of a call without a safety review."""
    rs = review_settings(call.review_settings)
    if not rs.safety_review or not proposal_ids:
        return {}
    reviewed = rq.safety_reviews(session, call)
    out = {}
    for pid in proposal_ids:
        sr = reviewed.get(pid)
        hold = safety_hold(
            sr.hazard_class if sr else None, sr.decision if sr else None, rs.approval_required
        )
        if hold == "refused" or (hold is not None and call.decisions_released_at is not None):
            out[pid] = f"safety_{hold}"
    return out


def _require_policy(session: Session, call: Call, proposal: Proposal) -> None:
    """Refuse an offer of freed capacity that the call's stated policy would refuse at
    the allocation (:func:`offer_blocker`); the sentence names no group."""
    from opencall.optim import allocation as oal

    why = offer_blocker(session, call, [proposal.id]).get(proposal.id)
    if why == "safety_refused":
        raise DomainError(
            "Proposal %(proposal)s cannot be awarded: the safety review refused its samples.",
            proposal=proposal.code,
            code="safety_refused",
        )
    if why == "safety_unreviewed":
        raise DomainError(
            "Proposal %(proposal)s is not in line for an offer: its samples have no safety "
            "review yet. The safety officer reviews them first.",
            proposal=proposal.code,
            code="safety_pending",
        )
    if why == "safety_awaiting":
        raise DomainError(
            "Proposal %(proposal)s is not in line for an offer: its samples' hazard class "
            "needs the safety officer's approval, not given yet.",
            proposal=proposal.code,
            code="safety_pending",
        )
    if why == oal.PI_CAP_REACHED:
        raise DomainError(
            "Proposal %(proposal)s is not in line for an offer under the call's stated "
            "policy: its PI's cap of awards or amount is reached.",
            proposal=proposal.code,
        )
    if why == oal.NOT_AWARDED_RESOURCE_LIMIT:
        raise DomainError(
            "Proposal %(proposal)s is not in line for an offer under the call's stated "
            "policy: its whole award goes over a resource's limit per proposal or in total.",
            proposal=proposal.code,
        )
    if why == oal.GROUP_SHARE_RESERVED:
        raise DomainError(
            "Proposal %(proposal)s is not in line for an offer under the call's stated "
            "policy: the freed capacity is reserved by a share rule for proposals of "
            "another group that are waiting.",
            proposal=proposal.code,
        )
    if why == oal.GROUP_CAP_REACHED:
        raise DomainError(
            "Proposal %(proposal)s is not in line for an offer under the call's stated "
            "policy: its group's cap of awards or amount is reached.",
            proposal=proposal.code,
        )
    if why is not None:
        raise DomainError(
            "Proposal %(proposal)s is not in line for an offer under the call's stated "
            "policy: it is not eligible or graded below the quality threshold.",
            proposal=proposal.code,
        )


def offer_award(
    session: Session,
    call: Call,
    proposal: Proposal,
    *,
    reason: str,
    actor_id: int | None = None,
) -> Decision:
    """:func:`offer` without the booking's outcome."""
    return offer(session, call, proposal, reason=reason, actor_id=actor_id).decision


def offer(
    session: Session,
    call: Call,
    proposal: Proposal,
    *,
    reason: str,
    actor_id: int | None = None,
    explain: Message | None = None,
) -> Offer:
    """The chair offers the capacity a declined award freed to ``proposal`` (not awarded,
    or partially): its whole award, after the capacity check of an override (never
    overdrawing a pool), the decision awarded with the chair's reason, audited. The new
    awardee's e-mail is the caller's (``allocation.notify.queue_decision_mails``). Then
    the award is booked on the call's stored schedule where it fits without moving anyone
    (``OFFER_HOOKS``); the answer says whether it was. ``explain``: the sentence the
    applicant reads (by default, the chair's override with ``reason``)."""
    reason = reason.strip()
    if proposal.call_id != call.id:
        raise DomainError("Not found", code="not_found")
    require_hands_off(session, proposal, actor_id)
    if not reason:
        raise DomainError("An override needs a reason.", field="reason")
    if len(reason) > 2000:
        raise DomainError("The reason is limited to 2,000 characters.", field="reason")
    if call.decisions_released_at is None or call.status == "archived":
        raise DomainError(
            "An offer to the next in line follows a declined award of a released call."
        )
    # the new awardee reads the reason: it names no reviewer and no other proposal (the
    # declined one among them), as the TAC chair's reasons (``allocation.reasons``)
    reasons.require_clean(session, call, proposal, reason)
    if not declines(session, call):
        raise DomainError(
            "An offer to the next in line follows a declined award of a released call."
        )
    d = session.scalar(
        select(Decision).where(Decision.call_id == call.id, Decision.proposal_id == proposal.id)
    )
    declined = session.scalar(
        select(AwardDecline.id).where(AwardDecline.proposal_id == proposal.id)
    )
    if d is None or d.outcome not in OFFERABLE or declined is not None:
        raise DomainError(
            "Proposal %(proposal)s is not in line for an offer: it is awarded, or its award "
            "was declined.",
            proposal=proposal.code,
        )
    _require_allocated(session, call, proposal)
    _require_policy(session, call, proposal)
    new_awards = awards_within_capacity(session, call, proposal, d)
    session.execute(delete(Award).where(Award.proposal_id == proposal.id, Award.call_id == call.id))
    session.add_all(new_awards)
    before = d.outcome
    d.outcome = "awarded"
    d.override_reason = reason
    d.overridden_by = actor_id
    _explain_as(d, explain or M_("overridden by the chair: %(reason)s", reason=reason))
    if proposal.status == "rejected":
        proposal.status = "accepted"
    session.flush()
    auditlog.record(
        session,
        "decision.offered",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=reason,
        data={
            "from": before,
            "to": "awarded",
            "awards": [{"pool_id": a.pool_id, "amount": a.amount} for a in new_awards],
        },
    )
    said = [hook(session, call, proposal, actor_id) for hook in OFFER_HOOKS]
    booked = None if all(b is None for b in said) else any(said)
    return Offer(d, booked)
