import datetime as dt
import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.proposals import services as ps
from opencall.proposals.domain import (
    PROPOSAL_STATES,
    PROPOSAL_TRANSITIONS,
    check_proposal_transition,
    parse_dec,
    parse_ra,
)
from opencall.proposals.models import Proposal, ProposalRevision, TeamMember
from tests import factories as f


def _row(p: Proposal) -> tuple:
    return (
        p.title,
        p.abstract,
        p.science_case,
        p.status,
        p.version,
        p.current_revision_id,
        [(r.kind, r.amount, r.details) for r in p.requests],
        [m.email for m in p.members],
    )


# --- coordinates -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "deg"),
    [
        ("05:34:31.9", 83.6329),
        ("5h34m31.9s", 83.6329),
        ("83.6329", 83.6329),
        (83.6329, 83.6329),
        ("00 00 00", 0.0),
        ("23:59:59.9", 359.9996),
    ],
)
def test_parse_ra(text, deg) -> None:
    assert parse_ra(text) == pytest.approx(deg, abs=1e-4)


@pytest.mark.parametrize(
    ("text", "deg"),
    [("+22:00:52", 22.0144), ("-05d23m28s", -5.3911), ("-0:30:00", -0.5), ("41.27", 41.27)],
)
def test_parse_dec(text, deg) -> None:
    assert parse_dec(text) == pytest.approx(deg, abs=1e-4)


@pytest.mark.parametrize("bad", ["25:00:00", "12:61:00", "abc", "", "-01:00:00", 400, None, True])
def test_parse_ra_rejects(bad) -> None:
    with pytest.raises(ValueError):
        parse_ra(bad)


@pytest.mark.parametrize("bad", ["+91:00:00", "12:00:60", "north", "", -95])
def test_parse_dec_rejects(bad) -> None:
    with pytest.raises(ValueError):
        parse_dec(bad)


# --- state machine ----------------------------------------------------------------

ILLEGAL = [
    (a, b)
    for a, b in itertools.product(PROPOSAL_STATES, PROPOSAL_STATES)
    if b not in PROPOSAL_TRANSITIONS[a]
]


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_proposal_transition_is_refused(current, target) -> None:
    with pytest.raises(DomainError) as err:
        check_proposal_transition(current, target)
    assert err.value.code == "illegal_transition"


def test_pi_member_is_the_pi_whatever_the_order_of_the_team() -> None:
    coi = TeamMember(role="coi", email="coi@uni.example")
    pi = TeamMember(role="pi", email="pi@uni.example")
    assert Proposal(members=[coi, pi]).pi_member is pi
    assert Proposal(members=[pi, coi]).pi_member is pi
    assert Proposal(members=[coi]).pi_member is None


def test_withdrawn_proposal_cannot_be_submitted(db: Session) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    ps.withdraw(db, p, now=f.NOW)
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="withdrawn"):
        ps.submit(db, p, now=f.NOW)
    assert f.table_counts(db) == before
    ps.reopen(db, p, now=f.NOW)
    assert ps.submit(db, p, now=f.NOW).number == 1


def test_under_review_is_withdrawn_only_until_the_review_is_over(db: Session) -> None:
    """trialop22 (this test said before: never once under review): the PI withdraws a
    proposal frozen by the close while the call is closed or in review; from the ranking
    on it is refused and nothing changes."""
    call = f.fast_call(db)
    p, q = f.full_proposal(db, call), f.full_proposal(db, call)
    ps.submit(db, p, now=f.NOW)
    ps.submit(db, q, now=f.NOW)
    ps.close_call(db, call, now=f.NOW, reason="test")
    assert p.status == q.status == "under_review"
    ps.withdraw(db, p, now=f.NOW)
    assert p.status == "withdrawn"
    with pytest.raises(DomainError):  # and it stays withdrawn: the call is closed
        ps.reopen(db, p, now=f.NOW)
    call.status = "ranking"
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="review of this call is over"):
        ps.withdraw(db, q, now=f.NOW)
    assert q.status == "under_review" and f.table_counts(db) == before


