"""A proposal's own life: create and edit the draft, what blocks submission,
submit (a frozen revision), withdraw and reopen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, object_session

from opencall.calls.domain import eligible_income_group, is_open_at
from opencall.calls.models import Call
from opencall.calls.schemas import TITLE_MAX_CHARS, call_form
from opencall.db import utcnow
from opencall.errors import DomainError, Localized, Sentences
from opencall.facilities import domain as fac_domain
from opencall.facilities.domain import parse_fields
from opencall.inputs import one_line, plain_number
from opencall.people.domain import mailbox_key
from opencall.people.models import Country, User
from opencall.people.queries import same_mailbox
from opencall.proposals.domain import (
    COUNTED,
    WITHDRAWABLE_CALL,
    check_proposal_transition,
    content_hash,
    revision_facts,
    word_count,
)
from opencall.proposals.models import (
    Proposal,
    ProposalCounter,
    ProposalRevision,
    RevisionFact,
    TeamMember,
)
from opencall.proposals.queries import snapshot, submission_due
from opencall.proposals.schemas import ProposalUpdate
from opencall.proposals.services.editing import (
    COLLECTIONS,
    audit,
    flush_edit,
    lock_for_write,
    require_call_open,
    require_editable,
    require_proposal_open,
    touch,
    validated,
)
from opencall.proposals.services.language import KEEP, Keep, checked_language, record_language
from opencall.proposals.services.requests import _check_total, validate_request
from opencall.proposals.services.scans import request_anonymity_scans


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
    language: str | None = None,
    now: dt.datetime | None = None,
    reuse_recent: bool = False,
) -> Proposal:
    """A new draft with the next code of the call; the PI is its first member.

    ``reuse_recent`` (the site's "Start a proposal" and the API): when the same PI made
    a draft of the same title and text in this call less than :data:`RESTART_WINDOW`
    ago, untouched since, that draft is returned instead of a second one (a double click, or a retry
    whose first answer was lost). Creations in one call queue for the call's code
    counter first, so two clicks arriving at the same instant make one draft too.
    ``language`` (ISO 639; empty or None: not stated) is part of the draft as made, so a
    retry stating it finds it (trialrev19); a code that is not a language makes none."""
    require_call_open(call, now)
    title = _clean_title(call, title)
    code = checked_language(language or None)
    if pi.institution_id is None or pi.country_iso3 is None:
        raise DomainError(
            "Add your institution and country to your account before creating a proposal.",
            field="institution",
        )
    if reuse_recent:
        _lock_counter(session, call)
        recent = session.scalar(
            select(Proposal)
            .where(
                Proposal.call_id == call.id,
                Proposal.pi_user_id == pi.id,
                Proposal.status == "draft",
                Proposal.title == title,
                Proposal.abstract == abstract,
                Proposal.science_case == science_case,
                Proposal.keywords == keywords,
                Proposal.area == area,
                Proposal.language.is_not_distinct_from(code),
                Proposal.created_at > utcnow() - RESTART_WINDOW,
                # untouched since it was made: a draft someone worked on is theirs
                Proposal.version == 1,
            )
            .order_by(Proposal.id.desc())
            .limit(1)
        )
        if recent is not None:
            return recent
    _check_unsubmitted(session, call, pi)
    prop = Proposal(
        call_id=call.id,
        code=_next_code(session, call),
        pi_user_id=pi.id,
        title=title,
        abstract=abstract,
        science_case=science_case,
        keywords=keywords,
        area=area,
        language=code,
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
    session.refresh(prop, COLLECTIONS)  # the PI among the members
    audit(session, prop, "proposal.created", actor_id=pi.id)
    record_language(session, prop, None, actor_id=pi.id)
    request_anonymity_scans(session, prop, actor_id=pi.id)
    return prop


#: proposals never submitted (drafts, and drafts withdrawn) that one PI may hold in one
#: call: a script with an account could otherwise start drafts without end, each with
#: the call's next code and an audit event (trialcrowd13)
MAX_UNSUBMITTED = 20


#: submitted versions (revisions) one proposal keeps: each is a whole copy of the
#: proposal (its text, team and up to 100 requests) kept for good, with an audit event and
#: a receipt; changing one character and submitting again, a script made them without end
#: (trialcrowd15). Submitting content of an earlier revision again makes none.
MAX_REVISIONS = 100


def _check_unsubmitted(session: Session, call: Call, pi: User) -> None:
    # the accounts of one mailbox (made before round 17 refused aliases) are one PI
    # (trialcrowd18): the call's drafts of an account whose address may share the PI's
    # mailbox (a LIKE pattern, judged here), read through the call's proposals
    key = mailbox_key(pi.email)
    rows = session.execute(
        select(Proposal.pi_user_id, User.email)
        .join(User, User.id == Proposal.pi_user_id)
        .where(
            Proposal.call_id == call.id,
            Proposal.current_revision_id.is_(None),
            or_(Proposal.pi_user_id == pi.id, same_mailbox(User.email, pi.email)),
        )
    )
    held = sum(1 for uid, email in rows if uid == pi.id or mailbox_key(email) == key)
    if held >= MAX_UNSUBMITTED:
        raise DomainError(
            "You already have %(n)s proposals in this call that were never submitted; "
            "finish one of them (or reopen one you withdrew) instead of starting another.",
            field="form",
            n=MAX_UNSUBMITTED,
        )


#: the longest title any call may allow (the ``proposals.title`` column's length)
TITLE_COLUMN_CHARS = TITLE_MAX_CHARS


def title_limit(call: Call) -> int:
    """The one limit of a proposal title in ``call``: its form's ``title_max_chars`` (200
    by default), never more than the column holds. The pages, the API and
    :func:`update_proposal` leave the check to the services (no copy of it)."""
    return min(call_form(call.form).title_max_chars, TITLE_COLUMN_CHARS)


def _clean_title(call: Call, title: str) -> str:
    """``title`` on one line, refused when empty (or invisible) or over the call's limit."""
    title = one_line(title)
    if not title:
        raise DomainError("A title is required.", field="title")
    max_chars = title_limit(call)
    if len(title) > max_chars:
        raise DomainError(
            "The title is too long (%(n)s characters; at most %(max)s).",
            field="title",
            n=len(title),
            max=max_chars,
        )
    return title


