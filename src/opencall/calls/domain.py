"""Pure rules of calls: the life cycle state machine and the open window."""

from __future__ import annotations

import datetime as dt

from opencall.errors import N_, DomainError

CALL_STATES = (
    "draft",
    "open",
    "closed",
    "review",
    "ranking",
    "allocation",
    "scheduling",
    "published",
    "archived",
)

CALL_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("open",),
    "open": ("closed",),
    "closed": ("review",),
    "review": ("ranking",),
    "ranking": ("allocation", "review"),
    "allocation": ("scheduling", "ranking"),
    "scheduling": ("published", "allocation"),
    "published": ("archived",),
    "archived": (),
}


# the words for each state: the pages' ``status_label`` (``calls.presenters``) and a
# refused transition name the states with them, so that the reader's language
# translates each word with the sentence (``Translator.error``: a text parameter that
# is a catalogued message is translated)
CALL_STATE_WORDS: dict[str, str] = {
    "draft": N_("draft"),
    "open": N_("open"),
    "closed": N_("closed"),
    "review": N_("in review"),
    "ranking": N_("ranking"),
    "allocation": N_("allocation"),
    "scheduling": N_("scheduling"),
    "published": N_("results published"),
    "archived": N_("archived"),
}


def check_call_transition(current: str, target: str) -> None:
    if target not in CALL_STATES:
        raise DomainError(
            "Unknown call status %(status)s: the statuses are %(statuses)s.",
            code="illegal_transition",
            status=repr(target),
            statuses=", ".join(CALL_STATES),
        )
    allowed = CALL_TRANSITIONS.get(current, ())
    if target in allowed:
        return
    said = {"a": CALL_STATE_WORDS.get(current, current), "b": CALL_STATE_WORDS[target]}
    nxt = [CALL_STATE_WORDS[s] for s in allowed]
    if not nxt:
        raise DomainError(
            "A call cannot move from '%(a)s' to '%(b)s'; '%(c)s' is its final state.",
            code="illegal_transition",
            c=said["a"],
            **said,
        )
    if len(nxt) == 1:
        raise DomainError(
            "A call cannot move from '%(a)s' to '%(b)s'; from '%(c)s' it can go to: %(next)s.",
            code="illegal_transition",
            c=said["a"],
            next=nxt[0],
            **said,
        )
    raise DomainError(
        "A call cannot move from '%(a)s' to '%(b)s'; from '%(c)s' it can go to: %(next)s "
        "or %(other)s.",
        code="illegal_transition",
        c=said["a"],
        next=nxt[0],
        other=nxt[1],
        **said,
    )


def is_open_at(
    status: str, opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime
) -> bool:
    """Open to submissions: status 'open' and opens_at <= now < closes_at (UTC, to the second)."""
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    return status == "open" and opens_at <= now < closes_at


def server_instant(when: dt.datetime) -> str:
    """``when`` in UTC to the millisecond, as a refusal states the server's time
    ("2027-04-15 11:15:02.250")."""
    utc = when.astimezone(dt.UTC)
    return f"{utc:%Y-%m-%d %H:%M:%S}.{utc.microsecond // 1000:03d}"


def require_open(
    status: str, opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime
) -> None:
    if is_open_at(status, opens_at, closes_at, now):
        return
    if status == "open" and now < opens_at:
        raise DomainError(
            "This call opens at %(when)s UTC; it is not open yet.",
            code="call_not_open",
            when=format(opens_at.astimezone(dt.UTC), "%Y-%m-%d %H:%M:%S"),
        )
    if status in ("open", "closed") or now >= closes_at:
        # the moment the request reached the server, to the millisecond, beside the
        # deadline: a request received within the deadline's second reads as late, and an
        # applicant whose own clock was behind sees why (trialcrowd24)
        raise DomainError(
            "The deadline passed at %(when)s UTC; the call is closed. "
            "Your request reached the server at %(received)s UTC.",
            code="call_not_open",
            when=format(closes_at.astimezone(dt.UTC), "%Y-%m-%d %H:%M:%S"),
            received=server_instant(now),
        )
    raise DomainError(
        "This call is not open (status: %(status)s).", code="call_not_open", status=status
    )


# ----------------------------------------------------------------------------- batches
#
# A call in the "continuous" mode takes proposals at any time between its opening and its
# close and reviews them in batches: at each cut-off (the close the last of them) what
# was submitted before it becomes a batch, a call of its own that runs the cycle.

CALL_MODES = ("deadline", "continuous")