# --- submit ----------------------------------------------------------------------


def test_submit_is_idempotent_and_freezes_a_revision(db: Session) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    r1 = ps.submit(db, p, now=f.NOW)
    r2 = ps.submit(db, p, now=f.NOW)
    assert r1.id == r2.id and r1.number == 1
    assert db.scalars(
        select(ProposalRevision).where(ProposalRevision.proposal_id == p.id)
    ).all() == [r1]
    frozen = dict(r1.content)
    # an edit after submission does not change the frozen revision; resubmitting makes a new one
    ps.update_proposal(db, p, {"title": "Pulsar timing with FAST, revised"}, now=f.NOW)
    assert r1.content == frozen
    assert p.current_revision_id == r1.id
    r3 = ps.submit(db, p, now=f.NOW)
    assert r3.number == 2 and r3.content["title"].endswith("revised")
    assert r3.content_hash != r1.content_hash


def test_submit_after_deadline_fails_to_the_second_and_changes_nothing(db: Session) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    ps.submit(db, p, now=call.closes_at - dt.timedelta(seconds=1))
    ps.update_proposal(db, p, {"abstract": "changed"}, now=f.NOW)
    before, row = f.table_counts(db), _row(p)
    with pytest.raises(DomainError, match="deadline"):
        ps.submit(db, p, now=call.closes_at)
    assert f.table_counts(db) == before and _row(p) == row


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"title": "   "}, "title"),
        ({"abstract": ""}, "abstract"),
        ({"science_case": ""}, "science_case"),
    ],
)
def test_missing_required_fields_block_submit(db: Session, patch, field) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    if field == "title":
        with pytest.raises(DomainError):
            ps.update_proposal(db, p, patch, now=f.NOW)
        return
    ps.update_proposal(db, p, patch, now=f.NOW)
    before, row = f.table_counts(db), _row(p)
    with pytest.raises(DomainError) as err:
        ps.submit(db, p, now=f.NOW)
    assert err.value.field == field
    assert f.table_counts(db) == before and _row(p) == row


def test_word_limit_enforced_at_submit(db: Session) -> None:
    call = f.fast_call(db, abstract_max_words=10)
    p = f.full_proposal(db, call)
    ps.update_proposal(db, p, {"abstract": "word " * 11}, now=f.NOW)
    with pytest.raises(DomainError, match="11 words"):
        ps.submit(db, p, now=f.NOW)
    assert p.status == "draft"


def test_proposal_without_requests_or_pdf(db: Session) -> None:
    call = f.fast_call(db, requires_pdf=True)
    pi = f.user(db)
    p = ps.create_proposal(db, call, pi, title="T", abstract="A", science_case="S", now=f.NOW)
    with pytest.raises(DomainError) as err:
        ps.submit(db, p, now=f.NOW)
    assert "at least one request" in err.value.message and "PDF" in err.value.message


# --- requests --------------------------------------------------------------------

BAD_FAST = [
    ({"receiver": "K-band"}, "Receiver 'K-band' is not offered"),
    ({"mode": "Drift scan"}, "Mode 'Drift scan' is not offered"),
    ({"targets": [{"name": "South", "ra_deg": 10, "dec_deg": -30, "hours": 2}]}, "outside the sky"),
    (
        {"targets": [{"name": "North", "ra_deg": "10:00:00", "dec_deg": "+70:00:00", "hours": 2}]},
        "outside the sky",
    ),
    (
        {"targets": [{"name": "Bad RA", "ra_deg": "25:00:00", "dec_deg": 10, "hours": 2}]},
        "below 24",
    ),
    ({"targets": [{"name": "Zero", "ra_deg": 10, "dec_deg": 10, "hours": 0}]}, "greater than 0"),
    ({"targets": [{"name": "", "ra_deg": 10, "dec_deg": 10, "hours": 1}]}, "name"),
    ({"targets": []}, "targets"),
    ({"targets": [{"name": "Big", "ra_deg": 10, "dec_deg": 10, "hours": 51}]}, "at most 50"),
    ({"extra": 1}, "extra"),
    (
        {
            "targets": [
                {"name": "<script>alert(1)</script>", "ra_deg": "x", "dec_deg": 1, "hours": 1}
            ]
        },
        "right ascension",
    ),
]


