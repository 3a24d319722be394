from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, defaultload, lazyload

from opencall.calls.domain import next_cutoff, parse_cutoffs
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.people.models import User
from opencall.proposals.anonymity import Finding, TeamIdentity, scan_text
from opencall.proposals.models import (
    AnonymityScan,
    Attachment,
    Proposal,
    SubmissionExtension,
    TeamMember,
    TriageDecision,
)
from opencall.web.i18n import N_


def proposals_of_call(
    session: Session, call_id: int, *, statuses: tuple[str, ...] | None = None
) -> list[Proposal]:
    stmt = select(Proposal).where(Proposal.call_id == call_id).order_by(Proposal.id)
    if statuses:
        stmt = stmt.where(Proposal.status.in_(statuses))
    return list(session.scalars(stmt))


def member_proposals_query(user_id: int) -> Select[Proposal]:
    """The proposals where the user is an accepted team member (the applicant's own, on
    the dashboard and in the API), unordered. Each with its call and team, not the
    call's resources nor the proposal's requests and attachments, which neither list
    shows (the mapping's eager loads read a FAST call's 24 resources, each with its
    facility and provider, for every call listed: scale18)."""
    return (
        select(Proposal)
        .join(TeamMember, TeamMember.proposal_id == Proposal.id)
        .where(TeamMember.user_id == user_id, TeamMember.status == "accepted")
        .options(*as_listed())
    )


def as_listed() -> tuple[Any, ...]:
    """Loader options for a list of proposals that names each with its call (title,
    deadline, status): the call and the team as the mapping loads them, not the call's
    resources nor the proposal's requests and attachments (read on access, if ever)."""
    return (
        defaultload(Proposal.call).lazyload(Call.pools),
        lazyload(Proposal.requests),
        lazyload(Proposal.attachments),
    )


def pi_user(session: Session, proposal: Proposal) -> User | None:
    """The principal investigator's account (None without a PI or before they have one)."""
    pi = proposal.pi_member
    return session.get(User, pi.user_id) if pi and pi.user_id else None


# what each kind of finding is, for the pages (translated where shown)
FINDING_LABELS = {
    "name": N_("a team member's name"),
    "self_citation": N_("a citation of a team member's work"),
    "institution": N_("a team member's institution"),
    "email": N_("an e-mail address"),
    "url": N_("a web address"),
    "phrase": N_("a phrase that identifies the team"),
    "term": N_("a term the call forbids"),
}


TEXT_FIELDS = ("title", "abstract", "science_case", "keywords")
# the text a submission freezes into its revision (and the close restores from it)
REVISION_TEXT = (*TEXT_FIELDS, "area")


def team_identities(proposal: Proposal) -> list[TeamIdentity]:
    """Every team member, accepted or invited, as the anonymity scanner sees them."""
    return [
        TeamIdentity(name=m.name, institution=m.institution_name, email=m.email)
        for m in proposal.members
        if m.status in ("accepted", "invited")
    ]


#: where a finding in a request's details lies (the editor says "Requests")
REQUESTS_WHERE = "requests"


def _strings(value: Any) -> Iterator[str]:
    """The text held in a request's details, in order: every string, in lists and
    mappings too (a target's or a dive site's name, a berth's purpose, a site's place,
    a custom resource's fields); numbers and flags hold none."""
    if isinstance(value, str):
        if value.strip():
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def request_texts(proposal: Proposal) -> list[str]:
    """The text of the proposal's requests' details, as reviewers read it on the review
    page (trialrev21: in a dual-anonymous call too, so it is scanned as the text is)."""
    return [t for r in proposal.requests for t in _strings(r.details or {})]


def anonymity_findings(proposal: Proposal) -> list[tuple[str, Finding]]:
    """Where a proposal's text (title, abstract, science case, keywords, and the text of
    its requests' details: ``REQUESTS_WHERE``) identifies its team, as (where, finding)
    pairs: the names, institutions and e-mails of every member (accepted or invited),
    web addresses and self-identifying phrases.

    Run by the ``proposal.anonymity_scan`` job; pages read the cached result
    (:func:`cached_findings`) and never scan.
    """
    team = team_identities(proposal)
    out: list[tuple[str, Finding]] = []
    for where in TEXT_FIELDS:
        for f in scan_text(getattr(proposal, where) or "", team):
            out.append((where, f))
    # each value on its own: a match never spans two fields
    for text in dict.fromkeys(request_texts(proposal)):
        for f in scan_text(text, team):
            out.append((REQUESTS_WHERE, f))
    return out


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _team_doc(proposal: Proposal) -> list[list[str]]:
    return sorted([t.name, t.institution, t.email] for t in team_identities(proposal))


def text_scan_key(proposal: Proposal) -> str:
    """Identifies what a text scan read: the text fields, the requests' text and the
    team (a proposal whose requests hold no text keeps the key it had before the
    requests were read)."""
    text = {k: getattr(proposal, k) or "" for k in TEXT_FIELDS}
    doc: dict[str, Any] = {"v": 1, "text": text, "team": _team_doc(proposal)}
    if requests := request_texts(proposal):
        doc["requests"] = requests
    return _digest(doc)