def cutoff_list(
    mode: str, opens_at: dt.datetime, closes_at: dt.datetime, cutoffs: list[dt.datetime]
) -> list[dt.datetime]:
    """The cut-offs of a call, in order, the close the last of them (added when not
    given); refused unless each lies after the opening and no later than the close, and a
    call with one deadline has none."""
    if mode not in CALL_MODES:
        raise DomainError("Unknown call mode %(mode)s.", field="mode", mode=repr(mode))
    if mode == "deadline":
        if cutoffs:
            raise DomainError(
                "Review cut-offs belong to a call in the continuous mode; this call has "
                "one deadline.",
                field="cutoffs",
            )
        return []
    out: list[dt.datetime] = []
    for c in sorted({c.astimezone(dt.UTC).replace(microsecond=0) for c in cutoffs}):
        if not opens_at < c <= closes_at:
            raise DomainError(
                "The review cut-off %(when)s UTC is not between the opening and the close "
                "of the call.",
                field="cutoffs",
                when=format(c, "%Y-%m-%d %H:%M:%S"),
            )
        out.append(c)
    if not out or out[-1] != closes_at:
        out.append(closes_at)
    return out


def parse_cutoffs(stored: list[str]) -> list[dt.datetime]:
    """A call's stored cut-offs (ISO instants in UTC) as datetimes."""
    return [dt.datetime.fromisoformat(s).astimezone(dt.UTC) for s in stored]


def next_cutoff(cutoffs: list[dt.datetime], done: int, submitted_at: dt.datetime) -> int | None:
    """The index of the batch a proposal submitted at ``submitted_at`` goes into: the
    first cut-off not yet cut that comes after its submission (a proposal submitted after
    a cut-off, even one not cut yet, rolls to the next); None when none is left."""
    for i in range(done, len(cutoffs)):
        if submitted_at < cutoffs[i]:
            return i
    return None


def due_cutoffs(cutoffs: list[dt.datetime], done: int, now: dt.datetime) -> list[int]:
    """The indexes of the cut-offs not yet cut whose time has come by ``now``."""
    return [i for i in range(done, len(cutoffs)) if cutoffs[i] <= now]


#: The World Bank income groups a call may be limited to (``Call.eligibility``'s
#: ``income_groups``), as the reference data names them (``Country.income_group``).
ELIGIBLE_INCOME_GROUPS: tuple[str, ...] = ("low", "lower-middle", "upper-middle", "high")


def check_eligibility(value: object) -> dict[str, list[str]]:
    """A call's eligibility, checked: an object whose one key, ``income_groups``, lists the
    World Bank income groups whose PIs may apply (:data:`ELIGIBLE_INCOME_GROUPS`, in their
    order, each once; empty or absent: everyone). Refused, naming what is wrong: another
    key, or a group the reference data does not know ("LIC" for "low"); before trialfac23b
    anything was stored, shown on the call's form and read by nothing."""
    if not isinstance(value, dict) or set(value) - {"income_groups"}:
        raise DomainError(
            "The eligibility is an object with income_groups, a list of the income groups "
            "whose PIs may apply (low, lower-middle, upper-middle, high).",
            field="eligibility",
        )
    groups = value.get("income_groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise DomainError(
            "The eligibility is an object with income_groups, a list of the income groups "
            "whose PIs may apply (low, lower-middle, upper-middle, high).",
            field="eligibility",
        )
    unknown = [g for g in groups if g.strip().lower() not in ELIGIBLE_INCOME_GROUPS]
    if unknown:
        raise DomainError(
            "%(group)s is not an income group; name low, lower-middle, upper-middle or high.",
            field="eligibility",
            group=repr(unknown[0]),
        )
    given = {g.strip().lower() for g in groups}
    kept = [g for g in ELIGIBLE_INCOME_GROUPS if g in given]
    return {"income_groups": kept} if kept else {}


def eligible_income_group(eligibility: dict[str, object], group: str) -> bool:
    """Whether a PI of a country in the income ``group`` ("" when unclassified) may apply
    to a call of this ``eligibility``: any when it names no group, else only a group named
    (an unclassified country is in none)."""
    groups = eligibility.get("income_groups") or []
    return not groups or (bool(group) and group in groups)  # type: ignore[operator]


def team_counted(member_groups: list[str], income_groups: list[str]) -> int:
    """How many members of a team a resource's limits count (trialfac24): those whose
    country is in one of ``income_groups`` (each member's income group in
    ``member_groups``, "" when unclassified), or every member when it names none."""
    if not income_groups:
        return len(member_groups)
    return sum(1 for g in member_groups if g and g in income_groups)
