"""The technical reviewer's list of a call finds the proposals they may be in conflict
with in the database (``reviews.queries.conflict_candidates`` over the revisions' facts)
and reads only those: it read every proposal under review of the call and every
submitted revision, and ran the conflict rule on each in Python, on every visit (7,296
rows for 1,110 proposals at the demo's scale 5)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.people.models import Institution, ReviewerPublication, User
from opencall.proposals import services as prop_services
from opencall.proposals.domain import revision_facts
from opencall.proposals.models import Proposal, ProposalRevision, RevisionFact
from opencall.reviews import policies
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict
from tests import factories as F
from tests.scale.test_api_pages import build, with_technical_reviewer
from tests.scale.test_paged_lists import _loaded
from tests.web.conftest import Web

PER_PAGE = 4


@contextmanager
def _revisions_read() -> Iterator[list[int]]:
    """How many submitted revisions' contents are read meanwhile (by
    ``reviews.queries.revision_contents``, the one read of the conflict check)."""
    read: list[int] = []
    real = rq.revision_contents

    def counting(session: Session, proposals: Any) -> dict[int, dict[str, Any]]:
        out = real(session, proposals)
        read.append(sum(1 for v in out.values() if v))
        return out

    rq.revision_contents = counting  # type: ignore[assignment]
    try:
        yield read
    finally:
        rq.revision_contents = real  # type: ignore[assignment]


def test_the_technical_list_reads_only_the_proposals_it_may_conflict_with(
    web: Web, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencall.reviews.views import technical as technical_views

    monkeypatch.setattr(technical_views, "PER_PAGE", PER_PAGE, raising=False)

    def read_for(n: int) -> tuple[int, int, int]:
        data = build(factory, n)
        with factory() as s:
            call, tech, ids = with_technical_reviewer(s, data["slug"], "declared")
            s.commit()
            email, slug = tech.email, call.slug
        c = web.login(email)
        c.get(f"/technical/calls/{slug}")  # warm
        with _loaded(Proposal) as loaded, _revisions_read() as read:
            r = c.get(f"/technical/calls/{slug}")
        assert r.status_code == 200
        assert f"/technical/proposals/{ids[1]}" not in r.text  # the conflicted one
        assert f"/technical/proposals/{ids[0]}" in r.text
        return loaded["Proposal"], sum(read), r.text.count('<a href="/technical/proposals/')

    small, big = read_for(6), read_for(24)
    # the page's rows (PER_PAGE) and the one stored conflict, at both sizes; before: every
    # proposal of the call (12 and 30 loaded, 7 and 25 revisions read)
    assert small == big, (small, big)
    assert small[1] <= 1, small


def _reference_blocked(s: Session, user: User, call: Call) -> set[int]:
    """What ``technical_review_blocked`` answered before: the rule run on every proposal
    under review of the call."""
    candidates = rq.proposals_for_review(s, call)
    blocked = policies.conflicted_proposal_ids(s, user, candidates)
    return blocked | {p.id for p in candidates if policies.on_team(user, p)}


INSTITUTIONS = ["Alpha Institute", "Beta University", "Gamma Observatory", "Delta Lab"]
NAMES = ["Ana Silva", "Bo Chen", "Chidi Okafor", "Dana Cohen", "Eva Novak", "Farid Haddad"]


@pytest.mark.usefixtures("pinned_clock")
@pytest.mark.parametrize("seed", range(6))
def test_conflicts_found_in_the_database_are_the_rules_own(
    factory: sessionmaker[Session], seed: int
) -> None:
    """In random worlds where people share institutions (by name and by ROR id), names,
    e-mails, declared relations, teams changed after submission and stored conflicts,
    the proposals a technical reviewer may not assess are exactly those the rule finds
    on every proposal of the call."""
    rnd = random.Random(seed)
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        people = [
            F.user(
                s,
                name=rnd.choice(NAMES) if rnd.random() < 0.5 else f"Person {seed}-{i}",
                institution=rnd.choice(INSTITUTIONS),
                country="IND",
            )
            for i in range(10)
        ]
        for inst in s.scalars(select(Institution)):
            if inst.name in INSTITUTIONS[:2]:
                inst.ror_id = f"https://ror.org/0{INSTITUTIONS.index(inst.name)}abc"
        props = []
        for _i in range(12):
            pi = rnd.choice(people)
            p = F.full_proposal(s, call, pi)
            for other in rnd.sample(people, 2):
                if other.id == pi.id:
                    continue
                m = prop_services.invite_member(
                    s,
                    p,
                    {
                        "email": other.email,
                        "name": other.name,
                        "institution": rnd.choice(INSTITUTIONS + ["Elsewhere College"]),
                        "country_iso3": "IND",
                    },
                    now=F.NOW,
                )
                if rnd.random() < 0.7:
                    prop_services.respond_to_invitation(s, m, other, accept=True)
            prop_services.submit(s, p, now=F.NOW)
            p.status = "under_review"
            props.append(p)
        s.flush()
        # changed since the submissions: members gone (the revision still names them),
        # institutions renamed (their ROR ids still match; their name keys no longer do)
        for p in props:
            gone = [m for m in p.members if m.role != "pi"]
            if gone and rnd.random() < 0.5:
                s.delete(gone[0])
        for inst in s.scalars(select(Institution)):
            if inst.ror_id:
                inst.name = inst.name + " of Advanced Studies"
        s.flush()
        s.expire_all()
        techs = []
        for j in range(4):
            t = F.user(
                s,
                name=rnd.choice(NAMES),
                institution=rnd.choice(
                    [n + " of Advanced Studies" for n in INSTITUTIONS[:2]]
                    + INSTITUTIONS[2:]
                    + ["Nowhere Institute"]
                ),
                country="FRA",
            )
            people_services.grant_role(s, t.id, "technical_reviewer", call_id=call.id)
            s.add(
                ReviewerPublication(
                    user_id=t.id,
                    title="A paper",
                    year=2025,
                    authors=[t.name, rnd.choice(NAMES), rnd.choice(people).name],
                )
            )
            if j % 2 == 0:
                rv.declare_relation(s, t, rnd.choice(people).email, "coauthor", year=2025)
            else:
                rv.declare_relation(s, rnd.choice(people), t.email, "personal", note="n")
            if rnd.random() < 0.5:
                pick = rnd.choice(props)
                s.add(Conflict(call_id=call.id, proposal_id=pick.id, reviewer_id=t.id, source="x"))
            techs.append(t)
        techs.append(people[0])  # an applicant who also assesses
        people_services.grant_role(s, people[0].id, "technical_reviewer", call_id=call.id)
        s.flush()
        found_any = False
        for t in techs:
            want = _reference_blocked(s, t, call)
            found_any = found_any or bool(want)
            assert policies.technical_review_blocked(s, t, call) == want, t.name
        assert found_any
        s.rollback()


def test_each_revision_has_its_facts(factory: sessionmaker[Session]) -> None:
    """Every submitted revision is stored with the facts of its team."""
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        p = F.full_proposal(s, call, F.user(s, institution="Zeta Institute"))
        rev = prop_services.submit(s, p, now=F.NOW)
        s.flush()
        stored = set(
            s.execute(
                select(RevisionFact.kind, RevisionFact.value).where(
                    RevisionFact.revision_id == rev.id
                )
            ).tuples()
        )
        assert stored == revision_facts(s.get(ProposalRevision, rev.id).content)
        assert {k for k, _v in stored} == {"email", "inst", "key", "name"}
        s.rollback()


def test_the_migration_gives_the_stored_revisions_their_facts(engine: Any) -> None:
    """A database whose revisions were stored before the facts existed gets each one's
    facts when migrated (the same rows the submission writes now)."""
    from opencall import migrate
    from opencall.db import make_sessionmaker

    factory = make_sessionmaker(engine)
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        for inst in ("Eta Institute", "Theta University"):
            p = F.full_proposal(s, call, F.user(s, institution=inst))
            prop_services.submit(s, p, now=F.NOW)
        s.commit()

    def facts() -> list[tuple[int, str, str]]:
        with factory() as s:
            return sorted(
                s.execute(
                    select(RevisionFact.revision_id, RevisionFact.kind, RevisionFact.value)
                ).tuples()
            )

    written = facts()
    assert len({r for r, _k, _v in written}) >= 2
    try:
        migrate.downgrade(engine, "rolling_01")
        migrate.upgrade(engine)
        assert facts() == written
    finally:
        migrate.upgrade(engine)  # (at the head already: nothing to do)
