"""The applicant's path: create, edit, team, requests, submit, withdraw.

Every function validates first and changes nothing when it raises; the
caller's unit of work commits. Every change is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from opencall import auditlog, jobs
from opencall.calls.domain import require_open
from opencall.calls.models import Call
from opencall.calls.schemas import call_form
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities import domain as fac_domain
from opencall.facilities.models import CapacityPool
from opencall.inputs import error_text, first_error, invisible_only
from opencall.people.models import Country, User
from opencall.people.services import get_or_create_institution
from opencall.proposals import pdfsafe, queries
from opencall.proposals.anonymity import Finding, scan_label, scan_pages
from opencall.proposals.domain import check_proposal_transition, content_hash, word_count
from opencall.proposals.models import (
    AnonymityScan,
    Attachment,
    Proposal,
    ProposalCounter,
    ProposalRevision,
    Request,
    TeamMember,
)
from opencall.proposals.queries import snapshot as snapshot  # a read, kept in queries
from opencall.proposals.schemas import (
    DETAILS,
    POOL_TYPE_FOR_KIND,
    MemberInvite,
    ProposalUpdate,
)
from opencall.settings import Settings
from opencall.storage import LocalStorage, Storage

KIND_FOR_FACILITY = {
    "telescope": ("fast",),
    "vessel": ("berth", "dive"),
    "samples": ("sample",),
    "programme": ("seat", "package"),
    "custom": ("custom",),
}


def _validation_message(exc: ValidationError, prefix: str = "") -> DomainError:
    where, _msg = first_error(exc, prefix)
    return DomainError.composed(error_text(exc, prefix), field=where or None)


CALL_DEADLINE = ["status", "opens_at", "closes_at"]
PROPOSAL_STATE = ["status", "version", "current_revision_id"]


def begin_write(session: Session) -> None:
    """On SQLite, take the database's write lock now (``BEGIN IMMEDIATE``) unless this
    transaction already writes, so that what is read next stays true until commit."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock_for_write(session: Session, proposal: Proposal) -> None:
    """Serialise a write to ``proposal`` against the close of its call and against other
    writes to it, then re-read what the checks use (the call's status and dates, the
    proposal's status and version) inside the write transaction.

    PostgreSQL: the call row ``FOR SHARE`` (many writers at once; a close takes it
    exclusively and waits for them, and they wait for it) and the proposal row
    ``FOR UPDATE``. SQLite: ``BEGIN IMMEDIATE`` (one writer at a time).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(proposal.call, CALL_DEADLINE, with_for_update={"read": True})
        session.refresh(proposal, PROPOSAL_STATE, with_for_update=True)
    else:
        begin_write(session)
        session.refresh(proposal.call, CALL_DEADLINE)
        session.refresh(proposal, PROPOSAL_STATE)


def lock_call_for_close(session: Session, call: Call) -> None:
    """The close's side of :func:`lock_for_write`: the call row exclusively (PostgreSQL
    ``FOR NO KEY UPDATE``; SQLite ``BEGIN IMMEDIATE``), waiting for writes in flight."""
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(call, CALL_DEADLINE, with_for_update={"key_share": True})
    else:
        begin_write(session)
        session.refresh(call, CALL_DEADLINE)


def _require_editable(
    proposal: Proposal, now: dt.datetime | None = None, *, session: Session | None = None
) -> None:
    if session is not None:
        lock_for_write(session, proposal)
    if proposal.status not in ("draft", "submitted"):
        raise DomainError(
            "This proposal is %(status)s and can no longer be edited.",
            code="locked",
            status=proposal.status,
        )
    call = proposal.call
    require_open(call.status, call.opens_at, call.closes_at, now or utcnow())


STALE = (
    "This proposal was changed elsewhere since you opened it; your text is kept "
    "below — review the latest version and save again."
)


def _touch(proposal: Proposal, expected_version: int | None) -> None:
    """Check the version the editor saw (read again under the write lock), and mark the
    proposal changed: its row is updated, and the mapper's ``version_id_col`` makes that
    ``UPDATE ... SET version = v + 1 WHERE id = :id AND version = :v``."""
    if expected_version is not None and expected_version != proposal.version:
        raise DomainError(
            "This proposal was changed elsewhere since you opened it; your text is "
            "kept below — review the latest version and save again.",
            code="stale",
        )
    proposal.updated_at = utcnow()


def _flush(session: Session) -> None:
    """Flush a versioned change; a row changed meanwhile is a stale edit, not a 500."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise DomainError(
            "This proposal was changed elsewhere since you opened it; your text is "
            "kept below — review the latest version and save again.",
            code="stale",
        ) from exc


def _save_edit(
    session: Session,
    proposal: Proposal,
    expected_version: int | None,
    action: str,
    *,
    actor_id: int | None,
    data: dict[str, Any] | None = None,
    refresh: bool = False,
) -> None:
    """Save an edit of the proposal's draft: check the version, flush (a row changed
    meanwhile is a stale edit), reload the proposal's collections when asked, and record
    the edit in the audit log."""
    _touch(proposal, expected_version)
    _flush(session)
    if refresh:
        session.refresh(proposal)
    auditlog.record(
        session,
        action,
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data=data,
    )