# a second "start" of the same draft within this time returns the first, while nobody
# has edited it (reuse_recent): a double click, or a retry on a slow link whose first
# answer was lost (a browser waits minutes for an answer before the person tries again)
RESTART_WINDOW = dt.timedelta(minutes=30)


def _counter_row(session: Session, call: Call) -> None:
    """The call's code counter row, made (seeded with its count of proposals) if missing."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    seed = select(func.count(Proposal.id)).where(Proposal.call_id == call.id).scalar_subquery()
    session.execute(
        insert(ProposalCounter)
        .values(call_id=call.id, last=seed)
        .on_conflict_do_nothing(index_elements=["call_id"])
    )


def _lock_counter(session: Session, call: Call) -> None:
    """Take the call's code counter row under a lock held until the caller commits:
    creations in the call queue here."""
    _counter_row(session, call)
    session.execute(
        update(ProposalCounter)
        .where(ProposalCounter.call_id == call.id)
        .values(last=ProposalCounter.last)
        .execution_options(synchronize_session=False)
    )


def _next_code(session: Session, call: Call) -> str:
    """The call's next proposal code, from its counter row taken under a row lock (the
    lock is held until the caller commits, so concurrent creations queue for it)."""
    _counter_row(session, call)
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
    language: str | None | Keep = KEEP,
) -> Proposal:
    """Change the text fields in ``data`` and, unless ``KEEP``, the language (empty or
    None: not stated), against ``expected_version``: one change, one version more
    (trialrev19: text and language together moved it twice). Every field is checked
    first; a refusal changes nothing."""
    require_editable(proposal, now, session=session)
    upd = validated(ProposalUpdate, data)
    changes = upd.model_dump(exclude_none=True)
    if upd.title is not None:
        changes["title"] = _clean_title(proposal.call, upd.title)
    code = proposal.language if language is KEEP else checked_language(language or None)
    # drafts may exceed word limits while being written; submit enforces them
    touch(proposal, expected_version)  # before the change: a stale edit leaves it as it was
    for key, value in changes.items():
        setattr(proposal, key, value)
    before, proposal.language = proposal.language, code
    flush_edit(session)
    if changes or language is KEEP:
        fields = sorted(changes)
        audit(session, proposal, "proposal.edited", actor_id=actor_id, data={"fields": fields})
        request_anonymity_scans(session, proposal, actor_id=actor_id)
    record_language(session, proposal, before, actor_id=actor_id)
    return proposal


def edit_language(
    session: Session,
    proposal: Proposal,
    language: str | None,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> str | None:
    """The team's change of the language alone (the editor's select): only while the
    proposal is editable, against the version the form read; empty or None is "not
    stated". Refused with nothing changed otherwise."""
    update_proposal(
        session,
        proposal,
        {},
        language=language,
        actor_id=actor_id,
        expected_version=expected_version,
        now=now,
    )
    return proposal.language


