"""The applicant's path: create, edit, team, requests, submit, withdraw.

Every function validates first and changes nothing when it raises; the
caller's unit of work commits. Every change is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from io import BytesIO
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.domain import require_open
from opencall.calls.models import Call
from opencall.calls.schemas import call_form
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities.models import CapacityPool
from opencall.people.models import Country, User
from opencall.people.services import get_or_create_institution
from opencall.proposals.domain import check_proposal_transition, content_hash, word_count
from opencall.proposals.models import (
    Attachment,
    Proposal,
    ProposalRevision,
    Request,
    TeamMember,
)
from opencall.proposals.schemas import (
    DETAILS,
    POOL_TYPE_FOR_KIND,
    MemberInvite,
    ProposalUpdate,
)
from opencall.storage import LocalStorage, Storage

KIND_FOR_FACILITY = {
    "telescope": ("fast",),
    "vessel": ("berth", "dive"),
    "samples": ("sample",),
    "programme": ("seat", "package"),
}


def _validation_message(exc: ValidationError, prefix: str = "") -> DomainError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    where = f"{prefix}{loc}" if loc else prefix.rstrip(".")
    return DomainError(f"{where}: {msg}" if where else msg, field=where or None)


def _require_editable(proposal: Proposal, now: dt.datetime | None = None) -> None:
    if proposal.status not in ("draft", "submitted"):
        raise DomainError(
            f"This proposal is {proposal.status} and can no longer be edited.", code="locked"
        )
    call = proposal.call
    require_open(call.status, call.opens_at, call.closes_at, now or utcnow())


def _touch(proposal: Proposal, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != proposal.version:
        raise DomainError(
            "This proposal was changed elsewhere since you opened it; your text is kept "
            "below — review the latest version and save again.",
            code="stale",
        )
    proposal.version += 1
    proposal.updated_at = utcnow()


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
    title = " ".join(title.split())
    form = call_form(call.form)
    if not title:
        raise DomainError("A title is required.", field="title")
    if len(title) > form.title_max_chars:
        raise DomainError(
            f"The title is too long ({len(title)} characters; at most {form.title_max_chars}).",
            field="title",
        )
    if pi.institution_id is None or pi.country_iso3 is None:
        raise DomainError(
            "Add your institution and country to your account before creating a proposal.",
            field="institution",
        )
    n = session.scalar(select(func.count(Proposal.id)).where(Proposal.call_id == call.id)) or 0
    prop = Proposal(
        call_id=call.id,
        code=f"{call.code}-{n + 1:04d}",
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
    return prop


def update_proposal(
    session: Session,
    proposal: Proposal,
    data: dict[str, Any],
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Proposal:
    _require_editable(proposal, now)
    try:
        upd = ProposalUpdate.model_validate(data)
    except ValidationError as exc:
        raise _validation_message(exc) from exc
    form = call_form(proposal.call.form)
    if upd.title is not None:
        t = " ".join(upd.title.split())
        if not t:
            raise DomainError("A title is required.", field="title")
        if len(t) > form.title_max_chars:
            raise DomainError(
                f"The title is too long ({len(t)} characters; at most {form.title_max_chars}).",
                field="title",
            )
    # drafts may exceed word limits while being written; submit enforces them
    _touch(proposal, expected_version)
    for key, value in upd.model_dump(exclude_none=True).items():
        setattr(proposal, key, " ".join(value.split()) if key == "title" else value)
    session.flush()
    auditlog.record(
        session,
        "proposal.edited",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"fields": sorted(upd.model_dump(exclude_none=True))},
    )
    return proposal


def invite_member(
    session: Session,
    proposal: Proposal,
    data: dict[str, Any],
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> TeamMember:
    _require_editable(proposal, now)
    try:
        inv = MemberInvite.model_validate(data)
    except ValidationError as exc:
        raise _validation_message(exc) from exc
    from email_validator import EmailNotValidError, validate_email

    try:
        email = validate_email(inv.email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(f"Invalid e-mail address: {exc}", field="email") from exc
    if any(m.email == email for m in proposal.members):
        raise DomainError("This person is already on the team.", field="email")
    if session.get(Country, inv.country_iso3.upper()) is None:
        raise DomainError(f"Unknown country code {inv.country_iso3!r}.", field="country_iso3")
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
    _touch(proposal, None)
    session.flush()
    session.refresh(proposal)
    auditlog.record(
        session,
        "team.invited",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"member_id": member.id},
    )
    return member


def respond_to_invitation(
    session: Session, member: TeamMember, user: User, *, accept: bool
) -> TeamMember:
    if member.email != user.email:
        raise DomainError("This invitation was sent to another e-mail address.", code="forbidden")
    if member.status != "invited":
        raise DomainError(f"This invitation was already {member.status}.")
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
    return member


def remove_member(
    session: Session,
    proposal: Proposal,
    member: TeamMember,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    _require_editable(proposal, now)
    if member.proposal_id != proposal.id:
        raise DomainError("Not a member of this proposal.", code="not_found")
    if member.role == "pi":
        raise DomainError("The principal investigator cannot be removed.")
    session.delete(member)
    _touch(proposal, None)
    session.flush()
    session.refresh(proposal)
    auditlog.record(
        session,
        "team.removed",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
    )


def validate_request(
    session: Session, call: Call, kind: str, pool_id: int | None, details: dict[str, Any]
) -> tuple[float, dict[str, Any], CapacityPool | None]:
    """Validate one request against the call; returns (amount, clean details, pool)."""
    facility = call.facility
    if kind not in KIND_FOR_FACILITY.get(facility.kind, ()):
        raise DomainError(
            f"A {facility.kind} call takes requests of kind "
            f"{', '.join(KIND_FOR_FACILITY[facility.kind])}, not {kind!r}.",
            field="kind",
        )
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
        attrs = facility.attributes
        if doc.receiver not in form.receivers:  # type: ignore[attr-defined]
            raise DomainError(
                f"Receiver {doc.receiver!r} is not offered in this call "  # type: ignore[attr-defined]
                f"(offered: {', '.join(form.receivers)}).",
                field="details.receiver",
            )
        if doc.mode not in form.modes:  # type: ignore[attr-defined]
            raise DomainError(
                f"Mode {doc.mode!r} is not offered in this call "  # type: ignore[attr-defined]
                f"(offered: {', '.join(form.modes)}).",
                field="details.mode",
            )
        targets = doc.targets  # type: ignore[attr-defined]
        if len(targets) > form.max_targets:
            raise DomainError(
                f"Too many targets ({len(targets)}; at most {form.max_targets}).",
                field="details.targets",
            )
        lo, hi = attrs["dec_min_deg"], attrs["dec_max_deg"]
        for i, t in enumerate(targets):
            if not lo <= t.dec_deg <= hi:
                raise DomainError(
                    f"Target {t.name!r} at declination {t.dec_deg:+.2f}° is outside the sky "
                    f"this telescope can reach ({lo:+.0f}° to {hi:+.0f}°).",
                    field=f"details.targets.{i}.dec_deg",
                )
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
                f"Pool {pool.name!r} offers {pool.unit}, which a {kind} request cannot use.",
                field="pool_id",
            )
        if kind == "berth":
            amount = float(doc.berths)  # type: ignore[attr-defined]
        elif kind == "dive":
            max_depth = pool.attributes.get("max_depth_m") or facility.attributes.get(
                "max_dive_depth_m"
            )
            for i, site in enumerate(doc.sites):  # type: ignore[attr-defined]
                if max_depth is not None and site.depth_m > max_depth:
                    raise DomainError(
                        f"Dive site {site.name!r} at {site.depth_m:g} m is deeper than the "
                        f"submersible's limit of {max_depth:g} m.",
                        field=f"details.sites.{i}.depth_m",
                    )
            amount = float(len(doc.sites))  # type: ignore[attr-defined]
        elif kind == "sample":
            if doc.sample_type != pool.attributes.get("sample_type"):  # type: ignore[attr-defined]
                raise DomainError(
                    f"Pool {pool.name!r} holds {pool.attributes.get('sample_type')!r}, "
                    f"not {doc.sample_type!r}.",  # type: ignore[attr-defined]
                    field="details.sample_type",
                )
            amount = float(doc.mass_mg)  # type: ignore[attr-defined]
        elif kind == "seat":
            if doc.technology != pool.attributes.get("technology"):  # type: ignore[attr-defined]
                raise DomainError(
                    f"Session {pool.name!r} teaches {pool.attributes.get('technology')!r}.",
                    field="details.technology",
                )
            amount = float(doc.seats)  # type: ignore[attr-defined]
        else:  # package
            if doc.technology != pool.attributes.get("technology"):  # type: ignore[attr-defined]
                raise DomainError(
                    f"Pool {pool.name!r} offers {pool.attributes.get('technology')!r} packages.",
                    field="details.technology",
                )
            amount = float(doc.packages)  # type: ignore[attr-defined]
        if amount > cp.amount:
            raise DomainError(
                f"The request ({amount:g} {pool.unit}) exceeds what the call offers in "
                f"{pool.name!r} ({cp.amount:g} {pool.unit}).",
                field="amount",
            )
        if cp.max_per_request is not None and amount > cp.max_per_request:
            raise DomainError(
                f"The request ({amount:g} {pool.unit}) exceeds the limit per request of "
                f"{cp.max_per_request:g} {pool.unit} in {pool.name!r}.",
                field="amount",
            )
    return amount, clean, pool


def _check_total(call: Call, requests_amounts: list[float]) -> None:
    form = call_form(call.form)
    total = sum(requests_amounts)
    if form.max_amount_per_proposal is not None and total > form.max_amount_per_proposal + 1e-9:
        raise DomainError(
            f"The proposal asks for {total:g} in total; this call allows at most "
            f"{form.max_amount_per_proposal:g} per proposal.",
            field="amount",
        )


def add_request(
    session: Session,
    proposal: Proposal,
    kind: str,
    details: dict[str, Any],
    *,
    pool_id: int | None = None,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> Request:
    _require_editable(proposal, now)
    amount, clean, _pool = validate_request(session, proposal.call, kind, pool_id, details)
    _check_total(proposal.call, [r.amount for r in proposal.requests] + [amount])
    req = Request(
        proposal_id=proposal.id,
        pool_id=pool_id,
        kind=kind,
        amount=amount,
        details=clean,
        position=max((r.position for r in proposal.requests), default=-1) + 1,
    )
    session.add(req)
    _touch(proposal, None)
    session.flush()
    session.refresh(proposal)
    auditlog.record(
        session,
        "request.added",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"kind": kind, "amount": amount},
    )
    return req


def update_request(
    session: Session,
    proposal: Proposal,
    request: Request,
    details: dict[str, Any],
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> Request:
    _require_editable(proposal, now)
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
    _touch(proposal, None)
    session.flush()
    auditlog.record(
        session,
        "request.edited",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
    )
    return request


def remove_request(
    session: Session,
    proposal: Proposal,
    request: Request,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    _require_editable(proposal, now)
    if request.proposal_id != proposal.id:
        raise DomainError("Not a request of this proposal.", code="not_found")
    session.delete(request)
    _touch(proposal, None)
    session.flush()
    session.refresh(proposal)
    auditlog.record(
        session,
        "request.removed",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
    )


def snapshot(proposal: Proposal) -> dict[str, Any]:
    """The content a submission freezes (and reviewers see, anonymised where required)."""
    return {
        "title": proposal.title,
        "abstract": proposal.abstract,
        "science_case": proposal.science_case,
        "keywords": proposal.keywords,
        "area": proposal.area,
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
            {"kind": r.kind, "pool_id": r.pool_id, "amount": r.amount, "details": r.details}
            for r in proposal.requests
        ],
        "attachments": [
            {"filename": a.filename, "sha256": a.sha256, "pages": a.pages, "purpose": a.purpose}
            for a in proposal.attachments
        ],
    }


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
    """Freeze an immutable revision. Identical content returns the same revision."""
    now = now or utcnow()
    if proposal.status not in ("draft", "submitted"):
        check_proposal_transition(proposal.status, "submitted")
    require_open(proposal.call.status, proposal.call.opens_at, proposal.call.closes_at, now)
    problems = submission_problems(proposal)
    if problems:
        raise DomainError(
            "The proposal cannot be submitted yet: " + " ".join(m for _, m in problems),
            field=problems[0][0],
            code="incomplete",
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
    for p in session.scalars(
        select(Proposal).where(Proposal.call_id == call.id, Proposal.status == "submitted")
    ):
        check_proposal_transition(p.status, "under_review")
        _restore_revision(session, p)
        p.status = "under_review"
        n += 1
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
    """Close a call and freeze its submitted proposals for review (one unit of work)."""
    from opencall.calls.services import transition_call

    transition_call(session, call, "closed", actor_id=actor_id, reason=reason, now=now)
    return close_call_proposals(session, call, actor_id=actor_id)


# ---------------------------------------------------------------- attachments (PDF)

PDF_MAGIC = b"%PDF-"


def _clean_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '"<>|:*?').strip() or "document"
    if not base.lower().endswith(".pdf"):
        base += ".pdf"
    return base[-120:]


def attachment_path(upload_dir: Path, attachment: Attachment) -> Path:
    """Where the bytes lie with the local backend: outside the web root, under their sha256."""
    return Path(upload_dir) / attachment.storage_key


def attachment_bytes(storage: Storage, attachment: Attachment) -> bytes | None:
    """The stored bytes of an attachment, from whichever backend holds them."""
    return storage.get(attachment.storage_key)


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
    now: dt.datetime | None = None,
) -> Attachment:
    """Store a PDF for the proposal (replacing an earlier one of the same purpose).

    The content is checked, not the name: it must start like a PDF and parse with
    pypdf; its page count is stored and held to the call's limit. Bytes are
    written once under their sha256, so a frozen revision's file never changes.
    """
    _require_editable(proposal, now)
    if not data:
        raise DomainError("The file is empty.", field="pdf")
    if len(data) > max_bytes:
        raise DomainError(
            f"The file is too large ({len(data) / 1e6:.1f} MB; at most {max_bytes / 1e6:.1f} MB).",
            field="pdf",
        )
    if not data.startswith(PDF_MAGIC):
        raise DomainError("This file is not a PDF.", field="pdf")
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted:
            raise DomainError("Password-protected PDFs cannot be accepted.", field="pdf")
        pages = len(reader.pages)
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure means an unreadable file
        raise DomainError("This PDF cannot be read; it may be damaged.", field="pdf") from exc
    if pages < 1:
        raise DomainError("This PDF cannot be read; it may be damaged.", field="pdf")
    form = call_form(proposal.call.form)
    if pages > form.max_pdf_pages:
        raise DomainError(
            f"The PDF has {pages} pages; this call allows at most {form.max_pdf_pages}.",
            field="pdf",
        )
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}.pdf"
    if storage is None:
        if upload_dir is None:
            raise ValueError("add_attachment needs a storage (or an upload_dir)")
        storage = LocalStorage(upload_dir)
    if not storage.exists(key):
        storage.put(key, data)
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
        uploaded_by=actor_id,
    )
    session.add(att)
    _touch(proposal, None)
    session.flush()
    session.refresh(proposal)
    auditlog.record(
        session,
        "attachment.added",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"sha256": digest, "pages": pages, "size": len(data)},
    )
    return att


def remove_attachment(
    session: Session,
    proposal: Proposal,
    attachment: Attachment,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Remove the row; the file stays (a submitted revision may point at it)."""
    _require_editable(proposal, now)
    if attachment.proposal_id != proposal.id:
        raise DomainError("Not an attachment of this proposal.", code="not_found")
    session.delete(attachment)
    _touch(proposal, None)
    session.flush()
    session.refresh(proposal)
    auditlog.record(
        session,
        "attachment.removed",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"sha256": attachment.sha256},
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