@pytest.mark.parametrize(("patch", "message"), BAD_FAST)
def test_bad_fast_request_is_refused_and_changes_nothing(db: Session, patch, message) -> None:
    call = f.fast_call(db)
    pi = f.user(db)
    p = ps.create_proposal(db, call, pi, title="T", abstract="A", science_case="S", now=f.NOW)
    details = {
        "receiver": "19-beam",
        "mode": "Tracking",
        "targets": [{"name": "A", "ra_deg": 10, "dec_deg": 10, "hours": 1}],
    }
    details.update(patch)
    before, row = f.table_counts(db), _row(p)
    with pytest.raises(DomainError) as err:
        ps.add_request(db, p, "fast", details, now=f.NOW)
    assert message in err.value.message
    assert f.table_counts(db) == before and _row(p) == row


def test_fast_request_may_not_pick_a_pool_or_another_kind(db: Session) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    with pytest.raises(DomainError, match="do not choose a pool"):
        ps.add_request(
            db,
            p,
            "fast",
            {"receiver": "UWB", "mode": "Tracking", "targets": f.TARGETS},
            pool_id=call.pools[0].pool_id,
            now=f.NOW,
        )
    with pytest.raises(DomainError, match="not 'sample'"):
        ps.add_request(db, p, "sample", {"sample_type": "x", "mass_mg": 1}, now=f.NOW)


def test_request_over_pool_and_per_request_limits(db: Session) -> None:
    call, pool = f.samples_call(db)
    pi = f.user(db)
    p = ps.create_proposal(
        db, call, pi, title="Basalt ages", abstract="A", science_case="S", now=f.NOW
    )
    ok = ps.add_request(
        db,
        p,
        "sample",
        {"sample_type": "CE-5 regolith", "mass_mg": 300},
        pool_id=pool.id,
        now=f.NOW,
    )
    assert ok.amount == 300
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="limit per request"):
        ps.add_request(
            db,
            p,
            "sample",
            {"sample_type": "CE-5 regolith", "mass_mg": 401},
            pool_id=pool.id,
            now=f.NOW,
        )
    with pytest.raises(DomainError, match="holds"):
        ps.add_request(
            db,
            p,
            "sample",
            {"sample_type": "CE-6 basalt", "mass_mg": 10},
            pool_id=pool.id,
            now=f.NOW,
        )
    with pytest.raises(DomainError, match="capacity pools this call offers"):
        ps.add_request(
            db,
            p,
            "sample",
            {"sample_type": "CE-5 regolith", "mass_mg": 10},
            pool_id=999999,
            now=f.NOW,
        )
    assert f.table_counts(db) == before


def test_call_total_limit(db: Session) -> None:
    call = f.fast_call(db, max_hours=10)
    p = f.full_proposal(db, call, hours=7)
    with pytest.raises(DomainError, match="at most 10"):
        ps.add_request(
            db,
            p,
            "fast",
            {
                "receiver": "UWB",
                "mode": "ON-OFF",
                "targets": [{"name": "B", "ra_deg": 1, "dec_deg": 1, "hours": 4}],
            },
            now=f.NOW,
        )
    assert len(p.requests) == 1


# --- team -----------------------------------------------------------------------------


def test_team_invitation_and_acceptance(db: Session) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    coi = f.user(db, country="KEN", institution="University of Nairobi")
    m = ps.invite_member(
        db,
        p,
        {
            "email": coi.email,
            "name": coi.name,
            "institution": "University of Nairobi",
            "country_iso3": "KEN",
        },
        now=f.NOW,
    )
    assert m.status == "invited"
    rev = ps.submit(db, p, now=f.NOW)
    assert [t["role"] for t in rev.content["team"]] == ["pi"]  # pending invitations are not frozen
    ps.respond_to_invitation(db, m, coi, accept=True)
    rev2 = ps.submit(db, p, now=f.NOW)
    assert rev2.number == 2 and len(rev2.content["team"]) == 2
    assert rev2.content["team"][1]["country"] == "KEN"


