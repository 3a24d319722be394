"""The decision e-mails of a release: one per accepted team member of a proposal, in
their language, saying the decision is ready to read on the site. Queued by the
worker's ``allocation.notify`` job and by the JSON API's release."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.allocation.models import AwardLaterPart
from opencall.calls.models import Call
from opencall.facilities.domain import unit_label
from opencall.facilities.models import CapacityPool
from opencall.inputs import local_number
from opencall.people.models import User
from opencall.people.queries import may_be_mailed
from opencall.proposals.models import Proposal
from opencall.web.i18n import N_, Translator
from opencall.web.mail import mail_text, queue_mail

SUBJECT_DECISION = "The decision on your proposal %(code)s"  # catalogued in allocation.views


def queue_decision_mails(session: Session, call: Call, p: Proposal, base_url: str) -> list[int]:
    """Queue the decision e-mail of each accepted member of ``p``; the mail jobs' ids."""
    base = base_url.rstrip("/")
    queued: list[int] = []
    for m in p.members:
        if m.status != "accepted":
            continue
        user = session.get(User, m.user_id) if m.user_id else None
        lang = user.language if user else "en"
        body = mail_text(
            "allocation/mail_decision.txt",
            lang,
            {
                "name": m.name,
                "code": p.code,
                "title": p.title,
                "call": call.title,
                "link": f"{base}/proposals/{p.id}/outcome",
            },
        )
        subject = Translator(lang).plain(SUBJECT_DECISION, code=p.code)
        queued.append(queue_mail(session, m.email, subject, body, base_url=base).id)
    return queued


SUBJECT_LATER_PART = N_("A later period of your award %(code)s")
#: the mail's opening sentence for each state of a later part (outcomes24)
LATER_PART_SENTENCES = {
    "held": N_(
        "The user office holds %(amount)s of %(resource)s for your programme %(code)s in "
        "%(call)s, a later period. Send the programme's progress report before that call's "
        "allocation: the part is released to you when the report is accepted, and returned "
        "otherwise."
    ),
    "released": N_(
        "The progress report of your programme %(code)s was accepted: the part of "
        "%(amount)s of %(resource)s in %(call)s is released to the programme."
    ),
    "returned": N_(
        "The progress report of your programme %(code)s was not accepted: the part "
        "of %(amount)s of %(resource)s in %(call)s is returned to that call's offer."
    ),
}


def queue_later_part_mail(
    session: Session, p: Proposal, part: AwardLaterPart, later: Call, base_url: str
) -> list[int]:
    """Queue the mail to the PI of ``p`` (in their language) saying that a later part of
    the award is held, and its progress report due, or how the report was answered (the
    office's note with it); the mail jobs' ids."""
    base = base_url.rstrip("/")
    pool = session.get_one(CapacityPool, part.pool_id)
    queued: list[int] = []
    for m in p.members:
        if m.status != "accepted" or m.role != "pi":
            continue
        user = session.get(User, m.user_id) if m.user_id else None
        if not may_be_mailed(user):
            continue  # a deactivated or erased account is not mailed (mail20b)
        assert user is not None
        lang = user.language or "en"
        t = Translator(lang)
        amount = f"{local_number(part.amount, lang)} {unit_label(pool.unit, pool.unit_labels, part.amount, lang)}"
        body = mail_text(
            "allocation/mail_later_part.txt",
            lang,
            {
                "name": m.name,
                "sentence": t.plain(
                    LATER_PART_SENTENCES[part.status],
                    amount=amount,
                    resource=pool.name,
                    code=p.code,
                    call=later.title,
                ),
                "note": part.note,
                "link": f"{base}/awards/{p.id}#later-parts",
            },
        )
        subject = t.plain(SUBJECT_LATER_PART, code=p.code)
        queued.append(queue_mail(session, m.email, subject, body, base_url=base).id)
    return queued
