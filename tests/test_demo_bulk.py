"""The demo world's bulk path (``world.build(bulk=True)``, taken for large scales)
writes the same world as the services path: the same accounts, grants, proposals,
team members, requests, revisions, anonymity scans, queued jobs and audit events,
up to ids and timestamps; and the audit chain verifies."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall import auditlog, jobs
from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
from opencall.db import make_sessionmaker
from opencall.demo import world
from opencall.facilities.models import CapacityPool, Provider
from opencall.people.models import Institution, RoleGrant, User
from opencall.proposals.domain import content_hash
from opencall.proposals.models import (
    AnonymityScan,
    Proposal,
    ProposalCounter,
    ProposalRevision,
    Request,
    RevisionFact,
    TeamMember,
)

ANCHOR = dt.date(2026, 11, 29)


def describe(s: Session) -> dict[str, Any]:
    """Everything the build wrote, without ids and timestamps."""
    email = dict(s.execute(select(User.id, User.email)).tuples().all())
    inst = dict(s.execute(select(Institution.id, Institution.name)).tuples().all())
    code = dict(s.execute(select(Proposal.id, Proposal.code)).tuples().all())
    call = dict(s.execute(select(Call.id, Call.code)).tuples().all())
    pool = dict(s.execute(select(CapacityPool.id, CapacityPool.name)).tuples().all())
    prov = dict(s.execute(select(Provider.id, Provider.slug)).tuples().all())
    member = dict(s.execute(select(TeamMember.id, TeamMember.email)).tuples().all())
    revs = {r.id: r for r in s.scalars(select(ProposalRevision))}
    scans = {sc.id: sc for sc in s.scalars(select(AnonymityScan))}
    out: dict[str, Any] = {}
    out["institutions"] = sorted(
        (i.name, i.name_key, i.country_iso3) for i in s.scalars(select(Institution))
    )
    out["users"] = sorted(
        (
            u.email,
            u.name,
            u.language,
            inst.get(u.institution_id or 0),
            u.country_iso3,
            u.expertise,
            u.email_verified_at is not None,
            u.is_site_admin,
            u.password_hash == s.scalar(select(User.password_hash).limit(1)),
        )
        for u in s.scalars(select(User))
    )
    out["grants"] = sorted(
        (email[g.user_id], g.role, prov.get(g.provider_id or 0), call.get(g.call_id or 0))
        for g in s.scalars(select(RoleGrant))
    )
    out["proposals"] = sorted(
        (
            p.code,
            call[p.call_id],
            email[p.pi_user_id],
            p.title,
            p.abstract,
            p.science_case,
            p.keywords,
            p.area,
            p.status,
            p.version,
            p.submitted_at,
            revs[p.current_revision_id].number if p.current_revision_id else None,
        )
        for p in s.scalars(select(Proposal))
    )
    out["members"] = sorted(
        (
            code[m.proposal_id],
            m.role,
            m.email,
            email.get(m.user_id or 0),
            m.name,
            inst.get(m.institution_id or 0),
            m.institution_name,
            m.country_iso3,
            m.status,
            m.responded_at is not None,
        )
        for m in s.scalars(select(TeamMember))
    )
    out["requests"] = sorted(
        (
            code[r.proposal_id],
            r.position,
            r.kind,
            pool.get(r.pool_id or 0),
            r.amount,
            repr(r.details),
        )
        for r in s.scalars(select(Request))
    )

    def content(r: ProposalRevision) -> str:
        # the snapshot names institutions and pools by id (ids differ between the two builds on
        # PostgreSQL, whose sequences a rollback does not reset): compare by name
        assert r.content_hash == content_hash(r.content)
        team = [{**m, "institution_id": inst[m["institution_id"]]} for m in r.content["team"]]
        reqs = [{**q, "pool_id": pool.get(q["pool_id"] or 0)} for q in r.content["requests"]]
        return repr(sorted({**r.content, "team": team, "requests": reqs}.items()))

    out["revisions"] = sorted(
        (code[r.proposal_id], r.number, content(r), email.get(r.created_by or 0))
        for r in revs.values()
    )
    out["revision_facts"] = sorted(
        (
            code[revs[f.revision_id].proposal_id],
            revs[f.revision_id].number,
            f.kind,
            inst[int(f.value)] if f.kind == "inst" else f.value,  # an institution by name
        )
        for f in s.scalars(select(RevisionFact))
    )
    assert out["revision_facts"], "no revision facts"
    out["scans"] = sorted(
        (code[sc.proposal_id], sc.subject, sc.key, sc.status) for sc in scans.values()
    )
    out["jobs"] = sorted(
        (
            j.kind,
            j.status,
            j.max_attempts,
            email.get(j.created_by or 0),
            code[scans[j.payload["scan_id"]].proposal_id] if "scan_id" in j.payload else None,
        )
        for j in s.scalars(select(jobs.Job))
    )
    out["counters"] = sorted((call[c.call_id], c.last) for c in s.scalars(select(ProposalCounter)))

    def entity(ev: AuditEvent) -> str | None:
        if ev.entity == "user":
            return email[int(ev.entity_id)]
        if ev.entity == "proposal":
            return code[int(ev.entity_id)]
        if ev.entity == "call":
            return call[int(ev.entity_id)]
        return None  # providers, facilities, pools: written by the services in both builds

    def data(ev: AuditEvent) -> str:
        d = dict(ev.data)
        d.pop("hash", None)  # the revision's (checked above)
        if "member_id" in d:
            d["member_id"] = member[d["member_id"]]
        for k, names in (("call_id", call), ("provider_id", prov), ("pool_id", pool)):
            if d.get(k):
                d[k] = names[d[k]]
        return repr(sorted(d.items()))

    out["audit"] = Counter(
        (
            ev.action,
            ev.entity,
            entity(ev),
            email.get(ev.actor_id or 0),
            call.get(ev.call_id or 0),
            ev.reason,
            data(ev),
        )
        for ev in s.scalars(select(AuditEvent))
    )
    return out


def build(factory: sessionmaker[Session], bulk: bool) -> tuple[dict[str, Any], Any]:
    with factory() as s:
        world.build(s, seed=3, anchor=ANCHOR, scale=0.15, bulk=bulk)
        s.flush()
        out = describe(s)
        report = auditlog.verify(s)
        s.rollback()
    return out, report


def test_the_bulk_path_writes_the_world_the_services_write(factory) -> None:
    keyed = make_sessionmaker(factory.kw["bind"], audit_key="k" * 32)
    services, _ = build(keyed, bulk=False)
    bulk, report = build(keyed, bulk=True)
    assert services["proposals"] and services["scans"] and services["jobs"]
    for part in services:
        assert bulk[part] == services[part], part
    assert report.ok, report.problems
    assert report.events == sum(services["audit"].values()) and not report.unkeyed


def test_large_scales_take_the_bulk_path(monkeypatch, db: Session) -> None:
    from opencall.demo import bulk

    taken: list[float] = []
    monkeypatch.setattr(bulk, "populate", lambda *a, **kw: taken.append(kw["scale"]))
    world.build(db, seed=1, anchor=ANCHOR, scale=bulk.BULK_ABOVE * 2)
    assert taken == [bulk.BULK_ABOVE * 2]


def test_ids_taken_ahead_of_their_inserts_are_never_handed_out_twice(db: Session) -> None:
    """More ids than one chunk taken before the rows are written (a scale-3 build on
    SQLite queues more than 5,000 audit events between two writes): each id is new."""
    from opencall.demo.bulk import _Ids, _table

    ids = _Ids(db)
    table = _table(AuditEvent)
    taken = [ids.take(table) for _ in range(12_001)]
    assert len(set(taken)) == len(taken)
    top = db.scalar(select(func.max(AuditEvent.id))) or 0
    assert min(taken) > top
