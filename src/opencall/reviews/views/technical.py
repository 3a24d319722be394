"""A technical reviewer's pages: the proposals of a call they may assess (not their
own, not conflicted), and the technical review of one, with its PDFs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls.access import signed_in_call
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.inputs import finite_number, language_name, plain_number
from opencall.proposals.models import Proposal
from opencall.proposals.queries import continued_award
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.policies import reviewer_content
from opencall.reviews.presenters import SAFETY_DECISION_LABELS, VERDICTS, labels, with_units
from opencall.reviews.views.common import revision_pdf
from opencall.web.forms import MSG_INVALID
from opencall.web.pages import Page, get_page
from opencall.web.paging import paginate_query

router = APIRouter()


PER_PAGE = 50  # proposals a page of the technical reviewer's list


def _reviewable(page: Page, call: Call) -> tuple[list[Proposal], Any]:
    """A page of the proposals of ``call`` the technical reviewer (or safety officer) may
    assess: the same conflicts as panel reviewers, read in the database."""
    assert page.user is not None  # the caller's policy holds
    return paginate_query(
        page.db,
        policies.technical_review_query(page.db, page.user, call),
        page.request.query_params,
        PER_PAGE,
        "#proposals",
    )


def _shown(page: Page, p: Proposal) -> dict[str, Any]:
    """What the technical and the safety review pages show of the proposal."""
    return {
        "p": p,
        "call": p.call,
        "content": with_units(page, reviewer_content(page.db, p)),
        "anonymous": not policies.reviewer_sees_team(p.call),
    }


@router.get("/technical/calls/{slug}", response_class=HTMLResponse)
def technical_list(slug: str, page: Page = Depends(get_page)) -> Response:
    call = signed_in_call(page, slug, policies.may_technical_review)
    assert page.user is not None  # may_technical_review holds
    proposals, pager = _reviewable(page, call)
    done = q.technical_reviews_of(page.db, [p.id for p in proposals])
    return page.render(
        "reviews/technical_list.html",
        {"call": call, "proposals": proposals, "pager": pager, "done": done, **labels(page)},
    )


def _technical_proposal(page: Page, proposal_id: int) -> Proposal:
    page.require_user()
    return page.found(policies.technical_review_proposal(page.db, page.user, proposal_id))


def _technical_page(page: Page, p: Proposal, status: int = 200, **extra: Any) -> Response:
    tr = q.technical_review_of(page.db, p.id)
    form = extra.pop("form", None) or {
        "verdict": tr.verdict if tr else "",
        "amount_needed": plain_number(tr.amount_needed)
        if tr and tr.amount_needed is not None
        else "",
        "notes_to_panel": tr.notes_to_panel if tr else "",
        "notes_to_applicants": tr.notes_to_applicants if tr else "",
    }
    return page.render(
        "reviews/technical.html",
        {
            **_shown(page, p),
            # the language it is written in names nobody: shown in dual-anonymous calls too
            "language_shown": language_name(p.language, page.lang) if p.language else "",
            "continues": continued_award(page.db, p),  # outcomes19
            "form": form,
            "verdicts": [(k, page._(v)) for k, v in VERDICTS.items()],
            "errors": extra.pop("errors", {}),
            **labels(page),
        },
        status=status,
    )


@router.get("/technical/proposals/{proposal_id}", response_class=HTMLResponse)
def technical_page(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    return _technical_page(page, _technical_proposal(page, proposal_id))


@router.get("/technical/proposals/{proposal_id}/pdf/{n}")
def technical_pdf(proposal_id: int, n: int, page: Page = Depends(get_page)) -> Response:
    """The technical reviewer's copy of the n-th PDF (rewritten, under a neutral name)."""
    return revision_pdf(page, _technical_proposal(page, proposal_id), n)


@router.post("/technical/proposals/{proposal_id}", response_class=HTMLResponse)
def technical_save(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    p = _technical_proposal(page, proposal_id)
    f = page.fields("verdict", "amount_needed", "notes_to_panel", "notes_to_applicants")
    errors: dict[str, str] = {}
    amount: float | None = None
    if f["amount_needed"].strip():
        amount = finite_number(f["amount_needed"])
        if amount is None:
            errors["amount_needed"] = page._(MSG_INVALID)
    if not errors:
        with page.attempt() as refused:
            services.submit_technical_review(
                page.db,
                p,
                page.user,
                verdict=f["verdict"],
                amount_needed=amount,
                notes_to_panel=f["notes_to_panel"][:20000],
                notes_to_applicants=f["notes_to_applicants"][:20000],
            )
        if not refused:
            return page.redirect(f"/technical/calls/{p.call.slug}", "saved")
        errors[refused.field or "form"] = refused.message
    return _technical_page(page, p, 400, form=f, errors=errors)


# ---- the safety officer's pages (trialfac24): a call's proposals and the safety review of one


@router.get("/technical/calls/{slug}/safety", response_class=HTMLResponse)
def safety_list(slug: str, page: Page = Depends(get_page)) -> Response:
    call = signed_in_call(page, slug, policies.may_safety_review)
    assert page.user is not None  # may_safety_review holds
    proposals, pager = _reviewable(page, call)
    rs = review_settings(call.review_settings)
    return page.render(
        "reviews/safety_list.html",
        {
            "call": call,
            "proposals": proposals,
            "pager": pager,
            "done": q.safety_reviews_of(page.db, [p.id for p in proposals]),
            "classes": rs.hazard_classes,
            "approval": rs.approval_required,
            **labels(page),
        },
    )


def _safety_proposal(page: Page, proposal_id: int) -> Proposal:
    page.require_user()
    return page.found(policies.safety_review_proposal(page.db, page.user, proposal_id))


def _safety_page(page: Page, p: Proposal, status: int = 200, **extra: Any) -> Response:
    sr = q.safety_reviews_of(page.db, [p.id]).get(p.id)
    rs = review_settings(p.call.review_settings)
    form = extra.pop("form", None) or {
        "hazard_class": sr.hazard_class if sr else "",
        "decision": sr.decision if sr else "",
        "notes_to_panel": sr.notes_to_panel if sr else "",
        "notes_to_applicants": sr.notes_to_applicants if sr else "",
    }
    return page.render(
        "reviews/safety.html",
        {
            **_shown(page, p),
            "form": form,
            "classes": [(k, k) for k in rs.hazard_classes],
            "approval": rs.approval_required,
            "decisions": [(k, page._(v)) for k, v in SAFETY_DECISION_LABELS.items()],
            "errors": extra.pop("errors", {}),
            **labels(page),
        },
        status=status,
    )


@router.get("/technical/proposals/{proposal_id}/safety", response_class=HTMLResponse)
def safety_page(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    return _safety_page(page, _safety_proposal(page, proposal_id))


@router.post("/technical/proposals/{proposal_id}/safety", response_class=HTMLResponse)
def safety_save(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    p = _safety_proposal(page, proposal_id)
    f = page.fields("hazard_class", "decision", "notes_to_panel", "notes_to_applicants")
    errors: dict[str, str] = {}
    with page.attempt() as refused:
        services.submit_safety_review(
            page.db,
            p,
            page.user,
            hazard_class=f["hazard_class"],
            decision=f["decision"],
            notes_to_panel=f["notes_to_panel"][:20000],
            notes_to_applicants=f["notes_to_applicants"][:20000],
        )
    if not refused:
        return page.redirect(f"/technical/calls/{p.call.slug}/safety", "saved")
    errors[refused.field or "form"] = refused.message
    return _safety_page(page, p, 400, form=f, errors=errors)