def create_proposal(
    session: Session,
    call: Call,
    pi: User,
    *,
    title: str,
    abstract: str = "",
    science_case: str = "",
    keywords: str = "",
    area: str = "",
    now: dt.datetime | None = None,
) -> Proposal:
    require_open(call.status, call.opens_at, call.closes_at, now or utcnow())
    title = "" if invisible_only(title) else " ".join(title.split())
    form = call_form(call.form)
    if not title:
        raise DomainError("A title is required.", field="title")
    if len(title) > form.title_max_chars:
        raise DomainError(
            "The title is too long (%(n)s characters; at most %(max)s).",
            field="title",
            n=len(title),
            max=form.title_max_chars,
        )
    if pi.institution_id is None or pi.country_iso3 is None:
        raise DomainError(
            "Add your institution and country to your account before creating a proposal.",
            field="institution",
        )
    prop = Proposal(
        call_id=call.id,
        code=_next_code(session, call),
        pi_user_id=pi.id,
        title=title,
        abstract=abstract,
        science_case=science_case,
        keywords=keywords,
        area=area,
        status="draft",
    )
    session.add(prop)
    session.flush()
    inst = pi.institution
    session.add(
        TeamMember(
            proposal_id=prop.id,
            user_id=pi.id,
            role="pi",
            email=pi.email,
            name=pi.name,
            institution_id=pi.institution_id,
            institution_name=inst.name if inst else "",
            country_iso3=pi.country_iso3,
            status="accepted",
            responded_at=utcnow(),
        )
    )
    session.flush()
    session.refresh(prop)
    auditlog.record(
        session, "proposal.created", "proposal", prop.id, actor_id=pi.id, call_id=call.id
    )
    request_anonymity_scans(session, prop, actor_id=pi.id)
    return prop


