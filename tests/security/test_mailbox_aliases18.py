"""One mailbox, one person (trialcrowd18). Round 17 stopped an alias of a mailbox from
registering a second account ("pi+2@" for pi@'s), but left two gaps:

- providers whose sub-addresses take a "-" ("pi-2@yahoo.com" reaches pi@yahoo.com's
  mailbox): now read as aliases at the domains of ``people.domain.DASH_TAG_DOMAINS``,
  where a "-" is never part of an account's own name;
- accounts made before the rule, aliases of one mailbox: each was its own PI for the
  call's caps on awards and amounts per PI. Now the allocation counts the accounts of one
  mailbox as one PI (``people.queries.persons``), in a call and across a continuous
  call's batches; the site admin lists them (``opencall accounts aliases``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.calls.models import Call
from opencall.cycle import batches
from opencall.people.domain import mailbox_key
from opencall.people.models import User
from opencall.proposals import services as ps
from opencall.proposals.models import Proposal
from tests import factories as f
from tests.cycle.test_batch_pi_cap import _decide, _panel, second_batch
from tests.cycle.test_batches import C1, continuous_call
from tests.web.conftest import Web, World, register_on_site


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("pi-2@yahoo.com", "pi@yahoo.com"),
        ("Pi-Lab@YMail.com", "pi@ymail.com"),
        ("pi-a-b+c@yahoo.co.uk", "pi@yahoo.co.uk"),
        ("-x@yahoo.com", "-x@yahoo.com"),  # nothing before the tag: the whole part
        ("mary-jane@example.org", "mary-jane@example.org"),  # a name's "-" elsewhere
        ("mary-jane+x@example.org", "mary-jane@example.org"),
    ],
)
def test_a_dash_tag_at_the_domains_that_use_one(typed: str, key: str) -> None:
    assert mailbox_key(typed) == key


def _accounts(web: Web) -> list[str]:
    with web.factory() as s:
        return list(s.scalars(select(User.email).order_by(User.id)))


def test_a_dash_alias_of_a_mailbox_with_an_account_makes_no_account(web: Web, world: World) -> None:
    r = register_on_site(web.client(), "someone@yahoo.com", "Dash Person")
    assert r.status_code == 303, r.text[:300]
    fresh = r.headers["location"]
    with web.factory() as s:  # verified: not a double click of its registration
        s.execute(update(User).values(email_verified_at=f.NOW))
        s.commit()
    before = _accounts(web)
    for alias in ("someone-2@yahoo.com", "Someone-lab+x@Yahoo.com"):
        r = register_on_site(web.client(), alias, "Dash Person")
        assert (r.status_code, r.headers.get("location")) == (303, fresh), alias
    assert _accounts(web) == before
    # and a "-" in an address elsewhere is a letter: its own mailbox
    r = register_on_site(web.client(), "someone-2@example.org", "Dash Elsewhere")
    assert r.status_code == 303
    assert len(_accounts(web)) == len(before) + 1


def _alias_of(s: Session, owner: User, alias: str, **kw: Any) -> User:
    """An account at ``alias``, an alias of ``owner``'s mailbox, as it was made before
    round 17 refused them (written straight to the table)."""
    u = f.user(s, **kw)
    s.execute(update(User).where(User.id == u.id).values(email=alias))
    s.flush()
    s.refresh(u)
    assert mailbox_key(u.email) == mailbox_key(owner.email)
    return u


def _outcome(s: Session, p: Proposal) -> str:
    d = s.scalar(select(Decision).where(Decision.proposal_id == p.id))
    assert d is not None
    return d.outcome


def _capped(s: Session, email: str) -> tuple[Call, list[User], User]:
    """A continuous call with a cap of one award per PI, its panel, and a PI at ``email``."""
    call = continuous_call(s)
    call.allocation_policy = {**(call.allocation_policy or {}), "pi_cap_awards": 1}
    reviewers = _panel(s, call)
    return call, reviewers, f.user(s, institution="Capped institute", country="BRA", email=email)


def test_accounts_of_one_mailbox_share_the_cap_on_awards_per_pi(db: Session) -> None:
    s = db
    call, reviewers, pi = _capped(s, "capped@example.org")
    alias = _alias_of(s, pi, "capped+second@example.org", institution="Capped institute")
    mine = [f.full_proposal(s, call, who) for who in (pi, alias)]
    other = f.full_proposal(s, call, f.user(s, institution="Other institute", country="BRA"))
    for p in (*mine, other):
        ps.submit(s, p, now=f.NOW)
    (b1,) = batches.cut(s, call, now=C1)
    _decide(s, b1, reviewers)
    outcomes = sorted(_outcome(s, p) for p in mine)
    assert outcomes.count("awarded") == 1, outcomes
    assert _outcome(s, other) == "awarded"  # room there was: the cap alone refused it


def test_accounts_of_one_mailbox_share_the_cap_across_batches(db: Session) -> None:
    s = db
    call, reviewers, pi = _capped(s, "dotted@gmail.com")
    first = f.full_proposal(s, call, pi)
    ps.submit(s, first, now=f.NOW)
    (b1,) = batches.cut(s, call, now=C1)
    _decide(s, b1, reviewers)
    assert _outcome(s, first) == "awarded"
    al.release_decisions(s, b1)

    alias = _alias_of(s, pi, "d.otted+b2@googlemail.com", institution="Capped institute")
    again, other = second_batch(s, call, alias, reviewers)
    d = s.scalar(select(Decision).where(Decision.proposal_id == again.id))
    assert d is not None and d.outcome != "awarded", "the mailbox's second award"
    assert "PI already holds 1 award" in d.explanation
    assert _outcome(s, other) == "awarded"


def test_a_reviewer_at_an_alias_of_a_team_members_mailbox_is_conflicted(db: Session) -> None:
    """The conflicts step found a reviewer on a team by account or by the address as
    typed: a reviewer's account at "pi+rev@" (made before round 17) was no conflict of a
    proposal of pi@ (at another institution typed), and could be assigned to grade it."""
    from opencall.reviews import queries as rq
    from opencall.reviews import services as rv
    from opencall.reviews.models import Conflict

    call, proposals, reviewers = f.call_in_review(db, 3, 3, reviewers_per_proposal=2)
    target, reviewer = proposals[1], reviewers[0]
    rv.compute_conflicts(db, call)
    assert (target.id, reviewer.id) not in rq.conflict_pairs(db, call)
    pi = db.get(User, target.members[0].user_id)
    assert pi is not None
    local, _, domain = pi.email.partition("@")
    # the reviewer's account, at its own institution, is an alias of the PI's mailbox
    db.execute(update(User).where(User.id == reviewer.id).values(email=f"{local}+rev@{domain}"))
    db.flush()
    db.expire_all()
    rv.compute_conflicts(db, call)
    sources = set(
        db.scalars(
            select(Conflict.source).where(
                Conflict.proposal_id == target.id, Conflict.reviewer_id == reviewer.id
            )
        )
    )
    assert sources == {"team"}


def test_the_site_admin_lists_the_accounts_of_one_mailbox(db: Session) -> None:
    from opencall.people.queries import alias_groups

    owner = f.user(db, email="owner@example.org")
    _alias_of(db, owner, "owner+old@example.org")
    yahoo = f.user(db, email="ya@yahoo.com")
    _alias_of(db, yahoo, "ya-old@yahoo.com")
    f.user(db, email="owner.other@example.org")
    groups = [[u.email for u in g] for g in alias_groups(db)]
    assert ["owner@example.org", "owner+old@example.org"] in groups
    assert ["ya@yahoo.com", "ya-old@yahoo.com"] in groups
    assert all("owner.other@example.org" not in g for g in groups)


def test_the_aliases_command(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``opencall admin aliases`` prints a block a shared mailbox, and nothing else."""
    from sqlalchemy import create_engine
    from typer.testing import CliRunner

    from opencall import migrate
    from opencall.cli import app as cli_app

    engine = create_engine(f"sqlite:///{tmp_path / 'aliases.sqlite3'}")
    migrate.upgrade(engine)
    monkeypatch.setenv("OPENCALL_DATABASE_URL", str(engine.url))

    def listed() -> str:
        r = CliRunner().invoke(cli_app, ["admin", "aliases"])
        assert r.exit_code == 0, r.output
        return r.output

    assert "0 mailboxes with more than one account" in listed()
    with Session(engine) as s:
        s.add_all(
            User(email=email, name="P I", password_hash="x")
            for email in ("pi@example.org", "pi+2@example.org", "solo@example.org")
        )
        s.commit()
    out = listed()
    assert "mailbox of pi@example.org" in out and "pi+2@example.org" in out
    assert "solo@" not in out and "1 mailboxes with more than one account" in out


