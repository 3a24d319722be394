"""Pure rules of the review engine: when a person may not judge a proposal.

One rule for every reviewing role (panel reviewers and technical reviewers alike):
``conflict_sources`` names the reasons a person is conflicted with a team, from
facts the caller gathered (no database here).
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class PersonFacts:
    user_id: int
    email: str
    institution_key: str | None = None
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
    if person.user_id in team.user_ids or person.email in team.emails:
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
