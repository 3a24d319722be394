"""Pure rules of the review engine: when a person may not judge a proposal.

One rule for every reviewing role (panel reviewers and technical reviewers alike):
``conflict_sources`` names the reasons a person is conflicted with a team, from
facts the caller gathered (no database here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from opencall.errors import DomainError

# every role that judges proposals: conflicts are computed and enforced for all of them
REVIEWING_ROLES = ("reviewer", "technical_reviewer")


@dataclass(frozen=True)
class TeamFacts:
    """A team as submitted: its accounts, e-mails, institutions (name keys, ROR ids)."""

    user_ids: frozenset[int]
    emails: frozenset[str]
    institution_keys: frozenset[str]
    rors: frozenset[str]
    # (family name, first initial) of every member, to match publication authors
    name_keys: frozenset[tuple[str, str]] = frozenset()
    # the mailboxes the members' addresses reach (``people.domain.mailbox_key``): a
    # reviewer's account at an alias of a member's mailbox is that member (trialcrowd18)
    mailboxes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PersonFacts:
    user_id: int
    email: str
    institution_key: str | None = None
    mailbox: str = ""  # the mailbox ``email`` reaches (``people.domain.mailbox_key``)
    ror: str | None = None
    # co-authors in the person's publication list: ((family, initial), year or None)
    coauthors: tuple[tuple[tuple[str, str], int | None], ...] = ()


@dataclass(frozen=True)
class Relation:
    """A declared relation: ``user_id`` declared ``kind`` with the person at ``other_email``."""

    user_id: int
    other_email: str
    kind: str  # coauthor | advisor | personal
    year: int | None = None
    note: str = ""


def conflict_sources(
    person: PersonFacts,
    team: TeamFacts,
    relations: list[Relation],
    *,
    coauthor_years: int,
    year: int,
) -> dict[str, str]:
    """{source: detail} for ``team`` (member of the team), ``institution`` (same
    institution by ROR id or name key), ``coauthor`` (declared co-authorship or
    advising within ``coauthor_years``) and ``personal`` (declared by either side)."""
    if (
        person.user_id in team.user_ids
        or person.email in team.emails
        or (person.mailbox and person.mailbox in team.mailboxes)
    ):
        return {"team": "the reviewer is a member of the team"}
    found: dict[str, str] = {}
    if (person.ror and person.ror in team.rors) or (
        person.institution_key and person.institution_key in team.institution_keys
    ):
        found["institution"] = "same institution as a team member"
    for rel in relations:
        declared_by_person = rel.user_id == person.user_id and rel.other_email in team.emails
        declared_by_team = rel.user_id in team.user_ids and rel.other_email == person.email
        if not (declared_by_person or declared_by_team):
            continue
        if rel.kind == "personal":
            found["personal"] = rel.note or "declared personal conflict"
        elif rel.year is None or year - rel.year <= coauthor_years:
            found["coauthor"] = f"declared {rel.kind} ({rel.year or 'recent'})"
    if "coauthor" not in found:
        years = [
            y
            for key, y in person.coauthors
            if key in team.name_keys and (y is None or year - y <= coauthor_years)
        ]
        if years:
            recent = max((y for y in years if y is not None), default=None)
            found["coauthor"] = f"co-author in the reviewer's publications ({recent or 'recent'})"
    return found


class ConflictIndex:
    """:func:`conflict_sources` for every person against a team, without testing every pair.

    A person can be conflicted with a team only through a fact they share with it: an
    account, e-mail or mailbox on the team, a ROR id or institution key, a declared relation
    naming one side or the other, or a co-author's name key. The index maps each fact to
    the people who have it, so :meth:`sources` tests only those people, each against the
    relations that name them (in their original order), and returns exactly what calling
    :func:`conflict_sources` on every person would return (a test compares the two).
    """

    def __init__(self, people: list[PersonFacts], relations: list[Relation]) -> None:
        self.people = people
        self.by_uid: dict[int, list[int]] = {}
        self.by_email: dict[str, list[int]] = {}
        self.by_mailbox: dict[str, list[int]] = {}
        self.by_ror: dict[str, list[int]] = {}
        self.by_inst: dict[str, list[int]] = {}
        self.by_coauthor: dict[tuple[str, str], list[int]] = {}
        for i, p in enumerate(people):
            self.by_uid.setdefault(p.user_id, []).append(i)
            self.by_email.setdefault(p.email, []).append(i)
            if p.mailbox:
                self.by_mailbox.setdefault(p.mailbox, []).append(i)
            if p.ror:
                self.by_ror.setdefault(p.ror, []).append(i)
            if p.institution_key:
                self.by_inst.setdefault(p.institution_key, []).append(i)
            for key in {key for key, _ in p.coauthors}:
                self.by_coauthor.setdefault(key, []).append(i)
        self.relations = relations
        self.rel_by_user: dict[int, list[int]] = {}
        self.rel_by_email: dict[str, list[int]] = {}
        for k, rel in enumerate(relations):
            self.rel_by_user.setdefault(rel.user_id, []).append(k)
            self.rel_by_email.setdefault(rel.other_email, []).append(k)

    def candidates(self, team: TeamFacts) -> list[int]:
        """Indices (in ``people``, ascending) of everyone who shares a fact with ``team``."""
        found: set[int] = set()
        for uid in team.user_ids:
            found.update(self.by_uid.get(uid, ()))
            # relations declared by a team member about a person's e-mail
            for k in self.rel_by_user.get(uid, ()):
                found.update(self.by_email.get(self.relations[k].other_email, ()))
        for email in team.emails:
            found.update(self.by_email.get(email, ()))
            # relations declared by a person about a team member's e-mail
            for k in self.rel_by_email.get(email, ()):
                found.update(self.by_uid.get(self.relations[k].user_id, ()))
        for mailbox in team.mailboxes:
            found.update(self.by_mailbox.get(mailbox, ()))
        for ror in team.rors:
            found.update(self.by_ror.get(ror, ()))
        for key in team.institution_keys:
            found.update(self.by_inst.get(key, ()))
        for name in team.name_keys:
            found.update(self.by_coauthor.get(name, ()))
        return sorted(found)

    def sources(
        self, team: TeamFacts, *, coauthor_years: int, year: int
    ) -> list[tuple[PersonFacts, dict[str, str]]]:
        """(person, {source: detail}) for every person with a conflict with ``team``."""
        out = []
        for i in self.candidates(team):
            person = self.people[i]
            mine = sorted(
                {
                    *self.rel_by_user.get(person.user_id, ()),
                    *self.rel_by_email.get(person.email, ()),
                }
            )
            found = conflict_sources(
                person,
                team,
                [self.relations[k] for k in mine],
                coauthor_years=coauthor_years,
                year=year,
            )
            if found:
                out.append((person, found))
        return out


Pair = tuple[int, int]  # (proposal id, reviewer id)


#: the longest ring of reviewers the assignment keeps out (trialcrowd11; two and three
#: before). Not every length: whenever everyone in a call reviews and is reviewed
#: (distributed review), the graph of who judges whom has a cycle, and one of at most
#: ceil(n / k) people for n applicants reviewing k each (Caccetta and Haggkvist, proven for
#: k <= 5), so no assignment covers a call of n <= MAX_RING * k applicants free of rings up
#: to the bound; the bound is what a call gives up (more than 15 applicants at k = 3 for a
#: full cover), and the rings are enumerated in time growing as the reviews a person does
#: to the power of the bound. Six people round a ring, each matched to the next against
#: the affinities of the rest of the call, is a conspiracy the bound leaves to the chair's
#: eye and the bias report.
MAX_RING = 5


def _links(
    pairs: Iterable[Pair], teams: Mapping[int, frozenset[int] | set[int]]
) -> dict[int, dict[int, Pair]]:
    """link[r][u]: the lowest pair by which reviewer r judges person u."""
    link: dict[int, dict[int, Pair]] = {}
    for pid, rid in pairs:
        for uid in teams.get(pid, ()):
            if uid != rid:
                mine = link.setdefault(rid, {})
                old = mine.get(uid)
                if old is None or (pid, rid) < old:
                    mine[uid] = (pid, rid)
    return link


def rings(out: Mapping[int, Iterable[int]], start: int, max_len: int) -> list[tuple[int, ...]]:
    """The simple cycles of at most ``max_len`` people whose smallest person is
    ``start``, in the graph ``out`` (person to the people they judge), each as its people
    in the order they judge, from ``start``. Depth-first, through people above ``start``
    who judge someone (a person who judges nobody closes no cycle)."""
    found: list[tuple[int, ...]] = []
    path = [start]
    on_path = {start}

    def walk(x: int) -> None:
        for y in sorted(out.get(x, ())):
            if y == start:
                if len(path) >= 2:
                    found.append(tuple(path))
            elif y > start and y not in on_path and len(path) < max_len and out.get(y):
                path.append(y)
                on_path.add(y)
                walk(y)
                path.pop()
                on_path.discard(y)

    walk(start)
    return found


def collusion_cycles(
    pairs: Iterable[Pair],
    teams: Mapping[int, frozenset[int] | set[int]],
    max_len: int = MAX_RING,
) -> list[tuple[Pair, ...]]:
    """The cycles of two to ``max_len`` people among review pairs (trialcrowd10: two and
    three; trialcrowd11: up to ``MAX_RING``).

    A pair ``(proposal, reviewer)`` makes the reviewer judge everyone on the proposal's
    team (``teams``: proposal id to the accounts on its team). Two people who judge each
    other (reciprocal reviewing), or a ring of people each judging the next (A judges B,
    B judges C, ..., the last judges A) can trade grades: the assignment never forms such
    a cycle. Each cycle is given once, as the pairs that make it (one per link, the lowest
    pair of a link that several proposals make), links in the order of the cycle from its
    smallest person. A longer ring is not reported (``MAX_RING`` says why).
    """
    link = _links(pairs, teams)
    out: list[tuple[Pair, ...]] = []
    for r in sorted(link):
        for ring in rings(link, r, max_len):
            nxt = ring[1:] + ring[:1]
            out.append(tuple(link[a][b] for a, b in zip(ring, nxt, strict=True)))
    return out


class JudgeGraph:
    """Who judges whom through a changing set of review pairs (``collusion_cycles``'s
    graph), to try a swap of reviewers and count the cycles it makes or undoes."""

    def __init__(
        self, pairs: Iterable[Pair], teams: Mapping[int, frozenset[int]], max_len: int = MAX_RING
    ) -> None:
        self.teams = teams
        self.max_len = max_len
        self.count: dict[tuple[int, int], int] = {}
        self.out: dict[int, set[int]] = {}
        self.inn: dict[int, set[int]] = {}
        for pair in pairs:
            self.add(pair)

    def add(self, pair: Pair, sign: int = 1) -> None:
        pid, rid = pair
        for uid in self.teams.get(pid, ()):
            if uid == rid:
                continue
            n = self.count.get((rid, uid), 0) + sign
            self.count[(rid, uid)] = n
            if n > 0:
                self.out.setdefault(rid, set()).add(uid)
                self.inn.setdefault(uid, set()).add(rid)
            else:
                self.out.get(rid, set()).discard(uid)
                self.inn.get(uid, set()).discard(rid)

    def remove(self, pair: Pair) -> None:
        self.add(pair, -1)

    def within(self, start: Iterable[int], steps: int, reverse: bool = False) -> set[int]:
        """The people ``start`` judges through 1 to ``steps`` links (``reverse``: the
        people who judge someone of ``start`` so), breadth first."""
        edges = self.inn if reverse else self.out
        seen: set[int] = set()
        front = set(start)
        for _ in range(steps):
            front = {y for x in front for y in edges.get(x, ())} - seen
            if not front:
                break
            seen |= front
        return seen

    def cycles_through(self, people: Iterable[int]) -> set[tuple[int, ...]]:
        """The cycles of two to ``max_len`` people through any of ``people``, each as its
        people from the smallest, in the order they judge."""
        found: set[tuple[int, ...]] = set()
        for x in people:
            # depth-first from x back to x, through anyone (x need not be the smallest)
            path = [x]
            on_path = {x}
            stack = [iter(self.out.get(x, ()))]
            while stack:
                y = next(stack[-1], None)
                if y is None:
                    stack.pop()
                    on_path.discard(path.pop())
                    continue
                if y == x:
                    i = path.index(min(path))
                    found.add(tuple(path[i:] + path[:i]))
                elif y not in on_path and len(path) < self.max_len and self.out.get(y):
                    path.append(y)
                    on_path.add(y)
                    stack.append(iter(self.out[y]))
        return found


def reviewing_collusion() -> DomainError:
    """The refusal of a pair that would close a cycle of reviewers (``collusion_cycles``)."""
    return DomainError(
        "This pair would have reviewers review each other's proposals (directly or round a "
        "ring of up to %(n)s people); the pair is refused.",
        n=MAX_RING,
        code="conflict",
    )


def conflicted_pair() -> DomainError:
    """The refusal of a reviewer and proposal that may not be paired, in the same words
    whatever the reason (a conflict, or the reviewer on the team: the refusal must not
    tell who is on the team)."""
    return DomainError(
        "This reviewer is conflicted with this proposal; the pair is refused.", code="conflict"
    )


#: a safety review's decisions (trialfac24): ``pending`` classes the samples only
SAFETY_DECISIONS = ("pending", "approved", "refused")


def safety_hold(
    hazard_class: str | None, decision: str | None, approval_required: Sequence[str]
) -> str | None:
    """What a proposal's safety review says of its award: ``"refused"`` (never awarded,
    whatever its grade), ``"unreviewed"`` (no safety review yet) or ``"awaiting"`` (a
    class that needs approval, not yet approved): the decisions' release waits for the
    last two. None: nothing holds it."""
    if decision == "refused":
        return "refused"
    if hazard_class is None:
        return "unreviewed"
    if hazard_class in approval_required and decision != "approved":
        return "awaiting"
    return None
