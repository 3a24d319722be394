"""The team: invitations sent from the editor (and their e-mail), removal, and the
invitee's page to answer."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.proposals import policies, services
from opencall.proposals.access import found_for, proposal_for
from opencall.proposals.models import Proposal, TeamMember
from opencall.proposals.notify import mail_invitation
from opencall.proposals.views.editor import editor, save_change, stale, try_change
from opencall.web.forms import MSG_INVALID, MSG_REQUIRED, MSG_TOO_LONG
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page

router = APIRouter()

MSG_INVITES_THROTTLED = N_(
    "You have sent many team invitations in the last hour. Try again in %(minutes)s minutes."
)


def _invite_wait(page: Page) -> int:
    """The per-account invitation limit: 0 and counted (committed with the invitation),
    or the seconds to wait."""
    from opencall.people import services as people_services

    return people_services.invite_sender_wait(
        page.db, page.user.id, per_hour=page.settings.invite_throttle_per_hour
    )


@router.post("/proposals/{proposal_id}/team", response_class=HTMLResponse)
def invite(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    if not policies.may_manage_team(page.user, proposal):
        page.not_found()
    f = page.form
    data = {k: f.get(k, "").strip() for k in ("email", "name", "institution", "country_iso3")}
    errors: dict[str, str] = {}
    for k, limit in (("email", 254), ("name", 200), ("institution", 300), ("country_iso3", 3)):
        if not data[k]:
            errors[k] = page._(MSG_REQUIRED)
        elif len(data[k]) > limit:
            errors[k] = page._(MSG_TOO_LONG, max=limit)
    if not errors and services.invitation_made(proposal, data) is not None:
        # sent again (its answer lost): made already, nothing written or mailed
        return page.redirect(f"/proposals/{proposal.id}#team", "invited")
    if not errors:
        wait = _invite_wait(page)
        if wait:
            minutes = max(1, -(-wait // 60))
            errors["form"] = page._(MSG_INVITES_THROTTLED, minutes=minutes)
            response = editor(page, proposal, 429, invite=data, invite_errors=errors)
            response.headers["Retry-After"] = str(wait)
            return response
        refused = try_change(
            page,
            proposal,
            services.invite_member,
            data,
            then=lambda member: _mail_invitation(page, proposal, member),
        )
        if refused is None:
            return page.redirect(f"/proposals/{proposal.id}#team", "invited")
        if refused.code == "stale":
            return stale(page, proposal, invite=data)
        errors[refused.field if refused.field in data else "form"] = page.t.message(refused.message)
    return editor(page, proposal, 400, invite=data, invite_errors=errors)


def _mail_invitation(page: Page, proposal: Proposal, member: TeamMember) -> None:
    """The invitee's e-mail (:func:`proposals.notify.mail_invitation`), in the visitor's
    language when the invitee has no account."""
    mail_invitation(
        page.db,
        page.request,
        proposal,
        member,
        page.user,
        fallback_lang=page.lang,
        base_url=page.settings.base_url,
        per_hour=page.settings.mail_throttle_per_hour,
    )


@router.post("/proposals/{proposal_id}/team/{member_id}/remove", response_class=HTMLResponse)
def remove_member(proposal_id: int, member_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    member = page.db.get(TeamMember, member_id)
    if (
        not policies.may_manage_team(page.user, proposal)
        or member is None
        or member.proposal_id != proposal.id
    ):
        page.not_found()
    return save_change(
        page, proposal, services.remove_member, member, section="team", done="removed"
    )


def _invitation(page: Page, member_id: int) -> TeamMember:
    """The invitation, to its invitee: still to be answered, or answered already."""
    return found_for(
        page,
        TeamMember,
        member_id,
        lambda m: (
            policies.may_respond_to_invitation(page.user, m)
            or policies.answered_own_invitation(page.user, m)
        ),
    )


def _invitation_page(
    page: Page,
    member: TeamMember,
    pi: TeamMember | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The invitation page; without ``pi``, an invitation answered already (another tab,
    the link opened again): said, 200."""
    return page.render("proposals/invitation.html", {"m": member, "pi": pi, "error": error}, status)


@router.get("/invitations/{member_id}", response_class=HTMLResponse)
def invitation(member_id: int, page: Page = Depends(get_page)) -> Response:
    member = _invitation(page, member_id)
    if member.status != "invited":
        return _invitation_page(page, member)
    return _invitation_page(page, member, member.proposal.pi_member)


@router.post("/invitations/{member_id}", response_class=HTMLResponse)
def answer_invitation(member_id: int, page: Page = Depends(get_page)) -> Response:
    member = _invitation(page, member_id)
    if member.status != "invited":
        return _invitation_page(page, member)
    action = page.form.get("action", "")
    if action not in ("accept", "decline"):
        return _invitation_page(page, member, member.proposal.pi_member, page._(MSG_INVALID), 400)
    with page.attempt() as refused:
        services.respond_to_invitation(page.db, member, page.user, accept=action == "accept")
    if refused:  # the other tab's answer came first (rolled back: read again)
        return _invitation_page(page, member)
    if action == "accept":
        return page.redirect(f"/proposals/{member.proposal_id}", "accepted")
    return page.redirect("/dashboard", "declined")
