"""Recruiting reviewers for a call (the chair's and user office's page) and the
invited person's answer page; the reviewer's expertise profile lives in
``people.expertise_views``. The same actions in the JSON API are
``api_router`` (under ``/api/v1``), here because both send the same e-mail.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from opencall.calls.access import CallListRequest, call_list, staff_call, staff_call_api
from opencall.calls.models import Call
from opencall.calls.policies import may_manage_call
from opencall.calls.schemas import review_settings
from opencall.errors import DomainError
from opencall.reviews import recruitment
from opencall.reviews.models import ReviewInvitation
from opencall.web.api import MANAGE, MANAGE_ERRORS, REVIEW, SLUG, Api, Paged, get_api
from opencall.web.i18n import N_, Translator
from opencall.web.labels import ROLE_LABELS, labeller
from opencall.web.mail import queue_mail
from opencall.web.pages import MAX_ID, Page, fmt_when, get_page, render_mail
from opencall.web.paging import paginate_query

router = APIRouter()
api_router = APIRouter(prefix="/api/v1", tags=["reviewer recruitment"])

STATUS = {
    "invited": N_("no answer yet"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
}
ROLE = {r: ROLE_LABELS[r] for r in ("reviewer", "technical_reviewer")}
MSG_SUBJECT = N_("OpenCall: will you review for %(call)s?")
SERVICE_MESSAGES = (
    N_("Give at least one e-mail address."),
    N_("Invalid e-mail address: %(reason)s"),
    N_("At most %(n)s invitations at once."),
    N_("The review of this call is over."),
    N_("This invitation is invalid, was withdrawn or has expired. Ask the chair for a new one."),
    N_(
        "This invitation was sent to another e-mail address. "
        "Sign in with that address to answer it."
    ),
    N_("The maximum number of proposals must be between 1 and 100."),
    N_("Only a pending invitation can be withdrawn."),
    N_("The reason is too long (2000 characters at most)."),
    N_("The availability is too long (300 characters at most)."),
)
MSG_NUMBER = N_("Enter a whole number.")


def send_invitations(
    request: Request, db: Session, call: Call, made: list[tuple[ReviewInvitation, str]]
) -> None:
    """One e-mail per new invitation, in the language of the account behind the
    address (English for people without one yet)."""
    from opencall.people.queries import user_by_email

    base = request.app.state.settings.base_url.rstrip("/")
    for inv, raw in made:
        u = user_by_email(db, inv.email)
        lang = u.language if u else "en"
        t = Translator(lang)
        body = render_mail(
            request,
            "reviews/mail_recruit.txt",
            lang,
            {
                "call": call.title,
                "provider": call.provider.name,
                "role": t(ROLE[inv.role]),
                "deadline": fmt_when(
                    review_settings(call.review_settings).review_deadline,
                    u.reading_zone if u else None,
                    lang,
                ),
                "link": f"{base}/review/invitations/{raw}",
            },
        )
        queue_mail(db, inv.email, t.plain(MSG_SUBJECT, call=call.title), body, base_url=base)


PER_PAGE = 100  # invitations, and people of the pool, a page


def _page(page: Page, call: Call, status: int = 200, **extra: Any) -> Response:
    # a page of the invitations and one of the pool (without those invited), each read
    # in the database: a provider's pool of thousands is never all loaded
    path = f"/manage/calls/{call.slug}/reviewers"
    query = page.request.query_params
    invs, invitations_pager = paginate_query(
        page.db,
        recruitment.invitations_query(call),
        query,
        PER_PAGE,
        "#invitations",
        path=path,
        param="invitations_page",
    )
    shown, pool_pager = paginate_query(
        page.db,
        recruitment.pool_query(call, uninvited=True),
        query,
        PER_PAGE,
        "#pool",
        path=path,
    )
    pool = [recruitment.PoolMember(u, int(n)) for u, n in shown]
    return page.render(
        "reviews/recruit.html",
        {
            "call": call,
            "invitations": invs,
            "invitations_pager": invitations_pager,
            "pool": pool,
            "pool_pager": pool_pager,
            "accepted": recruitment.count_accepted(page.db, call),
            "status_label": labeller(page, STATUS),
            "role_label": labeller(page, ROLE),
            "form": extra.get("form", {}),
            "errors": extra.get("errors", {}),
        },
        status=status,
    )


@router.get("/manage/calls/{slug}/reviewers", response_class=HTMLResponse)
def reviewers(slug: str, page: Page = Depends(get_page)) -> Response:
    return _page(page, staff_call(page, slug))


@router.post("/manage/calls/{slug}/reviewers", response_class=HTMLResponse)
def invite(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    f = page.form
    emails = [e for e in f.get("emails", "").replace(",", "\n").splitlines() if e.strip()]
    emails += [v for k, v in f.items() if k.startswith("pool-") and v]
    with page.attempt() as refused:
        made = recruitment.invite(
            page.db, call, emails, role=f.get("role", "reviewer"), actor_id=page.user.id
        )
        send_invitations(page.request, page.db, call, made)
    if refused:
        return _page(page, call, 400, form=f, errors={refused.field or "form": refused.message})
    return page.redirect(f"/manage/calls/{call.slug}/reviewers", "invited")


@router.post("/manage/calls/{slug}/reviewers/{inv_id}/withdraw", response_class=HTMLResponse)
def withdraw(slug: str, inv_id: int, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    inv = page.db.get(ReviewInvitation, inv_id) if 0 < inv_id <= MAX_ID else None
    if inv is None or inv.call_id != call.id:
        page.not_found()
    with page.attempt() as refused:
        recruitment.withdraw(page.db, inv, actor_id=page.user.id)
    if refused:
        return _page(page, call, 400, errors={"form": refused.message})
    return page.redirect(f"/manage/calls/{call.slug}/reviewers", "removed")


# ---------------------------------------------------------------- the invited person


def _answer_page(page: Page, token: str, status: int = 200, **extra: Any) -> Response:
    try:
        inv = recruitment.invitation_for_token(page.db, token)
    except DomainError as exc:
        return page.render(
            "reviews/recruit_answer.html",
            {"inv": None, "error": page.t.error(exc)},
            status=404,
        )
    call = page.db.get(Call, inv.call_id)
    assert call is not None
    return page.render(
        "reviews/recruit_answer.html",
        {
            "inv": inv,
            "call": call,
            "role": page._(ROLE.get(inv.role, inv.role)),
            "status_label": page._(STATUS.get(inv.status, inv.status)),
            "here": f"/review/invitations/{token}",
            "deadline": review_settings(call.review_settings).review_deadline,
            "error": extra.get("error", ""),
            "form": extra.get("form", {}),
        },
        status=status,
    )


@router.get("/review/invitations/{token}", response_class=HTMLResponse)
def answer_form(token: str, page: Page = Depends(get_page)) -> Response:
    return _answer_page(page, token[:100])


@router.post("/review/invitations/{token}", response_class=HTMLResponse)
def answer(token: str, page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    f = page.form
    raw_load = f.get("max_load", "").strip()
    if raw_load and not (raw_load.isdecimal() and len(raw_load) < 4):
        return _answer_page(page, token[:100], 400, error=page._(MSG_NUMBER), form=f)
    with page.attempt() as refused:
        recruitment.respond(
            page.db,
            user,
            token[:100],
            accept=f.get("answer") == "accept",
            reason=f.get("reason", ""),
            max_load=int(raw_load) if raw_load else None,
            availability=f.get("availability", ""),
        )
    if refused:
        return _answer_page(page, token[:100], refused.status, error=refused.message, form=f)
    return page.redirect(f"/review/invitations/{token[:100]}", "saved")


# ---------------------------------------------------------------- JSON API


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the ReviewInvitation row

    id: int
    email: str
    role: str
    status: Literal["invited", "accepted", "declined"]
    reason: str
    max_load: int | None
    availability: str
    created_at: dt.datetime
    responded_at: dt.datetime | None


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emails: list[str] = Field(min_length=1, max_length=recruitment.MAX_BATCH)
    role: Literal["reviewer", "technical_reviewer"] = "reviewer"


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=100)
    accept: bool
    reason: str = Field("", max_length=2000)
    max_load: int | None = Field(None, ge=1, le=100)
    availability: str = Field("", max_length=300)


def _out(i: ReviewInvitation) -> InvitationOut:
    return InvitationOut.model_validate(i)


class InvitationList(Paged[InvitationOut]):
    pass


@api_router.get(
    "/calls/{slug}/reviewer-invitations", response_model=InvitationList, responses=MANAGE_ERRORS
)
def api_invitations(
    listed: CallListRequest = Depends(call_list(may_manage_call)),
) -> InvitationList:
    """Who was invited to review the call, and their answers (chair and user office),
    oldest first, a page at a time."""
    shown, pg = listed.rows(
        recruitment.invitations_query(listed.call),
        [(ReviewInvitation.created_at, dt.datetime), (ReviewInvitation.id, int)],
        lambda i: (i.created_at, i.id),
    )
    return InvitationList(items=[_out(i) for i in shown], page=pg)


@api_router.post(
    "/calls/{slug}/reviewer-invitations",
    response_model=list[InvitationOut],
    status_code=201,
    responses=MANAGE_ERRORS,
    dependencies=[MANAGE],
)
def api_invite(
    body: InviteIn, slug: str = SLUG, api: Api = Depends(get_api)
) -> list[InvitationOut]:
    """Invite people by e-mail to review the call; each gets a link to answer."""
    call = staff_call_api(api, slug)
    with api.saving():
        made = recruitment.invite(api.db, call, body.emails, role=body.role, actor_id=api.actor_id)
        send_invitations(api.request, api.db, call, made)
        out = [_out(i) for i, _raw in made]
    return out


@api_router.post(
    "/review-invitations/answer",
    response_model=InvitationOut,
    responses=MANAGE_ERRORS,
    dependencies=[REVIEW],
)
def api_answer(body: AnswerIn, api: Api = Depends(get_api)) -> InvitationOut:
    """Accept (with a maximum load and availability) or decline (with a reason)."""
    user = api.require_user()
    with api.saving():
        inv = recruitment.respond(
            api.db,
            user,
            body.token,
            accept=body.accept,
            reason=body.reason,
            max_load=body.max_load,
            availability=body.availability,
        )
        out = _out(inv)
    return out
