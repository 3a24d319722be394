"""The JSON API of an applicant's own proposals: create, edit (with ``version``:
optimistic locking, 409 when someone saved in between), team invitations and their
answers, requests (with an all-or-nothing ``bundle`` key), PDF attachments
(multipart, the same content checks as the web), submit and withdraw.

Same services and policies as the editor pages (``proposals.views``); writes need a
token with the ``apply`` scope. A refusal changes nothing: 400 with a message that
names the field, 404 for what is not the caller's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field, field_validator

from opencall.calls import policies as call_policies
from opencall.calls.queries import call_by_slug
from opencall.calls.schemas import day_ends
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.inputs import BoundedDateTime
from opencall.proposals import notify, policies, services, workflow
from opencall.proposals.domain import COUNTED
from opencall.proposals.models import Attachment, Proposal, Request, TeamMember
from opencall.proposals.presenters import BatchOut, batch_out
from opencall.storage import storage_for
from opencall.web import serving
from opencall.web.api import (
    APPLY,
    LIMITED,
    MAX_ID,
    Api,
    ApiError,
    from_row,
    get_api,
    id_param,
    one_file_per_field,
)

T = TypeVar("T", Request, TeamMember, Attachment)
router = APIRouter(prefix="/api/v1", tags=["proposals"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "refused: the message names the field and says why"},
    404: {"description": "not found (or not yours)"},
    409: {"description": "stale version: read the proposal again and retry"},
}
BUNDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
VERSION = Field(ge=1, le=MAX_ID, description="the proposal's `version` you last read")


def _version() -> Any:
    """A removal's ``?version=``: the proposal's version the caller last read."""
    return Query(ge=1, le=MAX_ID)


class MemberOut(BaseModel):
    id: int
    role: str
    name: str
    email: str
    institution: str
    country_iso3: str | None
    status: str


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the Request row

    id: int
    kind: str
    pool_id: int | None
    amount: float
    details: dict[str, Any]
    bundle: str | None


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the Attachment row

    id: int
    purpose: str
    filename: str
    size: int
    pages: int
    sha256: str


class Problem(BaseModel):
    field: str
    message: str


LANGUAGE = (
    "the language the proposal is written in: an ISO 639 code (en, es, fr, zh...), null "
    "when not stated; reviewers who declared their languages are given it only when it is "
    "among them"
)
LANGUAGE_IN = (
    "the language the proposal is written in, an ISO 639 code (en, es, fr, zh...); empty "
    "for not stated; a code that is not a language is refused with 400, nothing changed"
)


class ProposalFull(BaseModel):
    id: int
    code: str
    call: str
    status: str
    version: int
    title: str
    abstract: str
    science_case: str
    keywords: str
    language: str | None = Field(description=LANGUAGE)
    submitted_at: dt.datetime | None
    members: list[MemberOut]
    requests: list[RequestOut]
    attachments: list[AttachmentOut]
    problems: list[Problem] = Field(description="what still blocks submission")
    batch: BatchOut | None = Field(
        description="a continuous call: the batch the proposal is in, or enters next"
    )


# the title's limit is the call's, checked by the service (400 naming it), not a copy here
TITLE_LIMIT = (
    "at most the call's `form.title_max_chars` characters (200 by default; a call's limit "
    "is at most 300, a higher one refused when the call is made or edited); "
    "a longer one is refused with 400 naming the limit"
)


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call: str = Field(min_length=1, max_length=80, description="the call's slug")
    title: str = Field(description=TITLE_LIMIT)
    abstract: str = Field("", max_length=20000)
    science_case: str = Field("", max_length=200000)
    keywords: str = Field("", max_length=1000)
    language: str | None = Field(None, max_length=40, description=LANGUAGE_IN)


class ProposalEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = VERSION
    title: str | None = Field(None, description=TITLE_LIMIT)
    abstract: str | None = Field(None, max_length=20000)
    science_case: str | None = Field(None, max_length=200000)
    keywords: str | None = Field(None, max_length=1000)
    language: str | None = Field(None, max_length=40, description=LANGUAGE_IN)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = VERSION
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    institution: str = Field(min_length=1, max_length=300)
    country_iso3: str = Field(min_length=3, max_length=3)


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    version: int = VERSION
    kind: Literal["fast", "berth", "dive", "sample", "seat", "package", "custom"]
    pool_id: int | None = Field(None, ge=1, le=MAX_ID)
    details: dict[str, Any]
    bundle: str | None = Field(
        None,
        max_length=40,
        description="requests of the proposal with the same key are awarded all or nothing",
    )


class RequestEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    version: int = VERSION
    details: dict[str, Any]
    bundle: str | None = Field(None, max_length=40)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool


class InvitationOut(BaseModel):
    id: int
    proposal_id: int
    proposal_title: str
    call: str
    role: str
    status: str

    @classmethod
    def of(cls, m: TeamMember) -> InvitationOut:
        return from_row(cls, m, proposal_title=m.proposal.title, call=m.proposal.call.slug)


# what every write answers (the proposal as it is now), its refusals, and its scope
WRITE: dict[str, Any] = {
    "response_model": ProposalFull,
    "responses": ERRORS,
    "dependencies": [APPLY],
}
# a write under an hourly limit (team invitations, uploads): 429 with Retry-After too
LIMITED_WRITE: dict[str, Any] = {**WRITE, "responses": {**ERRORS, **LIMITED}}


def full(p: Proposal, problems: list[tuple[str, str]] | None = None) -> ProposalFull:
    """The answer of every write; ``problems`` when the caller knows them already (a
    submit the service accepted has none), else the submission checks run."""
    if problems is None:
        problems = services.submission_problems(p)
    return from_row(
        ProposalFull,
        p,
        call=p.call.slug,
        members=[from_row(MemberOut, m, institution=m.institution_name) for m in p.members],
        requests=[
            RequestOut.model_validate(r) for r in sorted(p.requests, key=lambda r: r.position)
        ],
        attachments=[AttachmentOut.model_validate(a) for a in p.attachments],
        problems=[Problem(field=f, message=m) for f, m in problems],
        batch=batch_out(p),
    )


def _mine(api: Api, proposal_id: int) -> Proposal:
    user = api.require_user()
    return api.get_visible(Proposal, proposal_id, lambda p: policies.may_see_proposal(user, p))


def _editable(api: Api, proposal_id: int, *, pi: bool = False) -> Proposal:
    """The caller's proposal, still editable (a team member is told why not); with
    ``pi``, only where they are its PI (anyone else gets 404)."""
    p = _mine(api, proposal_id)
    if pi and not policies.is_pi(api.user, p):
        raise api.not_found()
    if not policies.may_edit_proposal(api.user, p):
        raise ApiError(400, f"This proposal is {p.status} and can no longer be edited.")
    return p


def _pi(api: Api, proposal_id: int) -> Proposal:
    """:func:`_editable` for the PI's changes (team, submit, withdraw)."""
    return _editable(api, proposal_id, pi=True)