def _missing_files(proposal: Proposal) -> list[tuple[str, DomainError]]:
    """A custom request's file fields name files attached to the proposal. The field's
    label is the resource's own, in the reader's language (:class:`Localized`)."""
    attached = {a.filename for a in proposal.attachments}
    forms = {cp.pool_id: cp.pool.request_fields for cp in proposal.call.pools}
    out: list[tuple[str, DomainError]] = []
    for r in proposal.requests:
        if r.kind != "custom" or r.pool_id not in forms:
            continue
        for fd in parse_fields(forms[r.pool_id]):
            name = r.details.get(fd.key)
            if fd.type == "file" and isinstance(name, str) and name and name not in attached:
                out.append(
                    (
                        "requests",
                        DomainError(
                            "%(label)s: no file named %(name)s is attached to this proposal.",
                            field="requests",
                            label=Localized(fd.label("en"), fd.labels),
                            name=repr(name),
                        ),
                    )
                )
    return out


def _compulsory_bundles(proposal: Proposal) -> list[tuple[str, DomainError]]:
    """A resource the operator offers only together with another (``bundle_with``: ROV
    dives only with a berth) is requested in an all-or-nothing bundle that also holds a
    request for one of those the call offers; one problem per resource."""
    pools = {cp.pool_id: cp.pool for cp in proposal.call.pools}
    out: list[tuple[str, DomainError]] = []
    told: set[int] = set()
    for r in proposal.requests:
        pool = pools.get(r.pool_id) if r.pool_id is not None else None
        need = [p for p in (pool.bundle_with or []) if p in pools] if pool else []
        if pool is None or not need or pool.id in told:
            continue
        mates = {o.pool_id for o in proposal.requests if r.bundle and o.bundle == r.bundle}
        if mates & set(need):
            continue
        told.add(pool.id)
        out.append(
            (
                "bundle",
                DomainError(
                    "A request for %(resource)s must be in an all-or-nothing bundle with a "
                    "request for %(others)s.",
                    field="bundle",
                    resource=repr(pool.name),
                    others=" / ".join(repr(pools[p].name) for p in need),
                ),
            )
        )
    return out


def _barred_countries(proposal: Proposal) -> list[tuple[str, DomainError]]:
    """A resource whose rules by country bar the PI's country (``country_rules``: an export
    permit or a visa refused there), or the destination a request names in the rules'
    ``country_field``, can never be awarded to this request: it is to be removed (an
    alternative the team listed stays). One problem per resource."""
    pi = proposal.pi_member
    country = pi.country_iso3 if pi is not None else None
    pools = {cp.pool_id: cp.pool for cp in proposal.call.pools}
    out: list[tuple[str, DomainError]] = []
    told: set[int] = set()
    for r in proposal.requests:
        pool = pools.get(r.pool_id) if r.pool_id is not None else None
        if pool is None or pool.id in told:
            continue
        iso3, shipped = fac_domain.rules_country(pool.country_rules, r.details or {}, country)
        if not iso3 or not fac_domain.country_rule(pool.country_rules, iso3)[0]:
            continue
        told.add(pool.id)
        out.append(
            (
                "requests",
                DomainError(
                    "%(resource)s cannot be sent to %(country)s (the facility's rules by "
                    "country): remove this request or change its destination.",
                    field="requests",
                    resource=repr(pool.name),
                    country=iso3,
                )
                if shipped
                else DomainError(
                    "%(resource)s cannot go to a team whose PI is in %(country)s (the "
                    "facility's rules by country): remove this request.",
                    field="requests",
                    resource=repr(pool.name),
                    country=iso3,
                ),
            )
        )
    return out