def _next_code(session: Session, call: Call) -> str:
    """The call's next proposal code, from its counter row taken under a row lock (the
    lock is held until the caller commits, so concurrent creations queue for it)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    seed = select(func.count(Proposal.id)).where(Proposal.call_id == call.id).scalar_subquery()
    session.execute(
        insert(ProposalCounter)
        .values(call_id=call.id, last=seed)
        .on_conflict_do_nothing(index_elements=["call_id"])
    )
    while True:
        n = session.execute(
            update(ProposalCounter)
            .where(ProposalCounter.call_id == call.id)
            .values(last=ProposalCounter.last + 1)
            .returning(ProposalCounter.last)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        code = f"{call.code}-{n:04d}"
        # a counter seeded after a deletion may point at a code in use: skip it
        taken = session.scalar(
            select(Proposal.id).where(Proposal.call_id == call.id, Proposal.code == code)
        )
        if taken is None:
            return code


def update_proposal(
    session: Session,
    proposal: Proposal,
    data: dict[str, Any],
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Proposal:
    _require_editable(proposal, now, session=session)
    try:
        upd = ProposalUpdate.model_validate(data)
    except ValidationError as exc:
        raise _validation_message(exc) from exc
    form = call_form(proposal.call.form)
    if upd.title is not None:
        t = "" if invisible_only(upd.title) else " ".join(upd.title.split())
        if not t:
            raise DomainError("A title is required.", field="title")
        if len(t) > form.title_max_chars:
            raise DomainError(
                "The title is too long (%(n)s characters; at most %(max)s).",
                field="title",
                n=len(t),
                max=form.title_max_chars,
            )
    # drafts may exceed word limits while being written; submit enforces them
    _touch(proposal, expected_version)
    for key, value in upd.model_dump(exclude_none=True).items():
        setattr(proposal, key, " ".join(value.split()) if key == "title" else value)
    _flush(session)
    auditlog.record(
        session,
        "proposal.edited",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"fields": sorted(upd.model_dump(exclude_none=True))},
    )
    request_anonymity_scans(session, proposal, actor_id=actor_id)
    return proposal


def invite_member(
    session: Session,
    proposal: Proposal,
    data: dict[str, Any],
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> TeamMember:
    _require_editable(proposal, now, session=session)
    try:
        inv = MemberInvite.model_validate(data)
    except ValidationError as exc:
        raise _validation_message(exc) from exc
    from email_validator import EmailNotValidError, validate_email

    try:
        email = validate_email(inv.email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError("Invalid e-mail address: %(reason)s", field="email", reason=exc) from exc
    if any(m.email == email for m in proposal.members):
        raise DomainError("This person is already on the team.", field="email")
    if session.get(Country, inv.country_iso3.upper()) is None:
        raise DomainError(
            "Unknown country code %(code_value)s.",
            field="country_iso3",
            code_value=repr(inv.country_iso3),
        )
    inst = get_or_create_institution(session, inv.institution, inv.country_iso3.upper())
    user = session.scalar(select(User).where(User.email == email))
    member = TeamMember(
        proposal_id=proposal.id,
        user_id=user.id if user else None,
        role="coi",
        email=email,
        name=" ".join(inv.name.split()),
        institution_id=inst.id,
        institution_name=inst.name,
        country_iso3=inv.country_iso3.upper(),
        status="invited",
    )
    session.add(member)
    _touch(proposal, expected_version)
    _flush(session)
    session.refresh(proposal)
    auditlog.record(  # the member's id exists only after the flush
        session,
        "team.invited",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"member_id": member.id},
    )
    request_anonymity_scans(session, proposal, actor_id=actor_id)
    return member


def respond_to_invitation(
    session: Session, member: TeamMember, user: User, *, accept: bool
) -> TeamMember:
    if member.email != user.email:
        raise DomainError("This invitation was sent to another e-mail address.", code="forbidden")
    if member.status != "invited":
        raise DomainError("This invitation was already %(status)s.", status=member.status)
    member.status = "accepted" if accept else "declined"
    member.user_id = user.id
    member.responded_at = utcnow()
    session.flush()
    auditlog.record(
        session,
        "team.accepted" if accept else "team.declined",
        "proposal",
        member.proposal_id,
        actor_id=user.id,
        call_id=member.proposal.call_id,
    )
    request_anonymity_scans(session, member.proposal, actor_id=user.id)
    return member


def remove_member(
    session: Session,
    proposal: Proposal,
    member: TeamMember,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    _require_editable(proposal, now, session=session)
    if member.proposal_id != proposal.id:
        raise DomainError("Not a member of this proposal.", code="not_found")
    if member.role == "pi":
        raise DomainError("The principal investigator cannot be removed.")
    session.delete(member)
    _save_edit(
        session,
        proposal,
        expected_version,
        "team.removed",
        actor_id=actor_id,
        refresh=True,
    )
    request_anonymity_scans(session, proposal, actor_id=actor_id)


def row_problems(
    call: Call, kind: str, pool_id: int | None, rows: list[tuple[int, Any]]
) -> list[tuple[int, str, str]]:
    """Every line of a request's table the call cannot serve, all at once, as (line,
    column, message): targets outside the telescope's sky, dive sites deeper than the
    submersible goes. ``rows`` are (line number, validated line) pairs."""
    facility = call.facility
    out: list[tuple[int, str, str]] = []
    if kind == "fast":
        lo, hi = facility.attributes["dec_min_deg"], facility.attributes["dec_max_deg"]
        for i, t in rows:
            if not lo <= t.dec_deg <= hi:
                out.append(
                    (
                        i,
                        "dec_deg",
                        f"Target {t.name!r} at declination {t.dec_deg:+.2f}° is outside the sky "
                        f"this telescope can reach ({lo:+.0f}° to {hi:+.0f}°).",
                    )
                )
    elif kind == "dive":
        cp = next((cp for cp in call.pools if cp.pool_id == pool_id), None)
        max_depth = (cp.pool.attributes.get("max_depth_m") if cp else None) or (
            facility.attributes.get("max_dive_depth_m")
        )
        for i, site in rows:
            if max_depth is not None and site.depth_m > max_depth:
                out.append(
                    (
                        i,
                        "depth_m",
                        f"Dive site {site.name!r} at {site.depth_m:g} m is deeper than the "
                        f"submersible's limit of {max_depth:g} m.",
                    )
                )
    return out


def validate_request(
    session: Session, call: Call, kind: str, pool_id: int | None, details: dict[str, Any]
) -> tuple[float, dict[str, Any], CapacityPool | None]:
    """Validate one request against the call; returns (amount, clean details, pool)."""
    facility = call.facility
    if kind not in KIND_FOR_FACILITY.get(facility.kind, ()):
        raise DomainError(
            "A %(kind)s call takes requests of kind %(kinds)s, not %(request_kind)s.",
            field="kind",
            kind=facility.kind,
            kinds=", ".join(KIND_FOR_FACILITY[facility.kind]),
            request_kind=repr(kind),
        )
    if kind == "custom":
        return _validate_custom(call, pool_id, details)
    model = DETAILS[kind]
    try:
        doc = model.model_validate(details)
    except ValidationError as exc:
        raise _validation_message(exc, "details.") from exc
    form = call_form(call.form)
    clean = doc.model_dump(mode="json")
    offered = {cp.pool_id: cp for cp in call.pools}
    pool: CapacityPool | None = None
    if kind == "fast":
        if doc.receiver not in form.receivers:  # type: ignore[attr-defined]
            raise DomainError(
                "Receiver %(receiver)s is not offered in this call (offered: %(offered)s).",
                field="details.receiver",
                receiver=repr(doc.receiver),  # type: ignore[attr-defined]
                offered=", ".join(form.receivers),
            )
        if doc.mode not in form.modes:  # type: ignore[attr-defined]
            raise DomainError(
                "Mode %(mode)s is not offered in this call (offered: %(offered)s).",
                field="details.mode",
                mode=repr(doc.mode),  # type: ignore[attr-defined]
                offered=", ".join(form.modes),
            )
        targets = doc.targets  # type: ignore[attr-defined]
        if len(targets) > form.max_targets:
            raise DomainError(
                "Too many targets (%(n)s; at most %(max)s).",
                field="details.targets",
                n=len(targets),
                max=form.max_targets,
            )
        for i, col, msg in row_problems(call, kind, pool_id, list(enumerate(targets)))[:1]:
            raise DomainError.composed(msg, field=f"details.targets.{i}.{col}")
        amount = float(sum(t.hours for t in targets))
        if pool_id is not None:
            raise DomainError(
                "Telescope hours are split over LST ranges from the targets; do not choose a pool.",
                field="pool_id",
            )
    else:
        if pool_id is None or pool_id not in offered:
            raise DomainError("Choose one of the capacity pools this call offers.", field="pool_id")
        cp = offered[pool_id]
        pool = cp.pool
        if pool.pool_type != POOL_TYPE_FOR_KIND[kind]:
            raise DomainError(
                "Pool %(pool)s offers %(unit)s, which a %(kind)s request cannot use.",
                field="pool_id",
                pool=repr(pool.name),
                unit=pool.unit,
                kind=kind,
            )
        if kind == "berth":
            amount = float(doc.berths)  # type: ignore[attr-defined]
        elif kind == "dive":
            sites = list(enumerate(doc.sites))  # type: ignore[attr-defined]
            for i, col, msg in row_problems(call, kind, pool_id, sites)[:1]:
                raise DomainError.composed(msg, field=f"details.sites.{i}.{col}")
            amount = float(len(doc.sites))  # type: ignore[attr-defined]
        elif kind == "sample":
            if doc.sample_type != pool.attributes.get("sample_type"):  # type: ignore[attr-defined]
                raise DomainError(
                    "Pool %(pool)s holds %(held)s, not %(asked)s.",
                    field="details.sample_type",
                    pool=repr(pool.name),
                    held=repr(pool.attributes.get("sample_type")),
                    asked=repr(doc.sample_type),  # type: ignore[attr-defined]
                )
            amount = float(doc.mass_mg)  # type: ignore[attr-defined]
        elif kind == "seat":
            if doc.technology != pool.attributes.get("technology"):  # type: ignore[attr-defined]
                raise DomainError(
                    "Session %(pool)s teaches %(technology)s.",
                    field="details.technology",
                    pool=repr(pool.name),
                    technology=repr(pool.attributes.get("technology")),
                )
            amount = float(doc.seats)  # type: ignore[attr-defined]
        else:  # package
            if doc.technology != pool.attributes.get("technology"):  # type: ignore[attr-defined]
                raise DomainError(
                    "Pool %(pool)s offers %(technology)s packages.",
                    field="details.technology",
                    pool=repr(pool.name),
                    technology=repr(pool.attributes.get("technology")),
                )
            amount = float(doc.packages)  # type: ignore[attr-defined]
        if amount > cp.amount:
            raise DomainError(
                "The request (%(amount)s %(unit)s) exceeds what the call offers in "
                "%(pool)s (%(offered)s %(unit2)s).",
                field="amount",
                amount=format(amount, "g"),
                unit=pool.unit,
                pool=repr(pool.name),
                offered=format(cp.amount, "g"),
                unit2=pool.unit,
            )
        if cp.max_per_request is not None and amount > cp.max_per_request:
            raise DomainError(
                "The request (%(amount)s %(unit)s) exceeds the limit per request of "
                "%(limit)s %(unit2)s in %(pool)s.",
                field="amount",
                amount=format(amount, "g"),
                unit=pool.unit,
                limit=format(cp.max_per_request, "g"),
                unit2=pool.unit,
                pool=repr(pool.name),
            )
    return amount, clean, pool


def _validate_custom(
    call: Call, pool_id: int | None, details: dict[str, Any]
) -> tuple[float, dict[str, Any], CapacityPool | None]:
    """A request on a custom resource: its details against the resource's declared
    request form (each field's message names the field by its label)."""
    offered = {cp.pool_id: cp for cp in call.pools}
    if pool_id is None or pool_id not in offered:
        raise DomainError("Choose one of the resources this call offers.", field="pool_id")
    cp = offered[pool_id]
    pool = cp.pool
    if pool.pool_type != "custom":
        raise DomainError(
            "Resource %(name)s takes requests of its preset kind.",
            field="pool_id",
            name=repr(pool.name),
        )
    period = (
        (pool.period_start, pool.period_end)
        if pool.period_start is not None and pool.period_end is not None
        else None
    )
    try:
        amount, clean = fac_domain.validate_details(
            pool.request_fields,
            details,
            slot_based=pool.slot_hours is not None,
            period=period,
        )
    except fac_domain.FieldProblem as exc:
        raise DomainError.composed(exc.message, field=f"details.{exc.field}") from exc
    unit = fac_domain.unit_label(pool.unit, pool.unit_labels, amount, "en")
    if amount > cp.amount:
        raise DomainError(
            "The request (%(amount)s %(unit)s) exceeds what the call offers in "
            "%(name)s (%(offered)s).",
            field="details.amount",
            amount=format(amount, "g"),
            unit=unit,
            name=repr(pool.name),
            offered=format(cp.amount, "g"),
        )
    if cp.max_per_request is not None and amount > cp.max_per_request:
        raise DomainError(
            "The request (%(amount)s %(unit)s) exceeds the limit per request of "
            "%(limit)s in %(name)s.",
            field="details.amount",
            amount=format(amount, "g"),
            unit=unit,
            limit=format(cp.max_per_request, "g"),
            name=repr(pool.name),
        )
    return amount, clean, pool


def _check_bundle(proposal: Proposal, bundle: str | None, pool_id: int | None) -> None:
    """At save time: a well-formed key on a resource the call offers (a bundle of
    one is allowed while the applicant adds the others; submission needs two)."""
    if bundle is None:
        return
    fac_domain.check_bundle_key(bundle)
    if pool_id is not None and pool_id not in {cp.pool_id for cp in proposal.call.pools}:
        raise DomainError(
            "Bundle %(key)s refers to a resource this call does not offer.",
            field="bundle",
            key=repr(bundle),
        )


def set_bundle(
    session: Session,
    proposal: Proposal,
    request_ids: list[int],
    bundle: str | None,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> list[Request]:
    """Mark requests of one proposal all-or-nothing (``bundle`` a key), or take them
    out of their bundle (``bundle`` None). A bundle holds at least two requests of
    this proposal, each on a resource its call offers; nothing changes otherwise."""
    _require_editable(proposal, now, session=session)
    mine = {r.id: r for r in proposal.requests}
    chosen = []
    for rid in dict.fromkeys(request_ids):
        if rid not in mine:
            raise DomainError(
                "A bundle holds requests of this proposal only (and of its call).",
                field="bundle",
            )
        chosen.append(mine[rid])
    if bundle is not None:
        if len(chosen) < 2:
            raise DomainError(
                "An all-or-nothing bundle needs at least two requests of this proposal.",
                field="bundle",
            )
        offered = {cp.pool_id for cp in proposal.call.pools}
        after = {r.id: r.bundle for r in proposal.requests}
        after.update({r.id: bundle for r in chosen})
        fac_domain.check_bundles(
            [
                (after[r.id], r.pool_id, offered)
                for r in proposal.requests
                if after[r.id] is not None
            ]
        )
    else:
        left = {r.bundle for r in chosen} - {None}
        for key in left:
            rest = [r for r in proposal.requests if r.bundle == key and r not in chosen]
            if len(rest) == 1:
                rest[0].bundle = None
    for r in chosen:
        r.bundle = bundle
    _save_edit(
        session,
        proposal,
        expected_version,
        "request.bundled" if bundle else "request.unbundled",
        actor_id=actor_id,
        data={"requests": [r.id for r in chosen], "bundle": bundle},
    )
    return chosen


def _check_total(call: Call, requests_amounts: list[float]) -> None:
    form = call_form(call.form)
    total = sum(requests_amounts)
    if form.max_amount_per_proposal is not None and total > form.max_amount_per_proposal + 1e-9:
        raise DomainError(
            "The proposal asks for %(total)s in total; this call allows at most "
            "%(max)s per proposal.",
            field="amount",
            total=format(total, "g"),
            max=format(form.max_amount_per_proposal, "g"),
        )


def add_request(
    session: Session,
    proposal: Proposal,
    kind: str,
    details: dict[str, Any],
    *,
    pool_id: int | None = None,
    bundle: str | None = None,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Request:
    _require_editable(proposal, now, session=session)
    amount, clean, _pool = validate_request(session, proposal.call, kind, pool_id, details)
    _check_bundle(proposal, bundle, pool_id)
    _check_total(proposal.call, [r.amount for r in proposal.requests] + [amount])
    req = Request(
        proposal_id=proposal.id,
        pool_id=pool_id,
        kind=kind,
        amount=amount,
        details=clean,
        bundle=bundle,
        position=max((r.position for r in proposal.requests), default=-1) + 1,
    )
    session.add(req)
    _save_edit(
        session,
        proposal,
        expected_version,
        "request.added",
        actor_id=actor_id,
        data={"kind": kind, "amount": amount},
        refresh=True,
    )
    return req


def update_request(
    session: Session,
    proposal: Proposal,
    request: Request,
    details: dict[str, Any],
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Request:
    _require_editable(proposal, now, session=session)
    if request.proposal_id != proposal.id:
        raise DomainError("Not a request of this proposal.", code="not_found")
    amount, clean, _ = validate_request(
        session, proposal.call, request.kind, request.pool_id, details
    )
    _check_total(
        proposal.call, [r.amount for r in proposal.requests if r.id != request.id] + [amount]
    )
    request.amount = amount
    request.details = clean
    _save_edit(
        session,
        proposal,
        expected_version,
        "request.edited",
        actor_id=actor_id,
    )
    return request


def remove_request(
    session: Session,
    proposal: Proposal,
    request: Request,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    _require_editable(proposal, now, session=session)
    if request.proposal_id != proposal.id:
        raise DomainError("Not a request of this proposal.", code="not_found")
    session.delete(request)
    _save_edit(
        session,
        proposal,
        expected_version,
        "request.removed",
        actor_id=actor_id,
        refresh=True,
    )


def submission_problems(proposal: Proposal) -> list[tuple[str, str]]:
    """Everything that blocks submission, as (field, message); empty when ready."""
    form = call_form(proposal.call.form)
    problems: list[tuple[str, str]] = []
    if not proposal.title.strip():
        problems.append(("title", "A title is required."))
    if not proposal.abstract.strip():
        problems.append(("abstract", "An abstract is required."))
    elif word_count(proposal.abstract) > form.abstract_max_words:
        problems.append(
            (
                "abstract",
                f"The abstract has {word_count(proposal.abstract)} words; "
                f"at most {form.abstract_max_words}.",
            )
        )
    if not proposal.science_case.strip():
        problems.append(("science_case", "A science case is required."))
    elif word_count(proposal.science_case) > form.science_case_max_words:
        problems.append(
            (
                "science_case",
                f"The science case has {word_count(proposal.science_case)} words; "
                f"at most {form.science_case_max_words}.",
            )
        )
    if not proposal.requests:
        problems.append(("requests", "Add at least one request."))
    bundles = [r.bundle for r in proposal.requests if r.bundle]
    for key in sorted({b for b in bundles if bundles.count(b) < 2}):
        problems.append(
            (
                "bundle",
                f"Bundle {key!r} has one request; an all-or-nothing bundle needs at least two "
                "requests of the same proposal.",
            )
        )
    if form.requires_pdf and not any(a.purpose == "scientific" for a in proposal.attachments):
        problems.append(("attachment", "This call requires a PDF of the scientific justification."))
    pi = [m for m in proposal.members if m.role == "pi"]
    if not pi or not pi[0].institution_name or not pi[0].country_iso3:
        problems.append(("team", "The PI needs an institution and a country."))
    return problems


def submit(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> ProposalRevision:
    """Freeze an immutable revision. Identical content returns the same revision.

    Serialised against the close and against a second click (:func:`lock_for_write`):
    the call's status and the proposal's revision are read again under the lock, so a
    submission either commits before the close freezes the call or is refused, and a
    double submit returns the revision of the first. ``now`` is when the request was
    received (the deadline is judged by it), not when it is processed."""
    now = now or utcnow()
    lock_for_write(session, proposal)
    if proposal.status not in ("draft", "submitted"):
        check_proposal_transition(proposal.status, "submitted")
    require_open(proposal.call.status, proposal.call.opens_at, proposal.call.closes_at, now)
    problems = submission_problems(proposal)
    if problems:
        raise DomainError(
            "The proposal cannot be submitted yet: %(problems)s",
            field=problems[0][0],
            code="incomplete",
            problems=" ".join((m for _, m in problems)),
        )
    # re-validate every request against the call as it is now
    for r in proposal.requests:
        validate_request(session, proposal.call, r.kind, r.pool_id, r.details)
    _check_total(proposal.call, [r.amount for r in proposal.requests])
    content = snapshot(proposal)
    digest = content_hash(content)
    existing = session.scalar(
        select(ProposalRevision).where(
            ProposalRevision.proposal_id == proposal.id, ProposalRevision.content_hash == digest
        )
    )
    if existing is not None and proposal.current_revision_id == existing.id:
        if proposal.status != "submitted":
            proposal.status = "submitted"
        return existing
    number = (
        session.scalar(
            select(func.max(ProposalRevision.number)).where(
                ProposalRevision.proposal_id == proposal.id
            )
        )
        or 0
    ) + 1
    rev = existing or ProposalRevision(
        proposal_id=proposal.id,
        number=number,
        content=content,
        content_hash=digest,
        created_by=actor_id,
    )
    if existing is None:
        session.add(rev)
        session.flush()
    before = proposal.status
    proposal.status = "submitted"
    proposal.current_revision_id = rev.id
    proposal.submitted_at = now
    session.flush()
    auditlog.record(
        session,
        "proposal.submitted",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"revision": rev.number, "hash": digest, "from": before},
    )
    return rev


def withdraw(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Proposal:
    lock_for_write(session, proposal)
    check_proposal_transition(proposal.status, "withdrawn")
    if proposal.status == "submitted":
        call = proposal.call
        require_open(call.status, call.opens_at, call.closes_at, now or utcnow())
    before = proposal.status
    proposal.status = "withdrawn"
    session.flush()
    auditlog.record(
        session,
        "proposal.withdrawn",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        reason=reason,
        data={"from": before},
    )
    return proposal


def reopen(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> Proposal:
    lock_for_write(session, proposal)
    check_proposal_transition(proposal.status, "draft")
    call = proposal.call
    require_open(call.status, call.opens_at, call.closes_at, now or utcnow())
    proposal.status = "draft"
    session.flush()
    auditlog.record(
        session, "proposal.reopened", "proposal", proposal.id, actor_id=actor_id, call_id=call.id
    )
    return proposal


def _restore_revision(session: Session, proposal: Proposal) -> None:
    rev = session.get(ProposalRevision, proposal.current_revision_id)
    if rev is None:
        return
    content = rev.content
    for key in ("title", "abstract", "science_case", "keywords", "area"):
        setattr(proposal, key, content.get(key, getattr(proposal, key)))
    frozen = [(r["kind"], r["pool_id"], r["amount"], r["details"]) for r in content["requests"]]
    if [(r.kind, r.pool_id, r.amount, r.details) for r in proposal.requests] == frozen:
        return
    for r in list(proposal.requests):
        session.delete(r)
    session.flush()
    for i, (kind, pool_id, amount, details) in enumerate(frozen):
        session.add(
            Request(
                proposal_id=proposal.id,
                pool_id=pool_id,
                kind=kind,
                amount=amount,
                details=details,
                position=i,
            )
        )
    session.flush()
    session.refresh(proposal)


def close_call_proposals(session: Session, call: Call, *, actor_id: int | None = None) -> int:
    """At close: submitted proposals move to review, and their last revision is what counts.

    Edits made after the last submission were never submitted: the proposal's text and
    requests are restored to the frozen revision, so that everything downstream (awards
    on request rows, the schedule, the public list) reads what was reviewed.
    """
    n = 0
    props = list(
        session.scalars(
            select(Proposal).where(Proposal.call_id == call.id, Proposal.status == "submitted")
        )
    )
    # their revisions and scans in one query each (not one per proposal); the revisions
    # stay in the identity map, where _restore_revision's session.get finds them
    revisions = list(
        session.scalars(
            select(ProposalRevision)
            .join(Proposal, Proposal.current_revision_id == ProposalRevision.id)
            .where(Proposal.call_id == call.id, Proposal.status == "submitted")
        )
    )
    scans: dict[int, list[AnonymityScan]] = {p.id: [] for p in props}
    if call.anonymity == "dual" and props:
        for sc in session.scalars(
            select(AnonymityScan)
            .join(Proposal, Proposal.id == AnonymityScan.proposal_id)
            .where(Proposal.call_id == call.id, Proposal.status == "submitted")
        ):
            scans[sc.proposal_id].append(sc)
    for p in props:
        check_proposal_transition(p.status, "under_review")
        _restore_revision(session, p)
        p.status = "under_review"
        n += 1
        request_anonymity_scans(session, p, actor_id=actor_id, existing=scans[p.id])
    del revisions
    session.flush()
    auditlog.record(
        session,
        "call.proposals_frozen",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        data={"proposals": n},
    )
    return n


def close_call(
    session: Session,
    call: Call,
    *,
    actor_id: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> int:
    """Close a call and freeze its submitted proposals for review (one unit of work).

    The call is locked first (:func:`lock_call_for_close`): submissions in flight finish
    before, later ones see the call closed and are refused, so none is left behind."""
    from opencall.calls.services import change_status

    lock_call_for_close(session, call)

    change_status(session, call, "closed", actor_id=actor_id, reason=reason, now=now)
    return close_call_proposals(session, call, actor_id=actor_id)


# ---------------------------------------------------------------- attachments (PDF)

PDF_MAGIC = pdfsafe.PDF_MAGIC
MSG_NOT_PDF = "This file is not a PDF."
MSG_UNREADABLE = "This PDF cannot be read; it may be damaged."
MSG_ENCRYPTED = "Password-protected PDFs cannot be accepted."
MSG_POLYGLOT = (
    "This file is a PDF combined with another kind of file (such as a ZIP archive); "
    "export a plain PDF and upload it again."
)
MSG_BOMB = (
    "This PDF holds content that expands to more than %(mb)s MB; export it again "
    "with smaller images or figures."
)
MSG_TOO_COMPLEX = (
    "This PDF is too complex to check in reasonable time; export it again "
    "(for example with simpler figures)."
)


def _clean_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '"<>|:*?').strip() or "document"
    if not base.lower().endswith(".pdf"):
        base += ".pdf"
    return base[-120:]


def _store(where: Path | Storage) -> Storage:
    return LocalStorage(where) if isinstance(where, str | Path) else where


def store_blob(where: Path | Storage, data: bytes) -> str:
    """Write bytes once under their sha256 (outside the web root); returns the storage key.

    The one place that writes attachment files, through the storage backend (a local
    directory, or an S3-compatible bucket: ``opencall.storage``)."""
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}.pdf"
    store = _store(where)
    if not store.exists(key):
        store.put(key, data)
    return key


def read_blob(where: Path | Storage, key: str) -> bytes:
    """The bytes stored under ``key`` (the one place that reads attachment files)."""
    data = _store(where).get(key)
    if data is None:
        raise FileNotFoundError(key)
    return data


def attachment_path(upload_dir: Path, attachment: Attachment) -> Path:
    """The original as uploaded: for the user office (and the scan job) only."""
    return Path(upload_dir) / attachment.storage_key


def clean_attachment_path(upload_dir: Path, attachment: Attachment) -> Path | None:
    """The rewritten copy that reviewers, technical reviewers, chairs and the team get;
    None for a file stored before copies were made (never fall back to the original)."""
    if not attachment.clean_storage_key:
        return None
    return Path(upload_dir) / attachment.clean_storage_key


def pdf_limits(settings: Settings) -> pdfsafe.Limits:
    """The bounds on one PDF's work, from the settings."""
    return pdfsafe.Limits(
        max_stream_bytes=settings.pdf_max_stream_mb * 1024 * 1024,
        max_page_content_bytes=settings.pdf_max_page_content_kb * 1024,
        time_s=settings.pdf_time_limit_s,
        scan_time_s=settings.pdf_scan_time_limit_s,
        memory_bytes=settings.pdf_memory_limit_mb * 1024 * 1024,
    )


def _refusal(exc: pdfsafe.PdfRefused, max_pages: int) -> DomainError:
    if exc.code == "not_pdf":
        msg = MSG_NOT_PDF
    elif exc.code == "encrypted":
        msg = MSG_ENCRYPTED
    elif exc.code == "polyglot":
        msg = MSG_POLYGLOT
    elif exc.code == "too_many_pages":
        msg = f"The PDF has {exc.value} pages; this call allows at most {max_pages}."
    elif exc.code == "bomb":
        msg = MSG_BOMB % {"mb": exc.value // (1024 * 1024)}
    elif exc.code in ("too_complex", "time_limit"):
        msg = MSG_TOO_COMPLEX
    else:
        msg = MSG_UNREADABLE
    return DomainError.composed(msg, field="pdf")


def attachment_bytes(storage: Storage, attachment: Attachment) -> bytes | None:
    """The original as uploaded, from whichever backend holds it (the user office's)."""
    return storage.get(attachment.storage_key)


def clean_attachment_bytes(storage: Storage, attachment: Attachment) -> bytes | None:
    """The rewritten copy everyone but the user office gets; None for a file stored before
    copies were made (never fall back to the original)."""
    if not attachment.clean_storage_key:
        return None
    return storage.get(attachment.clean_storage_key)


def add_attachment(
    session: Session,
    proposal: Proposal,
    data: bytes,
    filename: str,
    *,
    upload_dir: Path | None = None,
    storage: Storage | None = None,
    max_bytes: int,
    purpose: str = "scientific",
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
    limits: pdfsafe.Limits | None = None,
) -> Attachment:
    """Store a PDF for the proposal (replacing an earlier one of the same purpose).

    The content is checked, not the name (``pdfsafe``): polyglots, files whose
    structure does not parse, encrypted files, files over the call's page limit and
    decompression bombs are refused and nothing changes. Two files are kept: the
    original (the user office's) and a rewritten copy without metadata, scripts,
    actions, embedded files, annotations and form fields (everyone else's). Both
    are written once under their sha256, so a frozen revision's file never changes.
    The anonymity scan of the file is queued as a job.
    """
    _require_editable(proposal, now, session=session)
    if not data:
        raise DomainError("The file is empty.", field="pdf")
    if len(data) > max_bytes:
        raise DomainError(
            "The file is too large (%(size)s MB; at most %(max)s MB).",
            field="pdf",
            size=format(len(data) / 1000000.0, ".1f"),
            max=format(max_bytes / 1000000.0, ".1f"),
        )
    form = call_form(proposal.call.form)
    limits = replace(limits or pdfsafe.Limits(), max_pages=form.max_pdf_pages)
    try:
        cleaned = pdfsafe.clean(data, limits)
    except pdfsafe.PdfRefused as exc:
        raise _refusal(exc, form.max_pdf_pages) from exc
    pages = cleaned.pages
    digest = hashlib.sha256(data).hexdigest()
    if storage is None:
        if upload_dir is None:
            raise ValueError("add_attachment needs a storage (or an upload_dir)")
        storage = LocalStorage(upload_dir)
    key = store_blob(storage, data)
    clean_key = store_blob(storage, cleaned.data)
    for old in [a for a in proposal.attachments if a.purpose == purpose]:
        session.delete(old)
    att = Attachment(
        proposal_id=proposal.id,
        purpose=purpose,
        filename=_clean_filename(filename),
        content_type="application/pdf",
        size=len(data),
        pages=pages,
        sha256=digest,
        storage_key=key,
        clean_storage_key=clean_key,
        clean_size=len(cleaned.data),
        uploaded_by=actor_id,
    )
    session.add(att)
    _save_edit(
        session,
        proposal,
        expected_version,
        "attachment.added",
        actor_id=actor_id,
        data={
            "sha256": digest,
            "pages": pages,
            "size": len(data),
            "removed": list(cleaned.removed),
        },
        refresh=True,
    )
    request_anonymity_scans(session, proposal, actor_id=actor_id)
    return att


def clean_stored_attachments(
    session: Session, *, upload_dir: Path | Storage, limits: pdfsafe.Limits | None = None
) -> tuple[int, list[tuple[int, str]]]:
    """Make the rewritten copy of every attachment stored before copies were made
    (until then reviewers get no file for it, never the original) and queue the
    anonymity scans every dual-anonymous proposal lacks. Returns (copies made,
    [(attachment id, why refused)])."""
    made, refused = 0, []
    for att in session.scalars(
        select(Attachment).where(Attachment.clean_storage_key.is_(None)).order_by(Attachment.id)
    ):
        try:
            cleaned = pdfsafe.clean(read_blob(upload_dir, att.storage_key), limits)
        except pdfsafe.PdfRefused as exc:
            refused.append((att.id, exc.code))
            continue
        except OSError as exc:
            refused.append((att.id, f"unreadable: {exc}"))
            continue
        att.clean_storage_key = store_blob(upload_dir, cleaned.data)
        att.clean_size = len(cleaned.data)
        made += 1
        auditlog.record(
            session,
            "attachment.cleaned",
            "proposal",
            att.proposal_id,
            call_id=att.proposal.call_id,
            data={"attachment_id": att.id, "removed": list(cleaned.removed)},
        )
    # and every proposal of a dual-anonymous call gets its cached scans (rows stored
    # before scans were cached have none: the pages would show "still running")
    for prop in session.scalars(
        select(Proposal)
        .join(Call, Call.id == Proposal.call_id)
        .where(Call.anonymity == "dual", Proposal.status != "withdrawn")
        .order_by(Proposal.id)
    ):
        request_anonymity_scans(session, prop)
    session.flush()
    return made, refused


# ---------------------------------------------------------------- anonymity scans (cached)

SCAN_JOB = "proposal.anonymity_scan"


def request_anonymity_scans(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    existing: list[AnonymityScan] | None = None,
) -> int:
    """Queue a scan for each part of a dual-anonymous proposal not scanned as it is now.

    Called by every service that changes the text, the team or the files; the job
    scans once per version (keyed by content and team), pages read the cache. The
    jobs carry no call (they are the applicant's, not steps of the chair's cockpit)."""
    if proposal.call.anonymity != "dual":
        return 0
    if existing is None:  # (a caller handling many proposals reads their scans at once)
        existing = list(
            session.scalars(select(AnonymityScan).where(AnonymityScan.proposal_id == proposal.id))
        )
    rows = {sc.key: sc for sc in existing}
    n = 0
    for subject, att, key in queries.scan_keys(proposal):
        old = rows.get(key)
        if old is not None and old.status != "superseded":
            continue
        if old is not None:  # back to a version whose scan was skipped: scan it now
            old.status, old.error = "queued", ""
            session.flush()
            jobs.enqueue(session, SCAN_JOB, {"scan_id": old.id}, max_attempts=2)
            n += 1
            continue
        try:
            with session.begin_nested():  # a concurrent request may have queued it
                scan = AnonymityScan(
                    proposal_id=proposal.id,
                    attachment_id=att.id if att is not None else None,
                    subject=subject,
                    key=key,
                    status="queued",
                    findings=[],
                    notes=[],
                )
                session.add(scan)
                session.flush()
        except IntegrityError:
            continue
        rows[key] = scan
        jobs.enqueue(
            session,
            SCAN_JOB,
            {"scan_id": scan.id},
            created_by=actor_id,
            max_attempts=2,
        )
        n += 1
    return n


def _finding_doc(where: str, f: Finding) -> dict[str, Any]:
    return {"where": where, "kind": f.kind, "text": f.matched_text[:300], "page": f.page}


def run_anonymity_scan(
    session: Session,
    scan_id: int,
    *,
    upload_dir: Path | Storage,
    limits: pdfsafe.Limits | None = None,
) -> AnonymityScan | None:
    """The job: scan one version of the text or one attachment and cache the findings.

    A PDF is read in a child process within ``limits`` (pages, decoded size per
    page, time); its page text, metadata (Info, XMP), embedded-file names,
    annotations, form fields and scripts are all scanned. What could not be read
    in full is kept as notes for the applicant."""
    scan = session.get(AnonymityScan, scan_id)
    if scan is None or scan.status == "done":
        return scan
    proposal = session.get(Proposal, scan.proposal_id)
    if proposal is None:
        return None
    team = queries.team_identities(proposal)
    findings: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    if scan.subject == "text":
        if scan.key != queries.text_scan_key(proposal):
            scan.status, scan.error = "superseded", "the text or team changed before the scan ran"
        else:
            findings = [_finding_doc(w, f) for w, f in queries.anonymity_findings(proposal)]
            scan.status = "done"
    else:
        att = session.get(Attachment, scan.attachment_id) if scan.attachment_id else None
        if att is None or scan.key != queries.attachment_scan_key(proposal, att):
            scan.status, scan.error = "superseded", "the file or team changed before the scan ran"
        else:
            try:
                data = read_blob(upload_dir, att.storage_key)
            except OSError as exc:
                data = b""
                scan.error = f"file not readable: {exc}"
            if data:
                ins = pdfsafe.inspect(data, limits)
                for f in scan_pages(ins.pages, team):
                    findings.append(_finding_doc("pdf_text", f))
                for where, text in dict.fromkeys(ins.strings):
                    kind = where.split(":", 1)[0]
                    label = {"info": "pdf_metadata", "xmp": "pdf_metadata"}.get(kind, f"pdf_{kind}")
                    for f in scan_label(text, team):
                        findings.append(_finding_doc(label, f))
                notes = [{"code": c, "page": n} for c, n in ins.notes]
                scan.status = "done"
            else:
                scan.status = "failed"
    scan.findings = findings
    scan.notes = notes
    scan.finished_at = utcnow()
    session.flush()
    return scan


def remove_attachment(
    session: Session,
    proposal: Proposal,
    attachment: Attachment,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Remove the row; the file stays (a submitted revision may point at it)."""
    _require_editable(proposal, now, session=session)
    if attachment.proposal_id != proposal.id:
        raise DomainError("Not an attachment of this proposal.", code="not_found")
    session.delete(attachment)
    _save_edit(
        session,
        proposal,
        expected_version,
        "attachment.removed",
        actor_id=actor_id,
        data={"sha256": attachment.sha256},
        refresh=True,
    )


# ---------------------------------------------------------------- reads for the applicant's pages


def member_proposals(session: Session, user_id: int) -> list[Proposal]:
    """Proposals where the user is an accepted team member, latest first."""
    stmt = (
        select(Proposal)
        .join(TeamMember, TeamMember.proposal_id == Proposal.id)
        .where(TeamMember.user_id == user_id, TeamMember.status == "accepted")
        .order_by(Proposal.updated_at.desc(), Proposal.id.desc())
    )
    return list(session.scalars(stmt).unique())


def open_invitations(session: Session, email: str) -> list[TeamMember]:
    """Invitations waiting for an answer from this address."""
    stmt = (
        select(TeamMember)
        .where(TeamMember.email == email, TeamMember.status == "invited")
        .order_by(TeamMember.id)
    )
    return list(session.scalars(stmt))
