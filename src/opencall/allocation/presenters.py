"""The allocation's words for people: the call's policy as sentences and each
decision's explanation in the reader's language (used by the chair's pages, the
applicant's outcome page and the API's e-mails)."""

from __future__ import annotations

import re
from typing import Any

from opencall.calls.models import Call
from opencall.facilities.domain import unit_label
from opencall.inputs import local_number
from opencall.web.i18n import N_, Translator
from opencall.web.labels import REQUEST_KINDS as KINDS

POLICY_WHOLE = N_("Awards are whole: a request is awarded in full or not at all.")
POLICY_PARTIAL = N_("Awards may be partial, down to %(pct)s of a request.")
POLICY_BUNDLE = N_(
    "Requests a proposal marks as one bundle are awarded all together, in full, or not at all."
)
#: One award or several per PI: said with the number's plural form (ngettext).
POLICY_PI_AWARDS_N = (
    "At most %(num)s award per principal investigator.",
    "At most %(num)s awards per principal investigator.",
)
#: The groups a share rule may name (``allocation.services``), by their names for people;
#: another name is the operator's own and shown as it is.
POLICY_GROUPS = {
    "ldc": N_("Least developed countries"),
    "low_lmic": N_("Low and lower-middle income"),
    "low": N_("Low income"),
    "lower-middle": N_("Lower-middle income"),
    "host": N_("Host country"),
    "international": N_("International applicants"),
}
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
POLICY_BLIND = N_("Nationality-blind: no group derived from nationality is used.")
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
    low = review_settings(call.review_settings).lower_is_better
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
        group = t(POLICY_GROUPS[g.group]) if g.group in POLICY_GROUPS else g.group
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
    return lines


# The allocation's explanations (composed in English by opencall.optim.allocation and
# stored with the decision), catalogued so that :func:`explain` shows them translated.
EXPLANATIONS = (
    N_("the request did not pass the eligibility check"),
    N_("not feasible: %(why)s"),
    N_("technical or suitability review"),
    N_("merit %(merit)s is below the quality threshold %(threshold)s"),
    N_("merit %(merit)s is worse than the quality threshold %(threshold)s"),
    N_(
        "awarded %(f)s because the minimum share rule for %(groups)s bound; "
        "on merit alone it would have received %(f0)s"
    ),
    N_("awarded in full"),
    N_("awarded %(f)s of the request (minimum %(lo)s)"),
    N_("awarded %(f)s of the request (minimum %(lo)s); pool(s) %(pools)s full"),
    N_("the PI already holds %(k)s award(s), the cap"),
    N_("the PI already holds %(amount)s of the %(cap)s cap"),
    N_("pool(s) %(pools)s exhausted by the best combination of awards, including %(why)s"),
    N_("awards made under the minimum share rule for %(rules)s"),
    N_("lower-ranked requests that fit the remaining capacity better"),
    N_("requests whose merit equals this one's"),
    N_("the request asks for more than the whole capacity of %(pools)s"),
    # a resource with a changeover (a travelling team's travel days between two hosts)
    N_("pool(s) %(pools)s full once the changeover kept between two proposals is counted"),
    N_("capacity remained, but the solver stopped within its optimality-gap tolerance"),
    N_("overridden by the chair: %(reason)s"),
    N_("not reviewed, so not awarded: %(reason)s"),
    # all-or-nothing bundles (two cells at once, a seat and its travel grant)
    N_("the all-or-nothing bundle %(key)s (%(n)s requests)"),
    N_("awarded in full, as part of %(bundle)s: all of it or none"),
    N_(
        "awarded %(f)s because the minimum share rule for %(groups)s bound; "
        "on merit alone it would have received %(f0)s; awarded in full with %(bundle)s"
    ),
    N_("not awarded: %(bundle)s was dropped as a whole, because its request %(other)s %(why)s"),
    N_("is not eligible"),
    N_("is not feasible (%(why)s)"),
    N_("is below the quality threshold"),
    N_("technical review"),
    N_("the request"),
)
MSG_BUNDLE_WHOLE = N_("%(bundle)s was not awarded as a whole (all or nothing): %(detail)s")
_BUNDLE_WHOLE_EN = " was not awarded as a whole (all or nothing): "
MSG_LIMIT = N_(
    "not awarded: %(subject)s asks for more of %(pool)s than the limit of %(limit)s %(unit)s "
    "per proposal"
)
MSG_LIMIT_BUNDLE = N_("%(bundle)s as a whole")
_LIMIT = re.compile(
    r"not awarded: (.+) asks for more of (.+) than the limit of ([-+\d.e]+) (\S+) per proposal"
)
_AS_A_WHOLE = " as a whole"
#: a cap per group the allocation reached (``optim.allocation.caps.cap_reached``)
MSG_CAP_AWARDS = {
    "country": N_("the cap of %(k)s award(s) per country was reached"),
    "income group": N_("the cap of %(k)s award(s) per income group was reached"),
    "UN region": N_("the cap of %(k)s award(s) per UN region was reached"),
}
MSG_CAP_AMOUNT = {
    "country": N_("the cap of %(amount)s per country was reached"),
    "income group": N_("the cap of %(amount)s per income group was reached"),
    "UN region": N_("the cap of %(amount)s per UN region was reached"),
}
MSG_CAP_AMOUNT_POOL = {
    "country": N_("the cap of %(amount)s of %(pool)s per country was reached"),
    "income group": N_("the cap of %(amount)s of %(pool)s per income group was reached"),
    "UN region": N_("the cap of %(amount)s of %(pool)s per UN region was reached"),
}
_CAP = re.compile(
    r"the cap of (?:(\d+) award\(s\)|([-+\d.e]+) (\S+)(?: of (.+))?) "
    r"per (country|income group|UN region) was reached"
)
MSG_EXHAUSTED = N_("pool(s) exhausted by higher-ranked requests: %(names)s")
MSG_LEFT = N_("%(pool)s (%(left)s of %(cap)s %(unit)s left)")
# a resource's name may hold parentheses ("Cohort B (Sept)"), not ",", ";" or ":"
_LEFT = re.compile(r"([^,;:]+?) \(([-+\d.e]+) of ([-+\d.e]+) (\S+) left\)")
_KIND_SPLIT = re.compile(r"; (?=(?:fast|berth|dive|sample|seat|package|custom): )")
_EXHAUSTED_EN = "pool(s) exhausted by higher-ranked requests: "