#: A written part's refusals: (required, over its word limit), literal message ids as
#: tests/i18n's scan reads them.
_ABSTRACT: tuple[Callable[[], DomainError], Callable[[int, int], DomainError]] = (
    lambda: DomainError("An abstract is required.", field="abstract"),
    lambda n, most: DomainError(
        "The abstract has %(n)s words; at most %(max)s.", field="abstract", n=n, max=most
    ),
)
_SCIENCE_CASE: tuple[Callable[[], DomainError], Callable[[int, int], DomainError]] = (
    lambda: DomainError("A science case is required.", field="science_case"),
    lambda n, most: DomainError(
        "The science case has %(n)s words; at most %(max)s.", field="science_case", n=n, max=most
    ),
)


def _same_time_bundles(proposal: Proposal) -> list[tuple[str, DomainError]]:
    """A bundle scheduled at the same times on every resource (``bundle_same_time``) books
    the same slots on each: its requests ask for the same amount, each on a resource of its
    own, all of one slot length. One problem per bundle."""
    pools = {cp.pool_id: cp.pool for cp in proposal.call.pools}
    bundles: dict[str, list[Any]] = {}
    for r in proposal.requests:
        if r.bundle:
            bundles.setdefault(r.bundle, []).append(r)
    out: list[tuple[str, DomainError]] = []
    for key, reqs in sorted(bundles.items()):
        if len(reqs) < 2 or not any(r.details.get("bundle_same_time") for r in reqs):
            continue
        amounts = [float(r.amount) for r in reqs]
        lengths = {pools[r.pool_id].slot_hours for r in reqs if r.pool_id in pools}
        if len(set(amounts)) > 1:
            err = DomainError(
                "The requests of the bundle %(bundle)s are scheduled at the same times on "
                "every resource: each must ask for the same amount (asked: %(amounts)s).",
                field="bundle",
                bundle=repr(key),
                amounts=", ".join(plain_number(a) for a in amounts),
            )
        elif len({r.pool_id for r in reqs}) < len(reqs):
            err = DomainError(
                "The requests of the bundle %(bundle)s are scheduled at the same times on "
                "every resource: each must be on a resource of its own.",
                field="bundle",
                bundle=repr(key),
            )
        elif len(lengths) > 1:
            err = DomainError(
                "The requests of the bundle %(bundle)s are scheduled at the same times on "
                "every resource: their resources must have slots of the same length.",
                field="bundle",
                bundle=repr(key),
            )
        else:
            continue
        out.append(("bundle", err))
    return out


def submission_errors(proposal: Proposal) -> list[tuple[str, DomainError]]:
    """Everything that blocks submission, as (field, error); empty when ready. Each
    error carries its message id and parameters, so that the edge says it in the
    reader's language (``page.t.error``), resource labels included."""
    form = call_form(proposal.call.form)
    problems: list[tuple[str, DomainError]] = []

    def problem(field: str, err: DomainError) -> None:
        problems.append((field, err))

    if not proposal.title.strip():
        problem("title", DomainError("A title is required.", field="title"))
    for field, text, most, required, too_long in (
        ("abstract", proposal.abstract, form.abstract_max_words, *_ABSTRACT),
        ("science_case", proposal.science_case, form.science_case_max_words, *_SCIENCE_CASE),
    ):
        if not text.strip():
            problem(field, required())
        elif word_count(text) > most:
            problem(field, too_long(word_count(text), most))
    if not proposal.requests:
        problem("requests", DomainError("Add at least one request.", field="requests"))
    bundles = [r.bundle for r in proposal.requests if r.bundle]
    for key in sorted({b for b in bundles if bundles.count(b) < 2}):
        problem(
            "bundle",
            DomainError(
                "Bundle %(key)s has one request; an all-or-nothing bundle needs at least two "
                "requests of the same proposal.",
                field="bundle",
                key=repr(key),
            ),
        )
    problems += _compulsory_bundles(proposal)
    problems += _barred_countries(proposal)
    problems += _same_time_bundles(proposal)
    problems += _missing_files(proposal)
    if form.requires_pdf and not any(a.purpose == "scientific" for a in proposal.attachments):
        problem(
            "attachment",
            DomainError(
                "This call requires a PDF of the scientific justification.", field="attachment"
            ),
        )
    pi = [m for m in proposal.members if m.role == "pi"]
    if not pi or not pi[0].institution_name or not pi[0].country_iso3:
        problem("team", DomainError("The PI needs an institution and a country.", field="team"))
    else:
        problems += _ineligible_country(proposal, pi[0].country_iso3)
    return problems


