"""The partners of a joint call: another provider's user office invited into the call
(``invite_partner``), accepting (``accept_partner``) or leaving it (``withdraw_partner``).
What a partner's resources may be offered for is checked where a pool is offered
(``services.offer_pool``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call, CallPartner
from opencall.calls.queries import partner_of
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities.models import Provider
from opencall.facilities.queries import provider_by_slug


def _require_not_batch(call: Call) -> None:
    """A batch of a continuous call has its call's partners (``queries.partners_of``):
    they are invited, accepted and withdrawn on the call."""
    if call.parent_id is not None:
        raise DomainError(
            "A batch of a continuous call takes its partners from its call: invite, accept "
            "or withdraw them on the call itself.",
            field="provider",
        )


def _audit_partner(
    session: Session, call: Call, action: str, provider_id: int, actor_id: int | None
) -> None:
    """A partner's step in the call's audit log (invited, accepted, withdrawn)."""
    auditlog.record(
        session,
        action,
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        data={"provider_id": provider_id},
    )


def provider_to_invite(session: Session, slug: str) -> Provider:
    """The provider named by ``slug`` (spaces around it ignored) to invite into a joint
    call; refused, in the same words on the page and through the API, when there is none."""
    provider = provider_by_slug(session, slug.strip())
    if provider is None:
        raise DomainError(
            "There is no provider %(provider)s.", field="provider", provider=repr(slug.strip())
        )
    return provider


def invite_partner(
    session: Session, call: Call, provider: Provider, *, actor_id: int | None = None
) -> CallPartner:
    """Invite ``provider`` into the call (its user office): a joint call. Nothing of the
    partner's is offered until its user office accepts."""
    if provider.id == call.provider_id:
        raise DomainError(
            "The call is %(provider)s's own; invite another provider.",
            field="provider",
            provider=provider.name,
        )
    _require_not_batch(call)
    if call.status not in ("draft", "open"):
        raise DomainError(
            "Partners can only be invited while the call is a draft or open.", field="provider"
        )
    if partner_of(session, call, provider.id) is not None:
        raise DomainError(
            "%(provider)s is already invited into this call.",
            field="provider",
            provider=provider.name,
        )
    partner = CallPartner(
        call_id=call.id, provider_id=provider.id, status="invited", invited_by=actor_id
    )
    session.add(partner)
    session.flush()
    _audit_partner(session, call, "call.partner_invited", provider.id, actor_id)
    return partner


def accept_partner(
    session: Session, partner: CallPartner, call: Call, *, actor_id: int | None = None
) -> CallPartner:
    """The partner's user office accepts to take part in the call."""
    _require_not_batch(call)
    if partner.status == "accepted":
        raise DomainError(
            "%(provider)s already takes part in this call.", provider=partner.provider.name
        )
    partner.status = "accepted"
    partner.accepted_by = actor_id
    partner.accepted_at = utcnow()
    session.flush()
    _audit_partner(session, call, "call.partner_accepted", partner.provider_id, actor_id)
    return partner


def withdraw_partner(
    session: Session, partner: CallPartner, call: Call, *, actor_id: int | None = None
) -> None:
    """The partner leaves the call (withdrawn by the call's office, or declined or left
    by the partner's user office): refused while the call offers any of its
    resources (proposals may ask for them, awards and bookings hold them)."""
    _require_not_batch(call)
    held = sorted(
        cp.pool.name for cp in call.pools if cp.pool.facility.provider_id == partner.provider_id
    )
    if held:
        raise DomainError(
            "%(provider)s cannot leave this call: the call offers its resources %(names)s, "
            "which proposals, awards and bookings may hold.",
            field="provider",
            code="partner_offered",
            provider=partner.provider.name,
            names=", ".join(held),
        )
    provider_id = partner.provider_id
    session.delete(partner)
    session.flush()
    _audit_partner(session, call, "call.partner_withdrawn", provider_id, actor_id)