def attachment_scan_key(proposal: Proposal, attachment: Attachment) -> str:
    """Identifies what an attachment scan read: the file's bytes (sha256) and the team."""
    return _digest({"v": 1, "sha256": attachment.sha256, "team": _team_doc(proposal)})


def scan_keys(proposal: Proposal) -> list[tuple[str, Attachment | None, str]]:
    """(subject, attachment, key) of every scan the proposal's current state needs."""
    out: list[tuple[str, Attachment | None, str]] = [("text", None, text_scan_key(proposal))]
    for a in proposal.attachments:
        out.append(("attachment", a, attachment_scan_key(proposal, a)))
    return out


@dataclass
class CachedFindings:
    """The cached anonymity findings of a proposal as it is now (no scanning)."""

    # (where, finding): where is a text field, or "attachment:<file name>" with the
    # finding's "where" saying page text, metadata, embedded file ...
    findings: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pending: int = 0  # scans queued or never requested
    failed: int = 0


def cached_findings_of(session: Session, proposals: list[Proposal]) -> dict[int, CachedFindings]:
    """Cached findings of several proposals in one query, keyed by proposal id."""
    ids = [p.id for p in proposals]
    scans: dict[tuple[int, str], AnonymityScan] = {}
    if ids:
        for row in session.scalars(select(AnonymityScan).where(AnonymityScan.proposal_id.in_(ids))):
            scans[(row.proposal_id, row.key)] = row
    out: dict[int, CachedFindings] = {}
    for p in proposals:
        cf = CachedFindings()
        for subject, att, key in scan_keys(p):
            sc = scans.get((p.id, key))
            if sc is None or sc.status == "queued":
                cf.pending += 1
                continue
            if sc.status != "done":
                cf.failed += 1
                continue
            for f in sc.findings:
                where = (
                    f["where"] if subject == "text" else f"attachment:{att.filename if att else ''}"
                )
                cf.findings.append((where, f))
            for n in sc.notes:
                cf.notes.append((f"attachment:{att.filename if att else ''}", n))
        out[p.id] = cf
    return out


def cached_findings(session: Session, proposal: Proposal) -> CachedFindings:
    return cached_findings_of(session, [proposal])[proposal.id]


def snapshot(proposal: Proposal) -> dict[str, Any]:
    """The content a submission freezes (and reviewers see, anonymised where required)."""
    return {
        **{key: getattr(proposal, key) for key in REVISION_TEXT},
        "team": [
            {
                "role": m.role,
                "name": m.name,
                "email": m.email,
                "institution": m.institution_name,
                "institution_id": m.institution_id,
                "country": m.country_iso3,
            }
            for m in proposal.members
            if m.status == "accepted"
        ],
        "requests": [
            {
                "kind": r.kind,
                "pool_id": r.pool_id,
                "amount": r.amount,
                "details": r.details,
                **({"bundle": r.bundle} if r.bundle else {}),
            }
            for r in proposal.requests
        ],
        "attachments": [
            {"filename": a.filename, "sha256": a.sha256, "pages": a.pages, "purpose": a.purpose}
            for a in proposal.attachments
        ],
    }


@dataclass(frozen=True)
class BatchInfo:
    """Which batch a proposal is in, or will enter at the next cut-off."""

    number: int
    cutoff: dt.datetime
    decisions_due: dt.datetime | None
    cut: bool  # False: the proposal waits for this cut-off in the call


def _due(call: Call, cutoff: dt.datetime) -> dt.datetime | None:
    return cutoff + dt.timedelta(days=call.decision_days) if call.decision_days else None


def batch_info(proposal: Proposal, now: dt.datetime | None = None) -> BatchInfo | None:
    """The batch of ``proposal``: the one it is in (its call is a batch), or, in a
    continuous call, the one it enters at the next cut-off (submitted: the first cut-off
    after its submission; a draft: the first still ahead). None for a call with one
    deadline, or when no cut-off is left."""
    call = proposal.call
    if call.batch_number is not None:
        return BatchInfo(call.batch_number, call.closes_at, _due(call, call.closes_at), True)
    if call.mode != "continuous" or proposal.status not in ("draft", "submitted"):
        return None
    cutoffs = parse_cutoffs(call.cutoffs)
    when = proposal.submitted_at if proposal.status == "submitted" else None
    i = next_cutoff(cutoffs, call.cutoffs_done, when or now or utcnow())
    if i is None:
        return None
    return BatchInfo(i + 1, cutoffs[i], _due(call, cutoffs[i]), False)


def triage_of(session: Session, proposal_id: int) -> TriageDecision | None:
    """Why a proposal set aside at triage was set aside (None for any other)."""
    return session.get(TriageDecision, proposal_id)


