"""Pure rules of proposals: the life cycle, coordinates, limits, content hash."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from opencall.errors import DomainError
from opencall.people.bibliography import author_key
from opencall.people.domain import institution_key

PROPOSAL_STATES = (
    "draft",
    "submitted",
    "withdrawn",
    "under_review",
    "accepted",
    "rejected",
    "set_aside",
)

PROPOSAL_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("submitted", "withdrawn"),
    "submitted": ("submitted", "withdrawn", "under_review"),
    "withdrawn": ("draft",),
    # withdrawn by its PI, or by the user office on their request, until the review is
    # over (``WITHDRAWABLE_CALL``; trialop22)
    "under_review": ("accepted", "rejected", "set_aside", "withdrawn"),
    "accepted": ("rejected",),
    "rejected": ("accepted",),
    # set aside at triage (out of scope, technically infeasible, incomplete) before the
    # review, and back while the call's reviews are not assigned: ``reviews.services.triage``
    "set_aside": ("under_review",),
}

#: the states of its call in which a proposal frozen by the close (under review) may still
#: be withdrawn: before its reviews are complete (the ranking, then the allocation, follow)
WITHDRAWABLE_CALL = ("closed", "review")

#: why a proposal is set aside at triage (``TriageDecision.category``)
TRIAGE_CATEGORIES = ("out_of_scope", "infeasible", "incomplete")

#: the states of a proposal whose submitted revision counts: submitted, then frozen at
#: that revision by the close of its call (or the cut of a continuous call's batch)
COUNTED = ("submitted", "under_review", "accepted", "rejected", "set_aside")


def check_proposal_transition(current: str, target: str) -> None:
    if target not in PROPOSAL_STATES:
        raise DomainError(
            "Unknown proposal status %(status)s", code="illegal_transition", status=repr(target)
        )
    allowed = PROPOSAL_TRANSITIONS.get(current, ())
    if target not in allowed:
        nxt = ", ".join(allowed) or "nothing"
        raise DomainError(
            "A proposal cannot move from '%(a)s' to '%(b)s'; from '%(c)s' it can go to: %(next)s.",
            code="illegal_transition",
            a=current,
            b=target,
            c=current,
            next=nxt,
        )


_SEXA = re.compile(
    r"^\s*([+-]?)\s*(\d{1,3})(?:[\s:hd°]\s*(\d{1,2})(?:[\s:m']\s*(\d{1,2}(?:\.\d*)?))?)?\s*[s\"]?\s*$",
    re.IGNORECASE,
)


def _sexagesimal(text: str) -> tuple[int, float, float, float] | None:
    m = _SEXA.match(text)
    if not m or (m.group(3) is None and not re.search(r"[\s:hd°]", text.strip())):
        return None
    sign = -1 if m.group(1) == "-" else 1
    a = float(m.group(2))
    b = float(m.group(3) or 0)
    c = float(m.group(4) or 0)
    if b >= 60 or c >= 60:
        raise ValueError("minutes and seconds must be below 60")
    return sign, a, b, c


def _parse_angle(value: Any, what: str, formats: str, from_sexagesimal: Any) -> float:
    """Degrees from a number, a decimal string or a sexagesimal string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not (isinstance(value, str) and value.strip()):
        raise ValueError(f"{what} is required")
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        parsed = _sexagesimal(text)
        if parsed is None:
            raise ValueError(f"{what} must be {formats}") from None
        return float(from_sexagesimal(*parsed))


def _ra_hours(sign: int, h: float, m: float, s: float) -> float:
    if sign < 0:
        raise ValueError("right ascension cannot be negative")
    if h >= 24:
        raise ValueError("right ascension hours must be below 24")
    return (h + m / 60 + s / 3600) * 15.0


def parse_ra(value: Any) -> float:
    """Right ascension in degrees from degrees or sexagesimal hours ("05:34:31.9", "5h34m31.9s").

    Hand-written (a few lines) rather than astropy's Angle parser so that a form
    line is judged in microseconds and every error message is our own.
    """
    deg = _parse_angle(
        value,
        "right ascension",
        "degrees (83.63) or hours h:m:s (05:34:31.9)",
        _ra_hours,
    )
    if not 0 <= deg < 360:
        raise ValueError("right ascension must be between 0 and 360 degrees")
    return deg


def parse_dec(value: Any) -> float:
    """Declination in degrees from degrees or sexagesimal ("+22:00:52", "-05d23m")."""
    deg = _parse_angle(
        value,
        "declination",
        "degrees (22.01) or d:m:s (+22:00:52)",
        lambda sign, d, m, s: sign * (d + m / 60 + s / 3600),
    )
    if not -90 <= deg <= 90:
        raise ValueError("declination must be between -90 and +90 degrees")
    return deg


def word_count(text: str) -> int:
    return len(text.split())


def content_hash(content: dict[str, Any]) -> str:
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def name_fact(key: tuple[str, str]) -> str:
    """A member's name key (``people.bibliography.author_key``) as a fact's value."""
    return json.dumps(list(key), ensure_ascii=False)


def revision_facts(content: dict[str, Any]) -> set[tuple[str, str]]:
    """(kind, value) of every fact the team of a frozen revision is known by, as the
    conflict rules read it (``reviews.queries.team_facts``): each member's e-mail
    (``email``), institution id (``inst``, whose ROR id is looked up when needed),
    institution name key (``key``) and name key (``name``)."""
    out: set[tuple[str, str]] = set()
    for t in content.get("team", []):
        if t.get("email"):
            out.add(("email", t["email"]))
        if t.get("institution_id"):
            out.add(("inst", str(t["institution_id"])))
        if t.get("institution"):
            out.add(("key", institution_key(t["institution"])))
        key = author_key(t.get("name", ""))
        if key:
            out.add(("name", name_fact(key)))
    return out


def counted_choices(bundles: Sequence[str | None], cap: int | None) -> list[bool]:
    """Which of a proposal's requests (their bundles, in the applicant's order) its
    requested amount counts: all of them, or under a cap of ``cap`` awards per PI its
    first ``cap`` choices (a bundle is one choice, a request without one another), the
    others being alternatives it cannot also be awarded (an "any node" application lists
    every node it would go to, to be given one)."""
    if cap is None:
        return [True] * len(bundles)
    keys = _choice_keys(bundles)
    order: dict[object, int] = {}
    for key in keys:
        order.setdefault(key, len(order))
    return [order[key] < cap for key in keys]


_K = TypeVar("_K")


def _choice_keys(bundles: Sequence[str | None]) -> list[object]:
    """Each request's choice: its bundle, or the request alone when it has none."""
    return [b if b is not None else ("request", i) for i, b in enumerate(bundles)]


def most_of_each(
    bundles: Sequence[str | None], amounts: Sequence[tuple[_K, float]], cap: int | None
) -> dict[_K, float]:
    """Per resource (``_K``), the most of it a proposal asks to be awarded: its requests
    (their bundles and (resource, amount), in the applicant's order) summed by choice,
    and of each resource the ``cap`` largest choices' amounts added (every choice without
    a cap). Two alternatives that name one resource (a tool's hours in person, or the
    same hours remote-assisted) ask for it once, not twice; alternatives naming different
    resources (the nodes of an "any node" application) each ask for their own."""
    per: dict[_K, dict[object, float]] = {}
    for key, (res, amount) in zip(_choice_keys(bundles), amounts, strict=True):
        by_choice = per.setdefault(res, {})
        by_choice[key] = by_choice.get(key, 0.0) + amount
    return {
        res: float(sum(sorted(by_choice.values(), reverse=True)[:cap]))
        for res, by_choice in per.items()
    }