def _ineligible_country(proposal: Proposal, iso3: str) -> list[tuple[str, DomainError]]:
    """A call open only to PIs of some income groups (``Call.eligibility``: a course for
    genebank staff from low- and lower-middle-income countries) refuses a PI of a country
    in another group, or unclassified, naming the groups and the country's (trialfac23b:
    the groups were stored and shown on the call's form, and nobody read them)."""
    groups = proposal.call.eligibility.get("income_groups") or []
    if not groups:
        return []
    session = object_session(proposal)
    country = session.get(Country, iso3) if session is not None else None
    group = country.income_group if country is not None else ""
    if eligible_income_group(proposal.call.eligibility, group):
        return []
    return [
        (
            "team",
            DomainError(
                "This call is open only to teams whose PI works in a country of the income "
                "groups %(groups)s; the PI's country, %(country)s, is in the income group "
                "%(group)s.",
                field="team",
                groups=", ".join(groups),
                country=iso3,
                group=group or "unclassified",
            ),
        )
    ]


def incomplete_problems(exc: DomainError) -> list[DomainError] | None:
    """The problems :func:`submit` refused a proposal for (each said in the reader's
    language by its own id), else None: the edges show them as the checklist without
    running the checks again."""
    said = exc.params.get("problems") if exc.code == "incomplete" else None
    return list(said.errors) if isinstance(said, Sentences) else None


def submission_problems(proposal: Proposal) -> list[tuple[str, str]]:
    """Everything that blocks submission, as (field, message in English); empty when
    ready. Pages say them in the reader's language from :func:`submission_errors`."""
    return [(f, e.message) for f, e in submission_errors(proposal)]


def _counted_retry(session: Session, proposal: Proposal) -> ProposalRevision | None:
    """The submitted revision, when ``proposal``'s submission counts (:data:`COUNTED`) and
    its content is that revision's (nothing changed since): submitting again would submit
    nothing new."""
    if proposal.status not in COUNTED or proposal.current_revision_id is None:
        return None
    rev = session.get(ProposalRevision, proposal.current_revision_id)
    if rev is None or rev.content_hash != content_hash(snapshot(proposal)):
        return None
    return rev


def submit(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
    checked: bool = False,
) -> ProposalRevision:
    """Freeze an immutable revision. Identical content returns the same revision.

    A proposal not ready (:func:`submission_errors`) is refused first, without taking
    the locks (``code="incomplete"``; :func:`incomplete_problems` gives its problems).
    ``checked``: the caller has just run :func:`submission_errors` on ``proposal`` in
    this unit of work and found nothing (the editor's page does, to show the checklist
    of a refusal without a rollback); the checks are then not run a second time.

    Serialised against the close and against a second click (:func:`lock_for_write`):
    the call's status and the proposal's revision are read again under the lock, so a
    submission either commits before the close freezes the call or is refused, and a
    double submit returns the revision of the first. ``now`` is when the request was
    received (the deadline is judged by it), not when it is processed."""
    now = now or utcnow()
    # the one run of the checks of a submit, first: not ready, refused without the locks
    problems = [] if checked else submission_errors(proposal)
    if problems:
        raise DomainError(
            "The proposal cannot be submitted yet: %(problems)s",
            field=problems[0][0],
            code="incomplete",
            # each problem said in the reader's language, joined as that language does
            problems=Sentences([e for _f, e in problems]),
        )
    lock_for_write(session, proposal)
    if proposal.status not in ("draft", "submitted"):
        counted = _counted_retry(session, proposal)
        if counted is not None:
            # a retry of the submission that counts, arriving once the close (or a batch's
            # cut) froze the proposal at it: answered with that revision, no change
            return counted
        check_proposal_transition(proposal.status, "submitted")
    call = proposal.call
    if not is_open_at(call.status, call.opens_at, submission_due(session, proposal), now):
        counted = _counted_retry(session, proposal)
        if counted is not None:
            # a retry, after the deadline, of the submission that counts (a slow link sent
            # it again, or its answer was lost): answered with that revision, no change
            return counted
    require_proposal_open(proposal, now)
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
    if existing is None and number > MAX_REVISIONS:
        raise DomainError(
            "This proposal was already submitted in %(max)s different versions, the most "
            "one proposal keeps; the last version submitted counts. Ask the call's user "
            "office if it must change again.",
            max=MAX_REVISIONS,
        )
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
        session.add_all(
            RevisionFact(revision_id=rev.id, kind=kind, value=value)
            for kind, value in sorted(revision_facts(content))
        )
    before = proposal.status
    proposal.status = "submitted"
    proposal.current_revision_id = rev.id
    proposal.submitted_at = now
    session.flush()
    audit(
        session,
        proposal,
        "proposal.submitted",
        actor_id=actor_id,
        data={"revision": rev.number, "hash": digest, "from": before},
    )
    return rev