def explain(t: Translator, text: str, units: dict[str, Any] | None = None) -> str:
    """A decision's explanation in the reader's language: one sentence per request
    (prefixed by its kind when the proposal has several; a sentence the next request of
    its bundle repeats is said once), amounts rounded as people
    read them and units named in the reader's language (``units``: the words a call's
    resources give their own units, :func:`opencall.calls.queries.unit_words`)."""
    if not text:
        return text

    def left(m: re.Match[str]) -> str:
        unit = m.group(4)
        return t.gettext(
            MSG_LEFT,
            pool=m.group(1),
            left=local_number(float(m.group(2)), t.lang),
            cap=local_number(float(m.group(3)), t.lang),
            unit=unit_label(unit, (units or {}).get(unit), float(m.group(3)), t.lang),
        )

    def unit_word(unit: str) -> str:
        return unit_label(unit, (units or {}).get(unit), None, t.lang)

    def one(sentence: str) -> str:
        if sentence.startswith(_EXHAUSTED_EN):
            return t.gettext(MSG_EXHAUSTED, names=_LEFT.sub(left, sentence[len(_EXHAUSTED_EN) :]))
        bundle, sep, detail = sentence.partition(_BUNDLE_WHOLE_EN)
        if sep:  # a bundle not awarded, and why: the why said as any other sentence
            return t.gettext(MSG_BUNDLE_WHOLE, bundle=t.message(bundle), detail=one(detail))
        m = _CAP.fullmatch(sentence)
        if m:
            k, number, unit, pool, per = m.groups()
            if k is not None:
                return t.gettext(MSG_CAP_AWARDS[per], k=k)
            said = f"{local_number(float(number), t.lang)} {unit_word(unit)}"
            if pool is not None:
                return t.gettext(MSG_CAP_AMOUNT_POOL[per], amount=said, pool=pool)
            return t.gettext(MSG_CAP_AMOUNT[per], amount=said)
        m = _LIMIT.fullmatch(sentence)
        if m:
            subject = m.group(1)
            if subject.endswith(_AS_A_WHOLE):
                subject = t.gettext(
                    MSG_LIMIT_BUNDLE, bundle=t.message(subject[: -len(_AS_A_WHOLE)])
                )
            else:
                subject = t.message(subject)
            return t.gettext(
                MSG_LIMIT,
                subject=subject,
                pool=m.group(2),
                limit=local_number(float(m.group(3)), t.lang),
                unit=unit_word(m.group(4)),
            )
        return t.message(sentence)

    out: list[str] = []
    for part in _KIND_SPLIT.split(text):
        kind, sep, rest = part.partition(": ")
        if sep and kind in KINDS:
            said = f"{t.gettext(KINDS[kind])}: {one(rest)}"
        else:
            said = one(part)
        # the requests of a bundle share their sentence: said once, not once a request
        if not out or out[-1] != said:
            out.append(said)
    return "; ".join(out)


#: what the applicant, the chair and the office read of a declined award
DECLINED = N_("declined by the applicant")
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
