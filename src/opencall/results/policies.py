"""Who may see and record what happened after an award.

The applicant's team (accepted members) and the provider's user office see and
record an award's records and results, once the decisions are released; the
public sees aggregates only (``may_see_aggregates``). A node's staff (``NodeStaff``:
some resources of the provider) see and record the awards, bookings and records of
their resources alone (``node_pools``); so do, in a joint call, the office and the node
staff of an accepted partner provider, for the partner's resources the call offers. A "no" is a 404.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award, AwardDecline
from opencall.calls import policies as call_policies
from opencall.calls.models import Call
from opencall.calls.queries import accepted_partner_ids
from opencall.facilities.policies import staffed_pools
from opencall.facilities.queries import staffed_pool_ids
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.proposals.policies import is_pi, membership


def decisions_out(call: Call) -> bool:
    """The call's decisions are released (records and results may be kept)."""
    return call.decisions_released_at is not None or call.status in ("published", "archived")


def is_awarded(session: Session, proposal: Proposal) -> bool:
    """The proposal holds an award and the decisions are out."""
    return decisions_out(proposal.call) and (
        session.scalar(select(Award.id).where(Award.proposal_id == proposal.id).limit(1))
        is not None
    )


def may_see_records(session: Session, user: User | None, proposal: Proposal) -> bool:
    """The award's team and the provider's user office."""
    if user is None or not is_awarded(session, proposal):
        return False
    return membership(proposal, user) is not None or call_policies.may_administer(
        session, user, proposal.call
    )


def may_record(session: Session, user: User | None, proposal: Proposal) -> bool:
    """Add or correct records and results: the same people who may see them."""
    return may_see_records(session, user, proposal)


def may_see_call_records(session: Session, user: User | None, call: Call) -> bool:
    """Every award of a call, overdue loans included: the provider's user office."""
    return call_policies.may_administer(session, user, call)


def may_see_aggregates(call: Call) -> bool:
    """Counts by country group (small cells suppressed): everyone, once results are public."""
    return call_policies.results_are_public(call)


def may_decline(session: Session, user: User | None, proposal: Proposal) -> bool:
    """Decline the award (the whole proposal), or read that it was declined: its PI
    alone (the team has no co-PI role), while the call is not archived."""
    if not is_pi(user, proposal) or proposal.call.status == "archived":
        return False
    return is_awarded(session, proposal) or (
        session.scalar(select(AwardDecline.id).where(AwardDecline.proposal_id == proposal.id))
        is not None
    )


def node_pools(session: Session, user: User | None, call: Call) -> frozenset[int] | None:
    """The call's resources whose awards, bookings and post-award records ``user`` sees on
    the node routes: ``None`` for every resource (the user office, at any time), else,
    once the decisions are out, the resources they staff (empty: none, a 404)."""
    if user is None:
        return frozenset()
    if call_policies.may_administer(session, user, call):
        return None
    if not decisions_out(call):
        return frozenset()
    return staffed_pools(session, user, call.provider) | partner_pools(session, user, call)


def partner_pools(session: Session, user: User, call: Call) -> frozenset[int]:
    """Of a joint call, the resources it offers of the accepted partners whose office
    ``user`` is (every one of that partner's), or which ``user`` staffs as node staff."""
    partners = accepted_partner_ids(session, call)
    if not partners:
        return frozenset()
    offices = set(call_policies.partner_offices(session, user, call)) & partners
    staffed: set[int] = set()
    for pid in partners - offices:
        staffed |= staffed_pool_ids(session, user.id, pid)
    return frozenset(
        cp.pool_id
        for cp in call.pools
        if cp.pool.facility.provider_id in offices or cp.pool_id in staffed
    )


def may_see_node(session: Session, user: User | None, call: Call) -> bool:
    """The node routes of a call: its user office, or the staff of one of its resources."""
    pools = node_pools(session, user, call)
    return pools is None or bool(pools)


def at_node(pools: frozenset[int] | None, pool_id: int | None) -> bool:
    """An award, booking or record on this resource is one of the node's."""
    return pools is None or (pool_id is not None and pool_id in pools)