def continuation_links(session: Session, proposal_ids: Iterable[int]) -> dict[int, int | None]:
    """{proposal id: the earlier award it continues, None: none} for ``proposal_ids`` and
    every earlier proposal their chains reach (outcomes19): one statement per step back,
    a programme renewed n times n + 1 statements (``results.domain.programme_roots``
    reads them)."""
    links: dict[int, int | None] = {}
    todo = set(proposal_ids)
    while todo:
        found = dict(
            session.execute(
                select(Proposal.id, Proposal.continues_id).where(Proposal.id.in_(sorted(todo)))
            ).all()
        )
        links.update(found)
        todo = {v for v in found.values() if v is not None and v not in links}
    return links


def earlier_in_programme(session: Session, proposal_ids: Iterable[int]) -> dict[int, set[int]]:
    """{proposal id: the earlier proposals of its programme} (the chain of awards it
    continues, whatever their facility; outcomes20), for the one rule of a repeat
    access: a programme with an award in an earlier cycle of the facility had access
    there (``allocation.services.first_time_proposals``,
    ``outcomes.after_award_data.first_access``). None of a chain: no statement."""
    ids = sorted(set(proposal_ids))
    if not ids:
        return {}
    links = continuation_links(session, ids)
    out: dict[int, set[int]] = {}
    for pid in ids:
        chain: set[int] = set()
        at = links.get(pid)
        while at is not None and at not in chain and at != pid:
            chain.add(at)
            at = links.get(at)
        out[pid] = chain
    return out


def continued_award(session: Session, proposal: Proposal) -> dict[str, Any] | None:
    """The earlier award ``proposal`` continues (outcomes19), as the reviewers' and the
    office's pages show it: its code, title, call code and cycle; None: it continues none.
    A dual-anonymous page shows the cycle alone (the earlier award's code and title are
    on the public list of awards, beside its PI's country)."""
    if proposal.continues_id is None:
        return None
    earlier = session.get(Proposal, proposal.continues_id)
    if earlier is None:
        return None
    return {
        "id": earlier.id,
        "code": earlier.code,
        "title": earlier.title,
        "call": earlier.call.code,
        "cycle": earlier.call.cycle,
        # its code and title are named to reviewers only where its call's list of
        # awards is public (decisions released is not yet published)
        "public": earlier.call.status in ("published", "archived"),
    }


def pi_countries(session: Session, proposals: Any) -> dict[int, str | None]:
    """{proposal id: its first PI's country (``Proposal.pi_member``'s)} of ``proposals``
    (ids, or a statement selecting them); a proposal without a PI is left out. Columns
    only, not ORM proposals (whose members, requests and attachments would load too)."""
    pi_country: dict[int, str | None] = {}
    for pid, iso3 in session.execute(
        select(TeamMember.proposal_id, TeamMember.country_iso3)
        .where(TeamMember.proposal_id.in_(proposals), TeamMember.role == "pi")
        .order_by(TeamMember.proposal_id, TeamMember.id)
    ):
        pi_country.setdefault(pid, iso3)
    return pi_country


# ----------------------------------------------------------------------------- extensions


def submission_extension(session: Session, proposal: Proposal) -> SubmissionExtension | None:
    """The proposal's own submission deadline granted by the user office, if any."""
    return session.scalar(
        select(SubmissionExtension).where(SubmissionExtension.proposal_id == proposal.id)
    )


def submission_due(session: Session, proposal: Proposal) -> dt.datetime:
    """When ``proposal`` may last be submitted: its extension's end, else its call's deadline."""
    ext = submission_extension(session, proposal)
    return ext.until if ext is not None else proposal.call.closes_at


def submission_dues(session: Session, proposal_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """The proposals of ``proposal_ids`` whose deadline the user office extended (id: the
    extension's end), in one statement: a page listing proposals asks each one's deadline
    (``submission_due``) without a statement per proposal, and reads no other proposal's
    (mend22: the reader's every membership was read to show one)."""
    ids = sorted(set(proposal_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(SubmissionExtension.proposal_id, SubmissionExtension.until).where(
            SubmissionExtension.proposal_id.in_(ids)
        )
    )
    return {pid: until for pid, until in rows}


def extended_proposal_ids(session: Session, call: Call, now: dt.datetime) -> dict[int, dt.datetime]:
    """The proposals of ``call`` whose extension still runs at ``now`` (id: its end)."""
    rows = session.execute(
        select(SubmissionExtension.proposal_id, SubmissionExtension.until).where(
            SubmissionExtension.call_id == call.id, SubmissionExtension.until > now
        )
    )
    return {pid: until for pid, until in rows}


def submission_extensions_of(session: Session, call: Call) -> list[tuple[str, dt.datetime, str]]:
    """The extensions granted in ``call``, as (proposal code, until, reason), by code."""
    rows = session.execute(
        select(Proposal.code, SubmissionExtension.until, SubmissionExtension.reason)
        .join(Proposal, Proposal.id == SubmissionExtension.proposal_id)
        .where(SubmissionExtension.call_id == call.id)
        .order_by(Proposal.code)
    )
    return [(code, until, reason) for code, until, reason in rows]
