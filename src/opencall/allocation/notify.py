"""The decision e-mails of a release: one per accepted team member of a proposal, in
their language, saying the decision is ready to read on the site. Queued by the
worker's ``allocation.notify`` job and by the JSON API's release."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.web.i18n import Translator
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