def test_the_mail_throttle_counts_a_dash_tagged_mailbox_once(db: Any) -> None:
    from opencall.people.services import may_send_email

    sent = [
        may_send_email(db, address, "team_invite", per_hour=2)
        for address in ("victim-1@yahoo.com", "Victim-2@yahoo.com", "victim@yahoo.com")
    ]
    assert sent == [True, True, False]
    # a "-" elsewhere is a letter: another mailbox, its own allowance
    assert may_send_email(db, "victim-1@example.org", "team_invite", per_hour=1)


def test_accounts_of_one_mailbox_share_the_bound_on_drafts(db: Session, monkeypatch: Any) -> None:
    """The bound of drafts never submitted a call per PI counted an account: each alias
    account made before round 17 started its own."""
    from opencall.errors import DomainError
    from opencall.proposals.services import lifecycle

    monkeypatch.setattr(lifecycle, "MAX_UNSUBMITTED", 2)
    call = f.fast_call(db)
    pi = f.user(db, email="drafts@yahoo.com")
    alias = _alias_of(db, pi, "drafts-old@yahoo.com")
    ps.create_proposal(db, call, pi, title="Mine 1", now=f.NOW, reuse_recent=True)
    ps.create_proposal(db, call, alias, title="Mine 2", now=f.NOW, reuse_recent=True)
    before = f.table_counts(db)
    for who in (pi, alias):
        with pytest.raises(DomainError, match="never submitted"):
            ps.create_proposal(db, call, who, title="Mine 3", now=f.NOW, reuse_recent=True)
    assert f.table_counts(db) == before
    # another mailbox at the domain starts its own
    other = f.user(db, email="drafts2@yahoo.com")
    ps.create_proposal(db, call, other, title="Theirs", now=f.NOW, reuse_recent=True)