@pytest.mark.parametrize(
    ("invite", "message"),
    [
        (
            {"email": "not-an-email", "name": "X", "institution": "I", "country_iso3": "KEN"},
            "e-mail",
        ),
        ({"email": "a@b.org", "name": "", "institution": "I", "country_iso3": "KEN"}, "name"),
        ({"email": "a@b.org", "name": "X", "institution": "I", "country_iso3": "ZZZ"}, "country"),
        (
            {"email": "a@b.org", "name": "X" * 201, "institution": "I", "country_iso3": "KEN"},
            "name",
        ),
    ],
)
def test_bad_invitations_change_nothing(db: Session, invite, message) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    before, row = f.table_counts(db), _row(p)
    with pytest.raises(DomainError) as err:
        ps.invite_member(db, p, invite, now=f.NOW)
    assert message in err.value.message.lower() or message in (err.value.field or "")
    assert f.table_counts(db) == before and _row(p) == row


def test_duplicate_member_and_pi_removal(db: Session) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    pi_member = p.members[0]
    with pytest.raises(DomainError, match="already on the team"):
        ps.invite_member(
            db,
            p,
            {"email": pi_member.email, "name": "Me", "institution": "I", "country_iso3": "IND"},
            now=f.NOW,
        )
    with pytest.raises(DomainError, match="cannot be removed"):
        ps.remove_member(db, p, pi_member, now=f.NOW)


def test_stale_edit_is_refused_without_loss(db: Session) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    v = p.version
    ps.update_proposal(db, p, {"abstract": "first"}, expected_version=v, now=f.NOW)
    with pytest.raises(DomainError) as err:
        ps.update_proposal(db, p, {"abstract": "second"}, expected_version=v, now=f.NOW)
    assert err.value.code == "stale"
    assert p.abstract == "first"


def test_cannot_create_in_closed_call_or_without_institution(db: Session) -> None:
    call = f.fast_call(db)
    pi = f.user(db)
    with pytest.raises(DomainError, match="deadline"):
        ps.create_proposal(db, call, pi, title="Late", now=call.closes_at + dt.timedelta(seconds=5))
    from opencall.people import services as people

    lone = people.register_user(
        db, email="lone@example.org", name="Lone", password="long enough pw"
    )
    with pytest.raises(DomainError, match="institution"):
        ps.create_proposal(db, call, lone, title="T", now=f.NOW)


def test_close_restores_the_last_submitted_revision(db: Session) -> None:
    """Edits after the last submission were never submitted: at close the proposal's
    text and requests are those of the frozen revision."""
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    second = ps.add_request(
        db,
        p,
        "fast",
        {
            "receiver": "UWB",
            "mode": "ON-OFF",
            "targets": [{"name": "B", "ra_deg": 1, "dec_deg": 1, "hours": 2}],
        },
        now=f.NOW,
    )
    rev = ps.submit(db, p, now=f.NOW)
    ps.remove_request(db, p, p.requests[0], now=f.NOW)
    ps.update_proposal(db, p, {"title": "Changed after submission"}, now=f.NOW)
    again = ps.add_request(
        db,
        p,
        "fast",
        {
            "receiver": "UWB",
            "mode": "ON-OFF",
            "targets": [{"name": "C", "ra_deg": 2, "dec_deg": 2, "hours": 1}],
        },
        now=f.NOW,
    )
    assert again.position != second.position
    ps.close_call(db, call, now=f.NOW, reason="test")
    assert p.status == "under_review"
    assert p.title == rev.content["title"]
    assert [(r.kind, r.amount, r.details) for r in p.requests] == [
        (r["kind"], r["amount"], r["details"]) for r in rev.content["requests"]
    ]
    assert [r.position for r in p.requests] == [0, 1]
