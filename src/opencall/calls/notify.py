"""The e-mail that tells a provider's user office it was invited into a joint call of
another provider (``POST /api/v1/calls/{slug}/partners``), in each reader's language,
queued with the invitation (sent only if it commits)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.calls.policies import OFFICE_ROLES
from opencall.facilities.models import Provider
from opencall.people.models import RoleGrant, User
from opencall.web.i18n import N_, Translator
from opencall.web.mail import queue_mail
from opencall.web.pages import render_mail

MSG_SUBJECT = N_("%(provider)s is invited to take part in a joint call")


def partner_office(session: Session, provider: Provider) -> list[User]:
    """The provider's user office: its active administrators and call managers."""
    return list(
        session.scalars(
            select(User)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(
                RoleGrant.provider_id == provider.id,
                RoleGrant.role.in_(OFFICE_ROLES),
                User.is_active.is_(True),
            )
            .distinct()
            .order_by(User.id)
        )
    )


def mail_partner_invited(
    request: Request, session: Session, call: Call, provider: Provider
) -> None:
    """Tell ``provider``'s user office that ``call`` invites it as a partner, with the
    link to the staff page where it accepts or declines."""
    base = request.app.state.settings.base_url
    for user in partner_office(session, provider):
        t = Translator(user.language)
        body = render_mail(
            request,
            "manage/mail_partner.txt",
            user.language,
            {
                "owner": call.provider.name,
                "provider": provider.name,
                "call": call.title,
                "link": f"{base.rstrip('/')}/manage#invitations",
            },
        )
        queue_mail(
            session, user.email, t.plain(MSG_SUBJECT, provider=provider.name), body, base_url=base
        )
