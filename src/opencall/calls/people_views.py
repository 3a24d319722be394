"""People and roles of a provider: grant a role by e-mail (an invitation when
the person has no account yet), revoke roles and invitations, and the page
where an invited person accepts.

Roles are scoped to the provider (all its calls) or to one of its calls; only
the provider's administrators (and site administrators) manage them
(``facilities.policies.may_manage_provider``). Every grant, invitation,
acceptance and revocation is written to the audit log by ``people.services``.

The JSON API of the same actions (``api_router``, under ``/api/v1``) lives here
too, because both send the same e-mail (rendered from the templates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.facilities.access import (
    ProviderListRequest,
    api_managed_provider,
    managed_provider,
    provider_list,
)
from opencall.facilities.models import Provider
from opencall.people import queries as people_queries
from opencall.people import services as people_services
from opencall.people.models import ROLES, RoleGrant, RoleInvitation, User
from opencall.web import security
from opencall.web.api import MANAGE, MANAGE_ERRORS, SLUG, Api, Paged, get_api, id_param
from opencall.web.forms import MSG_REQUIRED
from opencall.web.i18n import N_, Translator
from opencall.web.labels import ROLE_LABELS
from opencall.web.mail import queue_mail
from opencall.web.pages import MAX_ID, Page, get_page, render_mail
from opencall.web.paging import paginate_query

router = APIRouter()
Held = TypeVar("Held", RoleGrant, RoleInvitation)  # what a provider's people page revokes

MSG_SUBJECT = N_("OpenCall: a role at %(provider)s")
# messages of people.services / facilities.services shown on these pages (translated by tmsg)
SERVICE_MESSAGES = (
    N_("Choose the provider or one of its calls."),
    N_("This invitation is invalid, was revoked or has expired. Ask for a new one."),
    N_(
        "This invitation was sent to another e-mail address. "
        "Sign in with that address to accept it."
    ),
    N_("This invitation was already accepted; revoke the role instead."),
    N_(
        "A provider needs at least one administrator: grant the role to someone else "
        "before revoking this one."
    ),
    N_("This account is deactivated."),
    N_("The short name may use only a-z, 0-9 and '-' (at most 80 characters)."),
    N_("This short name is already taken."),
)


def provider_calls(page: Page, p: Provider) -> list[Call]:
    return _calls_of(page.db, p)


def _calls_of(db: Session, p: Provider) -> list[Call]:
    return list(db.scalars(select(Call).where(Call.provider_id == p.id).order_by(Call.id)))


def _of_provider(db: Session, p: Provider, item: RoleGrant | RoleInvitation | None) -> bool:
    """A role or an invitation on the provider or on one of its calls."""
    if item is None:
        return False
    calls = {c.id for c in _calls_of(db, p)}
    return item.provider_id == p.id or (item.call_id is not None and item.call_id in calls)


def resolve_scope(calls: list[Call], scope: str) -> int | None:
    """``""``/``provider`` is the whole provider; otherwise a slug of one of its calls."""
    if scope in ("", "provider"):
        return None
    for c in calls:
        if c.slug == scope:
            return c.id
    raise DomainError("Choose the provider or one of its calls.", field="scope")


PER_PAGE = 100  # roles, and pending invitations, a page


def _people_page(page: Page, p: Provider, status: int = 200, **extra: Any) -> Response:
    calls = provider_calls(page, p)
    ids = [c.id for c in calls]
    titles = {c.id: c.title for c in calls}
    # a page of each table, read in the database: a provider's calls hold thousands of
    # reviewers' roles
    path = f"/manage/providers/{p.slug}/people"
    query = page.request.query_params
    grants, grants_pager = paginate_query(
        page.db, people_queries.grants_in_scope_query(p.id, ids), query, PER_PAGE, "#roles", path
    )
    invitations, invitations_pager = paginate_query(
        page.db,
        people_queries.pending_invitations_query(p.id, ids),
        query,
        PER_PAGE,
        "#invitations",
        path,
        param="invitations_page",
    )
    return page.render(
        "manage/people.html",
        {
            "provider": p,
            "grants": grants,
            "grants_pager": grants_pager,
            "invitations": invitations,
            "invitations_pager": invitations_pager,
            "titles": titles,
            "role_labels": {k: page._(v) for k, v in ROLE_LABELS.items()},
            "role_options": [(k, page._(ROLE_LABELS[k])) for k in ROLES],
            "scope_options": [("provider", page._("All calls of %(name)s", name=p.name))]
            + [(c.slug, c.title) for c in calls],
            "form": extra.get("form", {}),
            "errors": extra.get("errors", {}),
        },
        status=status,
    )


@dataclass
class Given:
    """What :func:`give_role` did: a role granted to an account (with its holder), or an
    invitation mailed to an address that has none."""

    grant: RoleGrant | None = None
    holder: User | None = None
    invitation: RoleInvitation | None = None


def give_role(
    request: Request,
    db: Session,
    p: Provider,
    calls: list[Call],
    *,
    email: str,
    role: str,
    scope: str,
    lang: str,
    actor_id: int | None,
) -> Given:
    """``role`` on ``p`` (or on its call of slug ``scope``, one of ``calls``) for the
    person of ``email``, who is told by mail: granted at once to an account (in the
    holder's language), else an invitation (in ``lang``). Not committed."""
    call_id = resolve_scope(calls, scope)
    g, inv, raw = people_services.invite_to_role(
        db,
        email=email,
        role=role,
        provider_id=None if call_id else p.id,
        call_id=call_id,
        actor_id=actor_id,
    )
    base = request.app.state.settings.base_url.rstrip("/")
    if inv is not None and raw is not None:
        link = f"{base}/roles/invitations/{raw}"
        notify_role(request, db, inv.email, lang, p, inv.role, link, True)
        return Given(invitation=inv)
    assert g is not None
    holder = db.get(User, g.user_id)
    assert holder is not None
    notify_role(request, db, holder.email, holder.language, p, g.role, f"{base}/manage", False)
    return Given(grant=g, holder=holder)


def notify_role(
    request: Request,
    db: Session,
    email: str,
    lang: str,
    provider: Provider,
    role: str,
    link: str,
    invited: bool,
) -> None:
    """Tell a person about a role or an invitation, in their language (queued mail)."""
    body = render_mail(
        request,
        "manage/mail_role.txt",
        lang,
        {
            "provider": provider.name,
            "role": Translator(lang)(ROLE_LABELS[role]),
            "link": link,
            "invited": invited,
        },
    )
    subject = Translator(lang).plain(MSG_SUBJECT, provider=provider.name)
    queue_mail(db, email, subject, body, base_url=request.app.state.settings.base_url)


@router.get("/manage/providers/{slug}/people", response_class=HTMLResponse)
def people(slug: str, page: Page = Depends(get_page)) -> Response:
    return _people_page(page, managed_provider(page, slug))


@router.post("/manage/providers/{slug}/people", response_class=HTMLResponse)
def grant(slug: str, page: Page = Depends(get_page)) -> Response:
    p = managed_provider(page, slug)
    f = page.form
    errors: dict[str, str] = {}
    if not f.get("email", "").strip():
        errors["email"] = page._(MSG_REQUIRED)
    if f.get("role", "") not in ROLES:
        errors["role"] = page._(MSG_REQUIRED)
    if not errors:
        with page.attempt() as refused:
            given = give_role(
                page.request,
                page.db,
                p,
                provider_calls(page, p),
                email=f["email"][:254],
                role=f["role"],
                scope=f.get("scope", ""),
                lang=page.lang,
                actor_id=page.user.id,
            )
        if not refused:
            invited = given.invitation is not None
            return page.redirect(
                f"/manage/providers/{p.slug}/people", "invited" if invited else "saved"
            )
        errors[refused.field or "form"] = refused.message
    return _people_page(page, p, 400, form=f, errors=errors)


def _in_scope(db: Session, p: Provider, model: type[Held], row_id: int) -> Held | None:
    """The role or invitation ``row_id`` if it is on the provider or one of its calls."""
    item = db.get(model, row_id) if 0 < row_id <= MAX_ID else None
    return item if _of_provider(db, p, item) else None


def _revoke(
    page: Page, slug: str, model: type[Held], row_id: int, revoke_it: Callable[..., Any]
) -> Response:
    """Revoke a role or an invitation of the provider's people page, then show the page."""
    p = managed_provider(page, slug)
    what = _in_scope(page.db, p, model, row_id)
    if what is None:
        page.not_found()
    with page.attempt() as refused:
        revoke_it(page.db, what, actor_id=page.user.id)
    if refused:
        return _people_page(page, p, 400, errors={"form": refused.message})
    return page.redirect(f"/manage/providers/{p.slug}/people", "saved")


@router.post("/manage/providers/{slug}/people/{grant_id}/revoke", response_class=HTMLResponse)
def revoke(slug: str, grant_id: int, page: Page = Depends(get_page)) -> Response:
    return _revoke(page, slug, RoleGrant, grant_id, call_services.revoke_role)


@router.post("/manage/providers/{slug}/invitations/{inv_id}/revoke", response_class=HTMLResponse)
def revoke_invitation(slug: str, inv_id: int, page: Page = Depends(get_page)) -> Response:
    return _revoke(page, slug, RoleInvitation, inv_id, people_services.revoke_role_invitation)


# ---------------------------------------------------------------- the invited person's page


def _invitation_page(page: Page, token: str, status: int = 200, error: str = "") -> Response:
    ctx: dict[str, Any] = {"token": token, "error": error, "inv": None}
    try:
        inv = people_services.invitation_for_token(page.db, token)
    except DomainError as exc:
        ctx["error"] = error or page.t.error(exc)
        return page.render("manage/invitation.html", ctx, status=404 if not error else status)
    provider = page.db.get(Provider, inv.provider_id) if inv.provider_id else None
    call = page.db.get(Call, inv.call_id) if inv.call_id else None
    if provider is None and call is not None:
        provider = page.db.get(Provider, call.provider_id)
    ctx.update(
        inv=inv,
        provider=provider,
        call=call,
        role=page._(ROLE_LABELS[inv.role]),
        here=f"/roles/invitations/{token}",
    )
    return page.render("manage/invitation.html", ctx, status=status)


@router.get("/roles/invitations/{token}", response_class=HTMLResponse)
def invitation(token: str, page: Page = Depends(get_page)) -> Response:
    return _invitation_page(page, token[:100])


@router.post("/roles/invitations/{token}", response_class=HTMLResponse)
def accept(token: str, page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    carried = security.read_session(page.request)
    with page.attempt() as refused:
        people_services.accept_role_invitation(page.db, user, token[:100])
        # a privilege gained: a new session id (against a session fixed or copied before)
        client = page.request.client
        sid = people_services.rotate_user_session(
            page.db,
            carried.sid if carried is not None else None,
            user,
            reason="privilege",
            client=(client.host if client else "")[:64],
            user_agent=page.request.headers.get("user-agent", ""),
        )
    if refused:
        return _invitation_page(page, token[:100], refused.status, refused.message)
    security.start_session(page.request, sid)
    return page.redirect("/manage", "saved")


# ---------------------------------------------------------------- JSON API

api_router = APIRouter(prefix="/api/v1", tags=["people and roles"])
# the writes of roles: the manage scope, 404 for what is not the caller's
MANAGER: dict[str, Any] = {"responses": MANAGE_ERRORS, "dependencies": [MANAGE]}


class RoleGrantOut(BaseModel):
    id: int
    role: str
    user_id: int
    name: str
    email: str
    call: str | None = Field(None, description="the call's slug; null for the whole provider")

    @classmethod
    def of(cls, g: RoleGrant, holder: User, call: str | None) -> RoleGrantOut:
        """``g`` held by ``holder``, on the call of slug ``call`` (None: the whole provider)."""
        return cls(
            id=g.id, role=g.role, user_id=holder.id, name=holder.name, email=holder.email, call=call
        )


class InvitationOut(BaseModel):
    id: int
    email: str
    role: str
    call: str | None
    expires_at: dt.datetime

    @classmethod
    def of(cls, inv: RoleInvitation, call: str | None) -> InvitationOut:
        """``inv``, to the call of slug ``call`` (None: the whole provider)."""
        return cls(id=inv.id, email=inv.email, role=inv.role, call=call, expires_at=inv.expires_at)


class RoleList(Paged[RoleGrantOut]):
    pass


class InvitationList(Paged[InvitationOut]):
    pass


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    role: Literal["provider_admin", "call_manager", "chair", "reviewer", "technical_reviewer"]
    call: str | None = Field(
        None, max_length=80, description="slug of one of the provider's calls; omit for all"
    )


class RoleGiven(BaseModel):
    granted: RoleGrantOut | None = Field(None, description="set when the person has an account")
    invitation: InvitationOut | None = Field(
        None, description="set when an invitation was e-mailed instead"
    )


def _api_revoke(
    api: Api, slug: str, model: type[Held], row_id: int, revoke_it: Callable[..., Any]
) -> Response:
    """Revoke a role or an invitation for the JSON API: 204, or the refusal."""
    what = api.found(_in_scope(api.db, api_managed_provider(api, slug), model, row_id))
    with api.saving():
        revoke_it(api.db, what, actor_id=api.actor_id)
    return Response(status_code=204)


def _slugs(db: Session, p: Provider) -> dict[int, str]:
    """The provider's calls: id -> slug."""
    return {c.id: c.slug for c in _calls_of(db, p)}


@api_router.get("/providers/{slug}/roles", response_model=RoleList, responses=MANAGE_ERRORS)
def api_people(listed: ProviderListRequest = Depends(provider_list)) -> RoleList:
    """Roles on the provider and its calls (administrators), a page at a time by role,
    then by the holder's name; the pending invitations are ``GET /providers/{slug}/invitations``."""
    slugs = _slugs(listed.api.db, listed.provider)
    rows, pg = listed.rows(
        people_queries.grants_in_scope_query(listed.provider.id, list(slugs)),
        [(RoleGrant.role, str), (User.name, str), (RoleGrant.id, int)],
        lambda r: (r[0].role, r[1].name, r[0].id),
    )
    return RoleList(
        items=[RoleGrantOut.of(g, u, slugs.get(g.call_id) if g.call_id else None) for g, u in rows],
        page=pg,
    )


@api_router.get(
    "/providers/{slug}/invitations", response_model=InvitationList, responses=MANAGE_ERRORS
)
def api_invitations(listed: ProviderListRequest = Depends(provider_list)) -> InvitationList:
    """Pending invitations to a role on the provider and its calls (administrators), a
    page at a time, oldest first."""
    slugs = _slugs(listed.api.db, listed.provider)
    rows, pg = listed.rows(
        people_queries.pending_invitations_query(listed.provider.id, list(slugs)),
        [(RoleInvitation.created_at, dt.datetime), (RoleInvitation.id, int)],
        lambda i: (i.created_at, i.id),
    )
    return InvitationList(
        items=[InvitationOut.of(i, slugs.get(i.call_id) if i.call_id else None) for i in rows],
        page=pg,
    )


@api_router.post("/providers/{slug}/roles", response_model=RoleGiven, status_code=201, **MANAGER)
def api_grant(body: RoleIn, slug: str = SLUG, api: Api = Depends(get_api)) -> RoleGiven:
    """Give a role by e-mail: granted at once to an account, else an invitation is e-mailed."""
    p = api_managed_provider(api, slug)
    calls = _calls_of(api.db, p)
    with api.saving():
        given = give_role(
            api.request,
            api.db,
            p,
            calls,
            email=body.email,
            role=body.role,
            scope=body.call or "",
            lang=api.user.language if api.user else "en",
            actor_id=api.actor_id,
        )
        slug_of = {c.id: c.slug for c in calls}
        out = RoleGiven(granted=None, invitation=None)
        if given.invitation is not None:
            inv = given.invitation
            out.invitation = InvitationOut.of(
                inv, slug_of.get(inv.call_id) if inv.call_id else None
            )
        elif given.grant is not None and given.holder is not None:
            g = given.grant
            out.granted = RoleGrantOut.of(
                g, given.holder, slug_of.get(g.call_id) if g.call_id else None
            )
    return out


@api_router.delete("/providers/{slug}/roles/{grant_id}", status_code=204, **MANAGER)
def api_revoke(
    slug: str = SLUG, grant_id: int = id_param(), api: Api = Depends(get_api)
) -> Response:
    """Take a role back (a provider always keeps one administrator)."""
    return _api_revoke(api, slug, RoleGrant, grant_id, call_services.revoke_role)


@api_router.delete("/providers/{slug}/invitations/{invitation_id}", status_code=204, **MANAGER)
def api_revoke_invitation(
    slug: str = SLUG,
    invitation_id: int = id_param(),
    api: Api = Depends(get_api),
) -> Response:
    """Withdraw an invitation that was not accepted yet."""
    return _api_revoke(
        api, slug, RoleInvitation, invitation_id, people_services.revoke_role_invitation
    )


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=100, description="from the invitation link")


@api_router.post("/roles/invitations/accept", response_model=RoleGrantOut, **MANAGER)
def api_accept(body: AcceptIn, api: Api = Depends(get_api)) -> RoleGrantOut:
    """Accept a role invitation as the signed-in (token) holder of the invited address."""
    user = api.require_user()
    with api.saving():
        g = people_services.accept_role_invitation(api.db, user, body.token)
        call = api.db.get(Call, g.call_id) if g.call_id else None
        out = RoleGrantOut.of(g, user, call.slug if call else None)
    return out