def _bundled(bundle: str | None) -> Callable[[Request], None]:
    """Put the request just saved in ``bundle`` (a key checked by :func:`_bundle`)."""

    def put(req: Request) -> None:
        req.bundle = bundle

    return put


def _bundle(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not BUNDLE.fullmatch(value):
        raise ApiError(
            400,
            "bundle: a short key of letters, digits, '.', '_' or '-' (at most 40 characters).",
        )
    return value


def _done(api: Api, p: Proposal, problems: list[tuple[str, str]] | None = None) -> ProposalFull:
    api.db.flush()
    api.db.refresh(p)
    out = full(p, problems)
    api.db.commit()
    return out


def _received(api: Api) -> dt.datetime:
    """When the request reached the server (the clock's now where none was noted)."""
    return serving.received_at(api.request.scope) or utcnow()


def _change(
    api: Api,
    p: Proposal,
    service: Callable[..., Any],
    *args: Any,
    then: Callable[[Any], object] | None = None,
    **kwargs: Any,
) -> ProposalFull:
    """One change through ``service(db, proposal, *args, **kwargs)`` as the caller, then
    ``then`` on what it returns; committed, the proposal as it is now is the answer. A
    refusal changes nothing (400, 404, or 409 for a stale version). Judged by when the
    request arrived (``now``), as the pages judge theirs, not when the service runs: an
    edit received before the deadline and served after it stands (trialcrowd24)."""
    kwargs.setdefault("now", _received(api))
    with api.refusing():
        done = service(api.db, p, *args, actor_id=api.actor_id, **kwargs)
        if then is not None:
            then(done)
        return _done(api, p)


@router.get("/proposals/{proposal_id}/full", response_model=ProposalFull, responses=ERRORS)
def get_full(proposal_id: int = id_param(), api: Api = Depends(get_api)) -> ProposalFull:
    """The whole proposal as its team edits it (with its ``version``)."""
    return full(_mine(api, proposal_id))


@router.post("/proposals", status_code=201, **WRITE)
def create(body: ProposalIn, api: Api = Depends(get_api)) -> ProposalFull:
    """A new draft proposal in an open call; the caller is its PI. The same request sent
    again within half an hour (a retry without ``Idempotency-Key``) answers the draft
    it made while nobody has edited it, not a second one."""
    user = api.require_user()
    call = call_by_slug(api.db, body.call)
    if call is None or not call_policies.may_see_call(api.db, user, call):
        raise ApiError(400, f"call: no open call {body.call!r}.")
    with api.refusing():
        p = services.create_proposal(
            api.db, call, user, reuse_recent=True, **body.model_dump(exclude={"call"})
        )
        return _done(api, p)


@router.patch("/proposals/{proposal_id}", **WRITE)
def edit(
    body: ProposalEdit, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> ProposalFull:
    """Change the text and the language (the fields sent; an empty ``language`` is "not
    stated"); ``version`` must be the one last read."""
    p = _editable(api, proposal_id)
    data = body.model_dump(exclude={"version", "language"}, exclude_none=True)
    # one change, one version more, the language with the text when it is sent
    stated: dict[str, Any] = (
        {"language": body.language} if "language" in body.model_fields_set else {}
    )
    return _change(api, p, services.update_proposal, data, expected_version=body.version, **stated)


def _mail_invitation(api: Api, p: Proposal, member: TeamMember) -> None:
    """The invitee's e-mail (:func:`proposals.notify.mail_invitation`), in the inviter's
    language when the invitee has no account."""
    assert api.user is not None
    settings = api.request.app.state.settings
    notify.mail_invitation(
        api.db,
        api.request,
        p,
        member,
        api.user,
        fallback_lang=api.user.language,
        base_url=settings.base_url,
        per_hour=settings.mail_throttle_per_hour,
    )


@router.post("/proposals/{proposal_id}/members", status_code=201, **LIMITED_WRITE)
def invite(
    body: MemberIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> ProposalFull:
    """Invite a co-investigator by e-mail (the PI); they answer with
    ``POST /api/v1/team-invitations/{id}/answer`` or on the site."""
    p = _pi(api, proposal_id)
    data = body.model_dump(exclude={"version"})
    if services.invitation_made(p, data) is not None:
        # sent again without its Idempotency-Key (the answer lost): made already,
        # nothing written or mailed, whatever version it carries
        return _done(api, p)
    from opencall.people import services as people_services

    settings = api.request.app.state.settings
    inviter = api.require_user()
    wait = people_services.invite_sender_wait(
        api.db, inviter.id, per_hour=settings.invite_throttle_per_hour
    )
    if wait:
        api.db.rollback()
        raise ApiError(
            429,
            "You have sent many team invitations in the last hour. "
            f"Try again in {max(1, -(-wait // 60))} minutes.",
            headers={"Retry-After": str(wait)},  # when to try again, for a client
        )
    return _change(
        api,
        p,
        services.invite_member,
        data,
        expected_version=body.version,
        then=lambda member: _mail_invitation(api, p, member),
    )


@router.delete("/proposals/{proposal_id}/members/{member_id}", **WRITE)
def remove_member(
    proposal_id: int = id_param(),
    member_id: int = id_param(),
    version: int = _version(),
    api: Api = Depends(get_api),
) -> ProposalFull:
    """Take a co-investigator (or a pending invitation) off the team (the PI)."""
    p = _pi(api, proposal_id)
    m = _row_of(api, p, TeamMember, member_id)
    return _change(api, p, services.remove_member, m, expected_version=version)


@router.get("/team-invitations", response_model=list[InvitationOut])
def my_invitations(api: Api = Depends(get_api)) -> list[InvitationOut]:
    """Open invitations to join a proposal, sent to your (verified) address."""
    user = api.require_user()
    if user.email_verified_at is None:
        return []
    return [InvitationOut.of(m) for m in services.open_invitations(api.db, user.email)]


@router.post(
    "/team-invitations/{member_id}/answer",
    response_model=InvitationOut,
    responses={
        **ERRORS,
        409: {"description": "answered already: the message says how (nothing changed)"},
    },
    dependencies=[APPLY],
)
def answer(
    body: AnswerIn, member_id: int = id_param(), api: Api = Depends(get_api)
) -> InvitationOut:
    """Accept or decline an invitation to join a proposal's team. An invitation answered
    already (another tab, a retried request) answers 409 saying how, and changes nothing."""
    user = api.require_user()
    m = api.get_visible(
        TeamMember,
        member_id,
        lambda row: (
            policies.may_respond_to_invitation(user, row)
            or policies.answered_own_invitation(user, row)
        ),
    )
    if m.status != "invited":
        raise _answered_already(m)
    try:
        with api.refusing(commit=True):
            services.respond_to_invitation(api.db, m, user, accept=body.accept)
            out = InvitationOut.of(m)
    except ApiError:
        # another answer came first (rolled back, so m is read again): said the same way
        if m.status in ("accepted", "declined"):
            raise _answered_already(m) from None
        raise
    return out


def _answered_already(m: TeamMember) -> ApiError:
    """409: the invitation was answered already, said as its page says it
    (proposals/invitation.html)."""
    if m.status == "accepted":
        error = DomainError("You have already accepted this invitation.", code="answered")
    else:
        error = DomainError("You have already declined this invitation.", code="answered")
    return ApiError(409, error.message, error=error)


def _row_of(api: Api, p: Proposal, model: type[T], row_id: int) -> T:
    """The proposal's row of ``model`` (a request, a member, a file); 404 otherwise."""
    return api.get_visible(model, row_id, lambda row: row.proposal_id == p.id)


@router.post("/proposals/{proposal_id}/requests", status_code=201, **WRITE)
def add_request(
    body: RequestIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> ProposalFull:
    """Ask for capacity: ``details`` as the request form of the call's facility."""
    p = _editable(api, proposal_id)
    bundle = _bundle(body.bundle)
    return _change(
        api,
        p,
        services.add_request,
        body.kind,
        body.details,
        pool_id=body.pool_id,
        expected_version=body.version,
        then=_bundled(bundle),
    )


@router.put("/proposals/{proposal_id}/requests/{request_id}", **WRITE)
def update_request(
    body: RequestEdit,
    proposal_id: int = id_param(),
    request_id: int = id_param(),
    api: Api = Depends(get_api),
) -> ProposalFull:
    """Replace a request's details (its kind and pool stay)."""
    p = _editable(api, proposal_id)
    req = _row_of(api, p, Request, request_id)
    bundle = _bundle(body.bundle)
    return _change(
        api,
        p,
        services.update_request,
        req,
        body.details,
        expected_version=body.version,
        then=_bundled(bundle),
    )


@router.delete("/proposals/{proposal_id}/requests/{request_id}", **WRITE)
def remove_request(
    proposal_id: int = id_param(),
    request_id: int = id_param(),
    version: int = _version(),
    api: Api = Depends(get_api),
) -> ProposalFull:
    p = _editable(api, proposal_id)
    req = _row_of(api, p, Request, request_id)
    return _change(api, p, services.remove_request, req, expected_version=version)


@router.post("/proposals/{proposal_id}/attachments", status_code=201, **LIMITED_WRITE)
def upload(
    proposal_id: int = id_param(),
    file: UploadFile = File(description="the scientific justification, a PDF"),
    version: int = Form(ge=1, le=MAX_ID),
    api: Api = Depends(get_api),
    _one: None = Depends(one_file_per_field),
) -> ProposalFull:
    """Upload the PDF (replacing the earlier one): checked and rewritten exactly as on
    the site (structure, encryption, page limit, size; a clean copy for reviewers)."""
    p = _editable(api, proposal_id)
    settings = api.request.app.state.settings
    limit = settings.max_upload_bytes
    data = file.file.read(limit + 1)
    filename = file.filename or "document.pdf"
    if services.upload_made(p, data, filename, expected_version=version) is None:
        _upload_wait(api, settings.upload_throttle_per_hour)
    return _change(
        api,
        p,
        services.add_attachment,
        data,
        filename,
        storage=storage_for(settings),
        max_bytes=limit,
        limits=services.pdf_limits(settings),
        expected_version=version,
    )


def _upload_wait(api: Api, per_hour: int) -> None:
    """The per-account limit on stored uploads (``people.services.upload_wait``): counted
    (committed with the file), or 429 with ``Retry-After`` and nothing read or stored."""
    from opencall.people import services as people_services

    wait = people_services.upload_wait(api.db, api.require_user().id, per_hour=per_hour)
    if wait:
        api.db.rollback()
        raise ApiError(
            429,
            "You have uploaded many files in the last hour. "
            f"Try again in {max(1, -(-wait // 60))} minutes.",
            headers={"Retry-After": str(wait)},
        )


@router.delete("/proposals/{proposal_id}/attachments/{attachment_id}", **WRITE)
def remove_attachment(
    proposal_id: int = id_param(),
    attachment_id: int = id_param(),
    version: int = _version(),
    api: Api = Depends(get_api),
) -> ProposalFull:
    att = _row_of(api, _mine(api, proposal_id), Attachment, attachment_id)
    p = _editable(api, proposal_id)
    return _change(api, p, services.remove_attachment, att, expected_version=version)


@router.post("/proposals/{proposal_id}/submit", **WRITE)
def submit(proposal_id: int = id_param(), api: Api = Depends(get_api)) -> ProposalFull:
    """Submit (the PI): freezes a revision; resubmitting before the deadline replaces it.
    The same submission sent again (a retry whose answer was lost) is answered with the
    revision that counts, also once the close or a batch's cut froze the proposal."""
    p = _mine(api, proposal_id)
    if not policies.is_pi(api.user, p):
        raise api.not_found()
    if not policies.may_edit_proposal(api.user, p) and p.status not in COUNTED:
        raise ApiError(400, f"This proposal is {p.status} and can no longer be edited.")
    received = _received(api)
    # judged by when the request arrived, as on the pages; a receipt as on the pages. The
    # service runs the submission checks (once); a proposal not ready is answered with
    # its first problem, naming its field
    with api.refusing():
        try:
            rev = services.submit(api.db, p, actor_id=api.actor_id, now=received)
        except DomainError as exc:
            said = services.incomplete_problems(exc)
            if not said:
                raise
            api.db.rollback()
            field = exc.field or ""
            raise ApiError(
                400, f"{field}: {said[0].message}", error=said[0], prefix=f"{field}: "
            ) from exc
        if p.submitted_at == received:  # recorded now (not a repeated submit)
            notify.mail_receipt(
                api.db,
                api.request,
                api.user,
                p,
                rev,
                received_at=received,
                lang=getattr(api.user, "language", "en"),
                base_url=api.request.app.state.settings.base_url,
            )
        return _done(api, p, problems=[])  # the service found none


@router.post("/proposals/{proposal_id}/withdraw", **WRITE)
def withdraw(proposal_id: int = id_param(), api: Api = Depends(get_api)) -> ProposalFull:
    """Withdraw the proposal (the PI): a draft, a submission while the call takes them, or
    a proposal under review until the call's review is over (its reviews not yet written
    are taken from the reviewers)."""
    p = _mine(api, proposal_id)
    if not policies.is_pi(api.user, p):
        raise api.not_found()
    if not policies.may_withdraw_proposal(api.user, p):
        raise ApiError(400, f"This proposal is {p.status} and can no longer be withdrawn.")
    return _change(api, p, services.withdraw)


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=2000, description="the PI's request it answers (logged)"
    )


class WithdrawalOut(BaseModel):
    proposal_id: int
    status: str


@router.post("/proposals/{proposal_id}/withdrawal", response_model=WithdrawalOut, responses=ERRORS)
def withdraw_on_request(
    body: WithdrawalIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> WithdrawalOut:
    """The user office withdraws a proposal on its PI's written request (the reason names
    it; audited): as the PI's own withdrawal, also once the close froze the proposal,
    until the call's review is over. Only the call's managers; anyone else gets 404."""
    user = api.require_user()
    p = api.get_visible(
        Proposal, proposal_id, lambda row: call_policies.may_manage_call(api.db, user, row.call)
    )
    received = _received(api)
    with api.refusing(commit=True):
        services.withdraw_on_request(
            api.db, p, reason=body.reason, actor_id=api.actor_id, now=received
        )
        out = WithdrawalOut(proposal_id=p.id, status=p.status)
    return out


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: BoundedDateTime = Field(
        description="the proposal's own submission deadline (UTC when no offset; a date "
        "alone ends with that day, 23:59:59 UTC)"
    )
    reason: str = Field(min_length=1, max_length=2000, description="why (logged)")

    _a_day_ends = field_validator("until", mode="before")(day_ends)


class ExtensionOut(BaseModel):
    proposal_id: int
    until: dt.datetime


@router.put("/proposals/{proposal_id}/deadline", response_model=ExtensionOut, responses=ERRORS)
def extend_deadline(
    body: ExtensionIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> ExtensionOut:
    """The user office extends one proposal's submission deadline (a power cut, a visa
    office closed; later than the call's deadline and than now, with the reason, audited):
    its PI may still edit and submit it until then, while the call is closed to everyone
    else. Only the call's managers; anyone else gets 404."""
    user = api.require_user()
    p = api.get_visible(
        Proposal, proposal_id, lambda row: call_policies.may_manage_call(api.db, user, row.call)
    )
    received = _received(api)
    with api.refusing(commit=True):
        ext, _mailed = workflow.extend_submission_deadline(
            api.db,
            p,
            body.until,
            reason=body.reason,
            actor_id=api.actor_id,
            base_url=api.request.app.state.settings.base_url,
            now=received,
        )
        out = ExtensionOut(proposal_id=p.id, until=ext.until)
    return out
