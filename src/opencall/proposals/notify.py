"""E-mail about a proposal that the pages and the JSON API both send: the receipt of
a submission."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from opencall.proposals.models import Proposal
from opencall.web.i18n import N_, Translator
from opencall.web.mail import queue_mail
from opencall.web.pages import fmt_when, render_mail

SUBJECT_RECEIPT = N_("Receipt: proposal %(code)s submitted")


def mail_receipt(
    db: Session,
    request: Request,
    submitter: Any,
    proposal: Proposal,
    rev: Any,
    *,
    received_at: dt.datetime,
    lang: str,
    base_url: str,
) -> None:
    """A receipt to the person who submitted (and the PI, when another member did), in
    each one's language (``lang`` for an address without an account): what was
    received (the revision's content hash) and when, in UTC and the reader's own zone."""
    from opencall.people.queries import user_by_email

    to = {submitter.email: submitter}
    for m in proposal.members:
        if m.role == "pi" and m.email not in to:
            to[m.email] = user_by_email(db, m.email)
    for email, user in to.items():
        language = user.language if user is not None else lang
        body = render_mail(
            request,
            "proposals/mail_receipt.txt",
            language,
            {
                "name": user.name if user is not None else "",
                "code": proposal.code,
                "title": proposal.title,
                "call": proposal.call.title,
                "revision": rev.number,
                "hash": rev.content_hash,
                "when": fmt_when(
                    received_at, user.time_zone if user is not None else None, seconds=True
                ),
                "link": f"{base_url.rstrip('/')}/proposals/{proposal.id}",
            },
        )
        subject = Translator(language).gettext(SUBJECT_RECEIPT, code=proposal.code)
        queue_mail(db, email, subject, body)
