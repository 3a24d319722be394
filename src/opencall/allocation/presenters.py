"""The allocation's words for people: the call's policy as sentences and each
decision's explanation in the reader's language (used by the chair's pages, the
applicant's outcome page and the API's e-mails)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opencall.calls.models import Call
from opencall.calls.schemas import share_group_parts
from opencall.facilities.domain import unit_label
from opencall.inputs import local_number
from opencall.optim.messages import SEPARATOR, is_message, render
from opencall.web.i18n import N_, Translator
from opencall.web.labels import GROUP_LABELS
from opencall.web.labels import REQUEST_KINDS as KINDS

#: the TAC chair's bands (``allocation.tac``), as the pages name them
BAND_LABELS = {
    "accept": N_("accept"),
    "reserve": N_("reserve"),
    "reject": N_("reject"),
    "": N_("no band"),
}

#: A decision's outcome (``Decision.outcome``) in words: the chair's decisions page and the
#: applicant's outcome page say the same.
OUTCOME_LABELS = {
    "awarded": N_("awarded"),
    "partial": N_("partly awarded"),
    "awarded_partially": N_("partly awarded"),
    "waitlisted": N_("waiting list"),
    "not_awarded": N_("not awarded"),
}
POLICY_WHOLE = N_("Awards are whole: a request is awarded in full or not at all.")
POLICY_PARTIAL = N_("Awards may be partial, down to %(pct)s of a request.")
#: said after POLICY_PARTIAL when the call offers several resources (usage23): each
#: request is cut by its own fraction (``allocation.services.build_problem``)
POLICY_PARTIAL_EACH = N_(
    "Each resource a proposal asks for is cut on its own: one project may receive a "
    "different share of each (its decision says which)."
)
POLICY_BUNDLE = N_(
    "Requests a proposal marks as one bundle are awarded all together, in full, or not at all."
)
#: a call with a safety review (``review_settings.hazard_classes``; trialfac24)
POLICY_SAFETY = N_(
    "Every proposal's samples get a safety review, classed as one of: %(classes)s. A "
    "proposal the safety review refuses is not awarded, whatever its grade."
)
POLICY_SAFETY_APPROVAL = N_(
    "An award of samples classed %(classes)s is final only once the safety officer has "
    "approved them."
)
#: One award or several per PI: said with the number's plural form (ngettext).
POLICY_PI_AWARDS_N = (
    "At most %(num)s award per principal investigator.",
    "At most %(num)s awards per principal investigator.",
)
#: The groups a share rule may name (``calls.schemas.SHARE_GROUPS``), by their names for
#: people.
POLICY_GROUPS = {
    "ldc": GROUP_LABELS["LDC"],
    "low_lmic": N_("Low and lower-middle income"),
    "low": GROUP_LABELS["low"],
    "lower-middle": GROUP_LABELS["lower-middle"],
    "host": GROUP_LABELS["host"],
    "international": GROUP_LABELS["international"],
    "first_time": N_("First-time users"),
    "countries": N_("Teams from the countries the call lists"),
}
#: a share rule's group joined by ``+`` (``low+first_time``): the proposals in both
POLICY_GROUP_AND = N_("%(group)s and %(other)s")


def share_group_words(t: Callable[[str], str], group: str, countries: Sequence[str] = ()) -> str:
    """A share rule's group for people: "Low income", "Low income and first-time users"
    (``low+first_time``; the later names' first letter in lower case); the group
    ``countries`` followed by the codes it lists when ``countries`` are given."""
    words = [t(POLICY_GROUPS[p]) if p in POLICY_GROUPS else p for p in share_group_parts(group)]
    if countries:
        words = [
            f"{w} ({', '.join(countries)})" if p == "countries" else w
            for p, w in zip(share_group_parts(group), words, strict=True)
        ]
    out = words[0]
    for w in words[1:]:
        out = t(POLICY_GROUP_AND) % {"group": out, "other": w[:1].lower() + w[1:]}
    return out


POLICY_PI_AMOUNT = N_("At most %(amount)s per principal investigator.")
POLICY_PI_AMOUNT_POOL = N_("At most %(amount)s of %(resource)s per principal investigator.")
POLICY_THRESHOLD = N_("Only proposals graded at least %(grade)s can be awarded.")
POLICY_THRESHOLD_LOW = N_(
    "Only proposals graded %(grade)s or better (lower is better) can be awarded."
)
POLICY_SHARE = N_("At least %(share)s of the capacity goes to the group %(group)s when it can.")
POLICY_SHARE_Q = N_(
    "At least %(share)s of the capacity goes to the group %(group)s when it can, counting "
    "only proposals graded at least %(grade)s."
)
POLICY_SHARE_Q_LOW = N_(
    "At least %(share)s of the capacity goes to the group %(group)s when it can, counting "
    "only proposals graded %(grade)s or better (lower is better)."
)
POLICY_LIMIT_PROPOSAL = N_("%(resource)s: at most %(amount)s per proposal.")
POLICY_LIMIT_TOTAL = N_("%(resource)s: at most %(amount)s awarded in total.")
#: a resource's limits on the team (``resource_limits``: max_per_person, income_groups;
#: trialfac24): a travel grant per traveller, to the travellers of some income groups
POLICY_LIMIT_PERSON = N_(
    "%(resource)s: at most %(amount)s per team member; a request for more is not awarded."
)
POLICY_LIMIT_GROUPS = N_(
    "%(resource)s goes only to team members from countries of these income groups: "
    "%(groups)s (only they are counted)."
)
POLICY_BLIND = N_("Nationality-blind: no group derived from nationality is used.")
#: an urgent call's rule (``AllocationPolicyDoc.preempts``, trialfac24b)
POLICY_PREEMPTS = N_(
    "Urgent call: its awards may pre-empt slots of the same resources booked by other calls "
    "and not yet begun; each team moved is placed again within its dates where a slot is "
    "free, and told why."
)
#: caps per group (``group_caps``): awards said with the number's plural form (ngettext)
POLICY_CAP_AWARDS_N = {
    "country": (
        "At most %(num)s award per country (the principal investigator's).",
        "At most %(num)s awards per country (the principal investigator's).",
    ),
    "income_group": (
        "At most %(num)s award per income group (of the principal investigator's country).",
        "At most %(num)s awards per income group (of the principal investigator's country).",
    ),
    "un_region": (
        "At most %(num)s award per UN region (of the principal investigator's country).",
        "At most %(num)s awards per UN region (of the principal investigator's country).",
    ),
}
POLICY_CAP_AMOUNT = {
    "country": N_("At most %(amount)s per country (the principal investigator's)."),
    "income_group": N_(
        "At most %(amount)s per income group (of the principal investigator's country)."
    ),
    "un_region": N_("At most %(amount)s per UN region (of the principal investigator's country)."),
}
POLICY_CAP_AMOUNT_POOL = {
    "country": N_("At most %(amount)s of %(resource)s per country (the principal investigator's)."),
    "income_group": N_(
        "At most %(amount)s of %(resource)s per income group (of the principal investigator's "
        "country)."
    ),
    "un_region": N_(
        "At most %(amount)s of %(resource)s per UN region (of the principal investigator's "
        "country)."
    ),
}
# Messages calls.schemas.check_policy composes in English (refused policies), catalogued for
# Translator.message (templates are looked up across every catalogue)
POLICY_MESSAGES = (
    N_(
        "Invalid allocation policy: %(field)s: %(value)s lies outside the grade scale "
        "%(low)s-%(high)s."
    ),
    N_("Invalid allocation policy: %(field)s: resource %(key)s is not offered by this call."),
    N_(
        "Invalid allocation policy: %(field)s: %(value)s is more than the %(amount)s that "
        "%(resource)s offers."
    ),
    N_(
        "Invalid allocation policy: pi_cap_amount: the call's resources have different units; "
        "give the cap per resource ({pool id: amount})."
    ),
    N_(
        "Invalid allocation policy: %(field)s: the call's resources have different units; "
        "give the cap per resource ({pool id: amount})."
    ),
)


def policy_lines(t: Any, call: Call, lang: str = "en") -> list[str]:
    """The call's allocation policy as translated sentences (``t`` is ``page._``,
    ``lang`` the page's language: an operator-named unit is shown by its label in it)."""
    from opencall.calls.schemas import allocation_policy, review_settings

    ap = allocation_policy(call.allocation_policy)
    rs = review_settings(call.review_settings)
    low = rs.lower_is_better
    pools = {str(cp.pool_id): cp.pool for cp in call.pools}
    first = call.pools[0].pool if call.pools else None

    def amount(value: float, pool: Any) -> str:
        number = local_number(value, lang)
        if pool is None:
            return number
        return f"{number} {unit_label(pool.unit, pool.unit_labels, value, lang)}"

    lines = [
        t(POLICY_PARTIAL, pct=f"{ap.min_fraction:.0%}")
        if ap.award_mode == "partial"
        else t(POLICY_WHOLE),
        t(POLICY_BUNDLE),
    ]
    # a custom resource's request is its own (a telescope's LST ranges or a vessel's
    # berths and dives are one request of the proposal, cut by one fraction)
    if ap.award_mode == "partial" and sum(cp.pool.pool_type == "custom" for cp in call.pools) > 1:
        lines.insert(1, t(POLICY_PARTIAL_EACH))
    if ap.pi_cap_awards is not None:
        lines.append(Translator(lang).ngettext(*POLICY_PI_AWARDS_N, ap.pi_cap_awards))
    if isinstance(ap.pi_cap_amount, dict):
        for key, value in ap.pi_cap_amount.items():
            pool = pools.get(key)
            if pool is not None:
                lines.append(
                    t(POLICY_PI_AMOUNT_POOL, amount=amount(value, pool), resource=pool.name)
                )
    elif ap.pi_cap_amount is not None:
        lines.append(t(POLICY_PI_AMOUNT, amount=amount(ap.pi_cap_amount, first)))
    if ap.quality_threshold is not None:
        lines.append(
            t(POLICY_THRESHOLD_LOW if low else POLICY_THRESHOLD, grade=f"{ap.quality_threshold:g}")
        )
    for g in ap.group_shares:
        share = f"{g.min_share:.0%}"
        group = share_group_words(t, g.group, g.countries)
        if g.min_quality is None:
            lines.append(t(POLICY_SHARE, share=share, group=group))
        else:
            lines.append(
                t(
                    POLICY_SHARE_Q_LOW if low else POLICY_SHARE_Q,
                    share=share,
                    group=group,
                    grade=f"{g.min_quality:g}",
                )
            )
    for key, lim in ap.resource_limits.items():
        pool = pools.get(key)
        if pool is None:
            continue
        if lim.max_per_proposal is not None:
            lines.append(
                t(
                    POLICY_LIMIT_PROPOSAL,
                    resource=pool.name,
                    amount=amount(lim.max_per_proposal, pool),
                )
            )
        if lim.max_total is not None:
            lines.append(
                t(POLICY_LIMIT_TOTAL, resource=pool.name, amount=amount(lim.max_total, pool))
            )
        if lim.max_per_person is not None:
            lines.append(
                t(POLICY_LIMIT_PERSON, resource=pool.name, amount=amount(lim.max_per_person, pool))
            )
        if lim.income_groups:
            groups = ", ".join(t(GROUP_LABELS[g]) for g in lim.income_groups)
            lines.append(t(POLICY_LIMIT_GROUPS, resource=pool.name, groups=groups))
    for cap in ap.group_caps:
        if cap.max_awards is not None:
            lines.append(Translator(lang).ngettext(*POLICY_CAP_AWARDS_N[cap.per], cap.max_awards))
        if isinstance(cap.max_amount, dict):
            for key, value in cap.max_amount.items():
                pool = pools.get(key)
                if pool is not None:
                    lines.append(
                        t(
                            POLICY_CAP_AMOUNT_POOL[cap.per],
                            amount=amount(value, pool),
                            resource=pool.name,
                        )
                    )
        elif cap.max_amount is not None:
            lines.append(t(POLICY_CAP_AMOUNT[cap.per], amount=amount(cap.max_amount, first)))
    if ap.nationality_blind:
        lines.append(t(POLICY_BLIND))
    if ap.preempts:
        lines.append(t(POLICY_PREEMPTS))
    if rs.safety_review:
        lines.append(t(POLICY_SAFETY, classes=", ".join(rs.hazard_classes)))
        if rs.approval_required:
            lines.append(t(POLICY_SAFETY_APPROVAL, classes=", ".join(rs.approval_required)))
    return lines


def say(t: Translator, msg: Mapping[str, Any], units: Mapping[str, Any] | None = None) -> str:
    """A message the optimisers composed (``optim.messages``: a template and its
    parameters) in the reader's language: the template translated by its id and each
    parameter said as its kind says (a nested message translated the same way, an amount
    in the reader's digits, a unit by its label in the reader's language, ``units``: the
    words a call's resources give their own units, :func:`opencall.calls.queries.unit_words`;
    a text composed elsewhere in English through the catalogued templates). A translation
    that does not fit its parameters stays English. Nothing is parsed back from English."""
    params = msg.get("params") or {}
    text = str(msg.get("msg", ""))
    if not params:
        return t.gettext(text)
    values = {k: _param(t, v, units) for k, v in params.items()}
    try:
        return t.gettext(text) % values
    except (KeyError, TypeError, ValueError):
        try:
            return text % values
        except (KeyError, TypeError, ValueError):
            return render(msg)


def _param(t: Translator, value: Any, units: Mapping[str, Any] | None) -> str:
    if is_message(value):
        return say(t, value, units)
    if isinstance(value, list | tuple):
        return SEPARATOR.join(_param(t, v, units) for v in value)
    if isinstance(value, Mapping):
        if "items" in value:
            return str(value.get("sep", SEPARATOR)).join(
                _param(t, v, units) for v in value["items"]
            )
        if "number" in value:
            return local_number(float(value["number"]), t.lang)
        if "unit" in value:
            amount = value.get("amount")
            code = str(value["unit"])
            return unit_label(
                code, (units or {}).get(code), None if amount is None else float(amount), t.lang
            )
        if "share_group" in value:  # a share rule's group, by its name
            return share_group_words(t.gettext, str(value["share_group"]))
        if "text" in value:  # composed elsewhere in English, without an id
            return t.message(str(value["text"]))
    if isinstance(value, float):
        return local_number(value, t.lang)
    return str(value)


def explain(t: Translator, decision: Any, units: Mapping[str, Any] | None = None) -> str:
    """A decision's explanation in the reader's language: one sentence per request
    (prefixed by its kind when the proposal has several; a sentence the next request of
    its bundle repeats is said once), each said from its message id and parameters
    (:func:`say`; ``units``: the call's ``unit_words``). A decision stored before its
    explanation was kept as messages (``explanation_msg`` None) has only its English text,
    translated where a catalogued template matches it (:meth:`Translator.message`)."""
    parts = decision.explanation_msg
    if not parts:
        return _explain_stored_text(t, decision.explanation or "")
    out: list[str] = []
    for part in parts:
        said = say(t, part["message"], units)
        kind = part.get("kind")
        if kind:
            said = f"{t.gettext(KINDS[kind]) if kind in KINDS else kind}: {said}"
        # the requests of a bundle share their sentence: said once, not once a request
        if not out or out[-1] != said:
            out.append(said)
    return "; ".join(out)


#: where the English text of a decision stored before its messages passes from one
#: request to the next: "; " before a request kind and its colon ("berth: ...; dive: ...")
_NEXT_KIND = re.compile(rf"; (?=(?:{'|'.join(map(re.escape, KINDS))}): )")


def _explain_stored_text(t: Translator, text: str) -> str:
    """:func:`explain` of a decision stored before its explanation was kept as messages:
    its English text, each request's sentence translated where a catalogued template
    matches it (:meth:`Translator.message`), a request kind before it ("berth: ") said as
    a decision kept as messages says it; any other prefix as it was written."""
    out = []
    for part in _NEXT_KIND.split(text):
        kind, sep, rest = part.partition(": ")
        out.append(
            f"{t.gettext(KINDS[kind])}: {t.message(rest)}"
            if sep and kind in KINDS
            else t.message(part)
        )
    return "; ".join(out)


DECLINE_REASON_LABELS = {
    "visa": N_("visa or travel refused"),
    "funding": N_("funding fell through"),
    "dates": N_("the dates are no longer possible"),
    "other": N_("another reason"),
}


def decline_labels(page: Any) -> dict[str, Any]:
    """``reason_label(reason)`` for templates: a decline's reason in the reader's language
    (``page._``), a reason no longer on the list as it was stored."""
    return {"reason_label": lambda r: page._(DECLINE_REASON_LABELS.get(r) or r)}


#: what the chair who offered an award after a decline is told of the stored schedule
#: (``services.offer``), on the declines page and in the API's answer
OFFER_BOOKED = N_("The award was booked on the stored schedule without moving anyone.")
OFFER_NOT_BOOKED = N_(
    "The award was not booked on the stored schedule: it does not fit there without "
    "moving another award. Run the schedule again to place it; until then the schedule "
    "lists it as not scheduled yet."
)


def offer_schedule_note(booked: bool | None) -> str | None:
    """The English sentence for an offer's booking (None: the call has no stored
    schedule)."""
    return None if booked is None else OFFER_BOOKED if booked else OFFER_NOT_BOOKED
