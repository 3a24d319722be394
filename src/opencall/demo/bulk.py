"""The bulk path of the demo world (issue 15): applicants, reviewers and proposals
written by batched core INSERTs instead of one service call per row.

``world.build`` takes this path above :data:`BULK_ABOVE` (the conference size,
``--scale 80``: 48,000 applicants, 12,000 reviewers, 32,000 proposals). It draws
from the same random stream in the same order as the services path, and writes
the same rows the services would: users with their institutions, role grants,
proposals numbered by the call's counter, team members (invited, then accepted),
requests validated by :func:`opencall.proposals.services.validate_request`,
submitted revisions (the same snapshot and hash), the anonymity scans and their
queued jobs, and one audit event per service call, hash-chained (and MACed with
the session's audit key) as :func:`opencall.auditlog.record` would. Only the
order of ids and the timestamps differ (``tests/test_demo_bulk.py`` compares the
two paths at a small scale).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from email_validator import validate_email
from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.orm import Session

from opencall import jobs
from opencall.auditlog import AuditEvent, EventInput, audit_key, chain_head, chained
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.demo.accounts import DEMO_ACCOUNTS, build_applicants, build_reviewers
from opencall.demo.proposals import (
    DrawnProposal,
    draw_proposals,
    draw_team,
    proposal_plan,
    proposal_texts,
    request_specs,
)
from opencall.errors import DomainError
from opencall.people.domain import institution_key, normalise_email
from opencall.people.models import Country, Institution, RoleGrant, User
from opencall.proposals import queries as prop_queries
from opencall.proposals import services as prop_services
from opencall.proposals.domain import content_hash, revision_facts
from opencall.proposals.models import (
    AnonymityScan,
    Proposal,
    ProposalCounter,
    ProposalRevision,
    Request,
    RevisionFact,
    TeamMember,
)

if TYPE_CHECKING:
    from opencall.demo.world import DemoCounts

# world.build takes the bulk path above this scale (the demo's own scale, 1, and the
# tests' smaller ones keep the services path)
BULK_ABOVE = 2.0
BATCH = 1000


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


class _Ids:
    """Primary keys handed out ahead of the INSERTs (so rows can refer to each other
    and the audit chain's order is its id order): PostgreSQL's sequences, in chunks;
    on SQLite the next integers after the table's largest id and after the last one
    handed out (ids taken may not be written yet: a chunk's rows can outnumber it)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.free: dict[str, list[int]] = {}
        self.last: dict[str, int] = {}

    def take(self, table: Table) -> int:
        free = self.free.setdefault(table.name, [])
        if not free:
            if self.pg:
                seq = self.session.scalar(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
                )
                got = self.session.scalars(
                    text("SELECT nextval(CAST(:s AS regclass)) FROM generate_series(1, :n)"),
                    {"s": seq, "n": 5000},
                ).all()
                free.extend(sorted(got, reverse=True))
            else:
                top = self.session.scalar(select(func.max(table.c.id))) or 0
                top = max(top, self.last.get(table.name, 0))
                free.extend(range(top + 5000, top, -1))
                self.last[table.name] = top + 5000
        return free.pop()


class _Rows:
    """Rows waiting for their INSERT, written table by table in foreign-key order."""

    ORDER = (
        "institutions",
        "users",
        "role_grants",
        "proposals",
        "team_members",
        "requests",
        "proposal_revisions",
        "revision_facts",
        "anonymity_scans",
        "jobs",
        "audit_events",
    )

    def __init__(self, session: Session) -> None:
        self.session = session
        self.ids = _Ids(session)
        self.rows: dict[str, list[dict[str, Any]]] = {n: [] for n in self.ORDER}
        self.tables: dict[str, Table] = {}

    def add(self, model: Any, **values: Any) -> int:
        table = _table(model)
        self.tables[table.name] = table
        values.setdefault("id", self.ids.take(table))
        self.rows[table.name].append(values)
        return int(values["id"])

    def drop(self, name: str, row: dict[str, Any]) -> None:
        """Take back a row not written yet (looked for from the end: a recent one)."""
        rows = self.rows[name]
        for i in range(len(rows) - 1, -1, -1):
            if rows[i] is row:
                del rows[i]
                return
        raise ValueError(f"no such row waiting in {name}")

    def write(self) -> None:
        for name in self.ORDER:
            rows = self.rows[name]
            for i in range(0, len(rows), BATCH):
                self.session.execute(insert(self.tables[name]), rows[i : i + BATCH])
            rows.clear()


class _Audit:
    """:func:`opencall.auditlog.record` for many events: the same chain, written in
    batches."""

    def __init__(self, session: Session, rows: _Rows) -> None:
        self.prev, self.prev_mac = chain_head(session)
        self.key = audit_key(session)
        self.rows = rows
        # what :func:`opencall.auditlog.chained` fills: every column but the id
        self.columns = [c.name for c in _table(AuditEvent).columns if c.name != "id"]

    def record(
        self,
        action: str,
        entity: str,
        entity_id: object,
        *,
        actor_id: int | None = None,
        call_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        event = EventInput(action, entity, entity_id, actor_id=actor_id, call_id=call_id, data=data)
        ev = chained(event, self.prev, self.prev_mac, self.key)
        self.rows.add(AuditEvent, **{c: getattr(ev, c) for c in self.columns})
        self.prev, self.prev_mac = ev.hash, ev.mac


@dataclass
class _Person:
    id: int
    email: str
    name: str
    country_iso3: str
    institution_id: int
    institution_name: str


@dataclass
class _Member:
    """A team member: its TeamMember row's columns but the proposal and the answer's time."""

    id: int
    user_id: int
    role: str
    email: str
    name: str
    institution_id: int
    institution_name: str
    country_iso3: str
    status: str


@dataclass
class _Draft:
    """What the services' Proposal holds at each step (duck-typed for their checks)."""

    call: Call
    title: str
    abstract: str
    science_case: str
    keywords: str
    area: str
    members: list[_Member] = field(default_factory=list)
    requests: list[SimpleNamespace] = field(default_factory=list)
    attachments: list[Any] = field(default_factory=list)

    @property
    def pi_member(self) -> _Member | None:
        """As ``Proposal.pi_member`` (the rules by country read the PI's country)."""
        return next((m for m in self.members if m.role == "pi"), None)


class _People:
    """register_user and grant_role, batched."""

    def __init__(self, session: Session, rows: _Rows, audit: _Audit, pw_hash: str) -> None:
        self.rows, self.audit, self.pw_hash = rows, audit, pw_hash
        self.inst: dict[tuple[str, str], tuple[int, str]] = {
            (i.name_key, i.country_iso3): (i.id, i.name)
            for i in session.scalars(select(Institution))
        }
        self.emails = set(session.scalars(select(User.email)))

    def institution(self, name: str, iso3: str) -> tuple[int, str]:
        name = " ".join(name.split())
        if not name or len(name) > 300:
            raise ValueError(f"demo data: bad institution name {name!r}")
        key = (institution_key(name), iso3)
        if key not in self.inst:
            self.inst[key] = (
                self.rows.add(Institution, name=name, name_key=key[0], country_iso3=iso3),
                name,
            )
        return self.inst[key]

    def register(
        self, email: str, name: str, iso3: str, inst: str, expertise: str = "", lang: str = "en"
    ) -> _Person:
        email = normalise_email(validate_email(email, check_deliverability=False).normalized)
        name = " ".join(name.split())
        if not name or len(name) > 200 or email in self.emails:
            raise ValueError(f"demo data: cannot register {email!r}")
        self.emails.add(email)
        inst_id, inst_name = self.institution(inst, iso3)
        uid = self.rows.add(
            User,
            email=email,
            name=name,
            password_hash=self.pw_hash,
            language=lang,
            institution_id=inst_id,
            country_iso3=iso3,
            expertise=expertise,
            email_verified_at=utcnow(),
            is_active=True,
            is_site_admin=False,
        )
        self.audit.record("user.registered", "user", uid, actor_id=uid)
        return _Person(uid, email, name, iso3, inst_id, inst_name)

    def grant_reviewer(self, user: _Person, call: Call) -> None:
        """grant_role(user, "reviewer", call_id=call.id), as rows."""
        self.rows.add(
            RoleGrant, user_id=user.id, role="reviewer", provider_id=None, call_id=call.id
        )
        self.audit.record(
            "role.granted",
            "user",
            user.id,
            call_id=call.id,
            data={"role": "reviewer", "provider_id": None, "call_id": call.id},
        )


def populate(
    session: Session,
    rng: random.Random,
    *,
    scale: float,
    now: dt.datetime,
    countries: dict[str, Country],
    calls: tuple[Call, Call, Call, Call],
    pw_hash: str,
    counts: DemoCounts,
    step: Callable[[str, int], None],
) -> None:
    """The applicants, reviewers and proposals of ``world.build`` (its random draws,
    in its order), written in batches; ``world.build`` then closes the past-deadline calls."""
    rows = _Rows(session)
    audit = _Audit(session, rows)
    people = _People(session, rows, audit, pw_hash)

    # --- applicants (as world.build) -------------------------------------------
    # the same draws in the same order as the services path: only the writes differ
    drawn = build_applicants(rng, people.register, countries, scale, step)
    applicants = drawn.users
    counts.applicants = len(applicants)
    counts.applicant_countries = len({u.country_iso3 for u in applicants})

    # --- reviewers ----------------------------------------------------------------
    reviewers = build_reviewers(
        rng, people.register, people.grant_reviewer, countries, drawn, calls, scale, step
    )
    counts.reviewers = len(reviewers)
    rows.write()

    # --- proposals ------------------------------------------------------------------
    by_field: dict[str, list[_Person]] = drawn.by_field()
    made = 0
    for call, fld, n in proposal_plan(calls, scale):
        writer = _ProposalWriter(session, rows, audit, call)
        pool = by_field[fld]
        when = min(now, call.closes_at - dt.timedelta(days=1))
        for proposal in draw_proposals(rng, pool, fld, n):
            step("proposals", made)
            pi = proposal.pi
            draft = writer.create(proposal)
            for coi, accepts in draw_team(rng, pool, pi):
                member = writer.invite(draft, coi, actor_id=pi.id)
                if accepts:
                    writer.accept(draft, member, coi)
            pi_country = countries[draft.members[0].country_iso3]
            for kind, details, pool_id in request_specs(
                rng, call, fld, proposal.area_key, pi_country
            ):
                writer.add_request(draft, kind, details, pool_id)
            if rng.random() < 0.9:
                writer.submit(draft, pi, when)
            writer.done(draft)
            made += 1
            if made % BATCH == 0:
                rows.write()
        rows.write()
        writer.finish(n)
        counts.proposals_by_call[call.code] = n
    counts.proposals = made

    counts.accounts = dict(DEMO_ACCOUNTS)
    session.flush()


class _ProposalWriter:
    """create_proposal, invite_member, respond_to_invitation, add_request and submit of
    one call, as rows."""

    def __init__(self, session: Session, rows: _Rows, audit: _Audit, call: Call) -> None:
        self.session, self.rows, self.audit, self.call = session, rows, audit, call
        self.dual = call.anonymity == "dual"
        self.number = 0
        self.pid = 0
        self.version = 0
        self.proposal: dict[str, Any] = {}
        self.scan_keys: set[str] = set()
        # subject: (the row of its scan waiting for the worker, that scan's job's row)
        self.waiting: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self.revision: dict[str, Any] = {}

    def _scan(self, draft: _Draft, actor_id: int | None) -> None:
        """request_anonymity_scans: a queued scan (and its job) for a version not seen yet;
        a version saved over before its scan ran hands its job to the new one and its row
        is dropped (``proposals.services.scans._retarget``: nothing runs while the world
        is built, so every scan waits)."""
        if not self.dual:
            return
        for subject, _att, key in prop_queries.scan_keys(cast(Proposal, draft)):
            if key in self.scan_keys:
                continue
            self.scan_keys.add(key)
            sid = self.rows.add(
                AnonymityScan,
                proposal_id=self.pid,
                attachment_id=None,
                subject=subject,
                key=key,
                status="queued",
                findings=[],
                notes=[],
                error="",
            )
            scan = self.rows.rows[_table(AnonymityScan).name][-1]
            if subject in self.waiting:
                old, job = self.waiting[subject]
                self.rows.drop(_table(AnonymityScan).name, old)
                self.scan_keys.discard(old["key"])
                job["payload"] = {"scan_id": sid}
                self.waiting[subject] = (scan, job)
                continue
            self.rows.add(
                jobs.Job,
                kind=prop_services.SCAN_JOB,
                payload={"scan_id": sid},
                status="queued",
                call_id=None,
                created_by=actor_id,
                max_attempts=2,
            )
            self.waiting[subject] = (scan, self.rows.rows[_table(jobs.Job).name][-1])

    def create(self, drawn: DrawnProposal[_Person]) -> _Draft:
        pi = drawn.pi
        texts = proposal_texts(drawn)
        texts["title"] = " ".join(drawn.title.split())
        if not texts["title"]:
            raise DomainError("A title is required.", field="title")
        self.number += 1
        self.version = 1
        self.scan_keys = set()
        self.waiting = {}
        self.pid = self.rows.ids.take(_table(Proposal))
        self.proposal = dict(
            id=self.pid,
            call_id=self.call.id,
            code=f"{self.call.code}-{self.number:04d}",
            pi_user_id=pi.id,
            **texts,
            status="draft",
            current_revision_id=None,
            eligible=None,
            submitted_at=None,
        )
        draft = _Draft(self.call, **texts)
        mid = self.rows.ids.take(_table(TeamMember))
        draft.members.append(
            _Member(
                mid,
                pi.id,
                "pi",
                pi.email,
                pi.name,
                pi.institution_id,
                pi.institution_name,
                pi.country_iso3,
                "accepted",
            )
        )
        self.audit.record(
            "proposal.created", "proposal", self.pid, actor_id=pi.id, call_id=self.call.id
        )
        self._scan(draft, pi.id)
        return draft

    def invite(self, draft: _Draft, coi: _Person, *, actor_id: int) -> _Member:
        email = validate_email(coi.email, check_deliverability=False).normalized.lower()
        if any(m.email == email for m in draft.members):
            raise DomainError("This person is already on the team.", field="email")
        member = _Member(
            self.rows.ids.take(_table(TeamMember)),
            coi.id,
            "coi",
            email,
            " ".join(coi.name.split()),
            coi.institution_id,
            coi.institution_name,
            coi.country_iso3,
            "invited",
        )
        draft.members.append(member)
        self.version += 1
        self.audit.record(
            "team.invited",
            "proposal",
            self.pid,
            actor_id=actor_id,
            call_id=self.call.id,
            data={"member_id": member.id},
        )
        self._scan(draft, actor_id)
        return member

    def accept(self, draft: _Draft, member: _Member, coi: _Person) -> None:
        member.status = "accepted"
        self.audit.record(
            "team.accepted", "proposal", self.pid, actor_id=coi.id, call_id=self.call.id
        )
        self._scan(draft, coi.id)

    def add_request(
        self, draft: _Draft, kind: str, details: dict[str, Any], pool_id: int | None
    ) -> None:
        amount, clean, _pool = prop_services.validate_request(
            self.session, self.call, kind, pool_id, details
        )
        prop_services._check_total(self.call, [r.amount for r in draft.requests] + [amount])
        draft.requests.append(  # its Request row's columns but the proposal
            SimpleNamespace(
                kind=kind,
                pool_id=pool_id,
                amount=amount,
                details=clean,
                bundle=None,
                position=len(draft.requests),
            )
        )
        self.version += 1
        self.audit.record(
            "request.added",
            "proposal",
            self.pid,
            call_id=self.call.id,
            data={"kind": kind, "amount": amount},
        )
        self._scan(draft, None)  # its details are scanned with the text (trialrev21)

    def submit(self, draft: _Draft, pi: _Person, when: dt.datetime) -> None:
        problems = prop_services.submission_problems(cast(Proposal, draft))
        if problems:
            raise DomainError(
                "The proposal cannot be submitted yet: %(problems)s", problems=problems[0][1]
            )
        content = prop_services.snapshot(cast(Proposal, draft))
        digest = content_hash(content)
        self.version += 1
        self.proposal.update(status="submitted", submitted_at=when)
        self.revision = dict(
            proposal_id=self.pid, number=1, content=content, content_hash=digest, created_by=pi.id
        )
        self.audit.record(
            "proposal.submitted",
            "proposal",
            self.pid,
            actor_id=pi.id,
            call_id=self.call.id,
            data={"revision": 1, "hash": digest, "from": "draft"},
        )

    def done(self, draft: _Draft) -> None:
        """The proposal's rows, in their final state."""
        self.rows.add(Proposal, **self.proposal, version=self.version, updated_at=utcnow())
        for m in draft.members:
            self.rows.add(
                TeamMember,
                **asdict(m),
                proposal_id=self.pid,
                responded_at=utcnow() if m.status == "accepted" else None,
            )
        for r in draft.requests:
            self.rows.add(Request, **vars(r), proposal_id=self.pid)
        if self.proposal["status"] == "submitted":
            rev_id = self.rows.add(ProposalRevision, **self.revision)
            for kind, value in sorted(revision_facts(self.revision["content"])):
                self.rows.add(RevisionFact, revision_id=rev_id, kind=kind, value=value)
        self.revision = {}

    def finish(self, n: int) -> None:
        """The call's proposal counter, and each submitted proposal's current revision."""
        self.session.execute(
            insert(_table(ProposalCounter)), [{"call_id": self.call.id, "last": n}]
        )
        rev = (
            select(ProposalRevision.id)
            .where(ProposalRevision.proposal_id == Proposal.id)
            .scalar_subquery()
        )
        self.session.execute(
            update(Proposal)
            .where(Proposal.call_id == self.call.id, Proposal.status == "submitted")
            .values(current_revision_id=rev)
            .execution_options(synchronize_session=False)
        )