#: What a withdrawal in review takes from the features above this one (mend23): each
#: step, under the name its count is audited as, takes the withdrawn proposal's work
#: still to be done and returns how much it took. The reviews feature comes after
#: proposals in the layers and registers at import the removal of the proposal's reviews
#: still to be written (``reviews.services.remove_open_assignments``, as
#: ``assignments_removed``); this module wrote its table through a bare ``table()``
#: before, behind the reviews feature's back.
WITHDRAWAL_STEPS: dict[str, Callable[[Session, Proposal], int]] = {}


def require_withdrawable(proposal: Proposal) -> None:
    """Refused unless ``proposal`` may be withdrawn now: a draft or a submission while its
    call takes them (:func:`require_proposal_open`, checked by :func:`withdraw`), or a
    proposal frozen by the close while its call is closed or in review."""
    if proposal.status == "under_review" and proposal.call.status not in WITHDRAWABLE_CALL:
        raise DomainError(
            "The review of this call is over: the proposal can no longer be withdrawn. "
            "Once it is decided, an award can be declined.",
            code="illegal_transition",
        )


def withdraw(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
    on_request: bool = False,
) -> Proposal:
    """Withdraw ``proposal``: by its PI, or (``on_request``) by the user office on the PI's
    request, with the ``reason``. A draft, a submission while the call takes them, or a
    proposal under review until the call's review is over (trialop22): its reviews not
    yet written are then taken from their reviewers (``removed``), and the review, the
    ranking and the allocation read it no more (``reviews.queries.REVIEWABLE``); reviews
    already written are kept, unread. Audited as ``proposal.withdrawn``."""
    lock_for_write(session, proposal)
    check_proposal_transition(proposal.status, "withdrawn")
    if proposal.status == "submitted":
        require_proposal_open(proposal, now)
    require_withdrawable(proposal)
    before = proposal.status
    proposal.status = "withdrawn"
    data: dict[str, Any] = {"from": before}
    if before == "under_review":
        if not WITHDRAWAL_STEPS:
            # a process that withdraws in review without the reviews feature loaded would
            # leave the reviewers their assignments: refused loudly, never silently
            raise RuntimeError("opencall.reviews.services is not loaded: cannot withdraw")
        for name, step in WITHDRAWAL_STEPS.items():
            data[name] = step(session, proposal)
    session.flush()
    if on_request:
        data["on_request"] = True
    audit(
        session,
        proposal,
        "proposal.withdrawn",
        actor_id=actor_id,
        reason=reason,
        data=data,
    )
    return proposal


def withdraw_on_request(
    session: Session,
    proposal: Proposal,
    *,
    reason: str,
    actor_id: int | None,
    now: dt.datetime | None = None,
) -> Proposal:
    """The user office withdraws ``proposal`` on its PI's written request, which the
    ``reason`` names (required, kept in the audit log); as :func:`withdraw`."""
    reason = reason.strip()
    if not reason:
        raise DomainError(
            "Give the reason: the PI's request the withdrawal answers.", field="reason"
        )
    actor = session.get(User, actor_id) if actor_id is not None else None
    if actor is not None and any(
        m.user_id == actor.id or mailbox_key(m.email) == mailbox_key(actor.email)
        for m in proposal.members
    ):
        # a conflict of interest (mend22b): another member of the office acts for the PI
        raise DomainError(
            "You are on this proposal's team: another member of the user office must withdraw it."
        )
    return withdraw(session, proposal, actor_id=actor_id, reason=reason, now=now, on_request=True)


def reopen(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> Proposal:
    lock_for_write(session, proposal)
    check_proposal_transition(proposal.status, "draft")
    require_proposal_open(proposal, now)
    proposal.status = "draft"
    session.flush()
    audit(session, proposal, "proposal.reopened", actor_id=actor_id)
    return proposal
