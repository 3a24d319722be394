"""The reviewer's form (issue 17): a deadline with a countdown on every assignment,
the call's criteria and guidance on the form, nothing preselected, errors linked to
their fields, and a submit that answers "Review submitted"."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.reviews.models import ReviewAssignment
from tests.review_cycle import Cycle, Web
from tests.web.conftest import csrf, said_to

CRITERIA = ["Scientific merit", "Feasibility with FAST"]
GUIDANCE = "Grade the science, not the team; say what would make it stronger."


def _settings(factory: sessionmaker[Session], cycle: Cycle, **rs: object) -> None:
    with factory() as s:
        call = s.get(Call, cycle.ids["call"])
        assert call is not None
        call.review_settings = {**call.review_settings, **rs}
        s.commit()


def _post(c, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return c.post(path, data={"csrf_token": csrf(c, "/review"), **data})


def test_deadline_criteria_no_preselection_and_submitted(
    web: Web,
    cycle: Cycle,
    factory: sessionmaker[Session],
) -> None:
    due = utcnow() + dt.timedelta(days=5, hours=2)
    _settings(factory, cycle, review_deadline=due.isoformat(), criteria=CRITERIA, guidance=GUIDANCE)
    rev = web.login(cycle.emails["assigned"])
    aid = cycle.ids["assignment"]
    ws = rev.get("/review").text
    # on the workspace row, as the reviewer reads it (their language and zone: trialapp16)
    said = said_to(factory, cycle.emails["assigned"], due)
    assert "5 days left" in ws and said in re.sub(r"\s+", " ", ws), said
    path = f"/review/assignments/{aid}"
    assert _post(rev, f"{path}/respond", {"action": "accept"}).status_code == 303
    page = rev.get(path).text
    box = re.search(r'<div id="review-deadline">(.*?)</div>', page, re.S)
    assert box and "5 days left" in box.group(1)
    for text in [*CRITERIA, GUIDANCE.replace("'", "&#39;")]:
        assert text in page
    select = re.search(r'<select id="f-confidence".*?</select>', page, re.S)
    assert select and "selected" not in select.group(0)  # nothing preselected
    assert re.search(r'<input[^>]*id="f-grade"[^>]*value=""', page)

    # confidence missing: refused, the error linked to the field, nothing submitted
    bad = _post(rev, path, {"grade": "4", "comments_to_applicants": "Fine.", "action": "submit"})
    assert bad.status_code == 400
    assert 'aria-describedby="err-confidence"' in bad.text and 'id="err-confidence"' in bad.text
    assert "Choose how confident" in bad.text
    with factory() as s:
        assert s.get(ReviewAssignment, aid).status == "accepted"  # type: ignore[union-attr]

    ok = _post(
        rev,
        path,
        {"grade": "4", "confidence": "2", "comments_to_applicants": "Fine.", "action": "submit"},
    )
    assert ok.status_code == 303 and ok.headers["location"].endswith("m=review_submitted")
    done = rev.get(ok.headers["location"]).text
    assert "Review submitted" in done and "Saved." not in done
    with factory() as s:
        assert s.get(ReviewAssignment, aid).status == "submitted"  # type: ignore[union-attr]


def test_overdue_and_no_deadline(
    web: Web,
    cycle: Cycle,
    factory: sessionmaker[Session],
) -> None:
    rev = web.login(cycle.emails["assigned"])
    assert "No review deadline has been set" in rev.get("/review").text
    _settings(factory, cycle, review_deadline=(utcnow() - dt.timedelta(days=2)).isoformat())
    assert "Overdue" in rev.get("/review").text


def test_criteria_and_guidance_on_the_call_form(
    web: Web,
    cycle: Cycle,
) -> None:
    from opencall.calls.manage_views import call_form_values

    with web.factory() as s:
        call = s.get(Call, cycle.ids["call"])
        assert call is not None
        call.review_settings = {**call.review_settings, "criteria": CRITERIA, "guidance": GUIDANCE}
        values = call_form_values(call)
    assert values["review_criteria"] == "\n".join(CRITERIA)
    assert values["review_guidance"] == GUIDANCE


def test_saved_in_the_background(web: Web, cycle: Cycle, factory: sessionmaker[Session]) -> None:
    """The form's script (safe-save.js) asks for JSON: a draft saved answers the review as
    stored; a refusal its errors (400) with nothing written; a submission (and the same one
    sent again, its answer lost) the page to go to, which then tells the browser to forget
    the drafts it kept; without the script the answers are the pages, as before."""
    from opencall.reviews.models import Review

    rev = web.login(cycle.emails["assigned"], lang="es")
    aid = cycle.ids["assignment"]
    path = f"/review/assignments/{aid}"
    assert _post(rev, f"{path}/respond", {"action": "accept"}).status_code == 303
    page = rev.get(path).text
    assert f'data-safe-save="review-{aid}"' in page and "safe-save" in page

    def send(**data: str):  # type: ignore[no-untyped-def]
        token = csrf(rev, path)
        return rev.post(
            path, data={"csrf_token": token, **data}, headers={"Accept": "application/json"}
        )

    text = {"grade": "4.0", "confidence": "2", "comments_to_applicants": "Bien.\r\nClaro."}
    draft = send(**text, action="save")
    assert draft.status_code == 200, draft.text
    answer = draft.json()
    assert answer["ok"] and answer["saved_at"] and "redirect" not in answer
    assert answer["fields"] == {
        "grade": "4",
        "confidence": "2",
        "comments_to_applicants": "Bien.\r\nClaro.",
        "comments_to_panel": "",
    }
    # (a draft without a confidence is kept since trialrev14: an invalid grade is refused)
    bad = send(grade="cuatro", confidence="2", comments_to_applicants="Otra cosa", action="save")
    assert bad.status_code == 400 and bad.json()["ok"] is False
    assert "grade" in bad.json()["errors"]  # in Spanish, from the catalogue
    with factory() as s:
        kept = s.query(Review).filter_by(assignment_id=aid).one()
        assert kept.comments_to_applicants == "Bien.\r\nClaro." and kept.submitted_at is None
    for _ in range(2):  # submitted, then the same sent again
        done = send(**text, action="submit")
        assert done.status_code == 200 and done.json()["ok"], done.text
        assert done.json()["redirect"] == f"{path}?m=review_submitted"
    assert f'data-safe-done="review-{aid}"' in rev.get(path).text
    assert _post(rev, path, {**text, "action": "submit"}).status_code == 303  # no script


def test_a_reviewer_asks_for_more_time(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    """In Chinese: the reviewer asks the chair for a later deadline, saying why (without a
    reason: refused, nothing recorded); the chair's assignments page (in French) lists the
    request until the chair extends that reviewer's deadline."""
    from opencall.auditlog import AuditEvent
    from opencall.web.i18n import Translator

    due = utcnow() + dt.timedelta(days=2)
    _settings(factory, cycle, review_deadline=due.isoformat())
    rev = web.login(cycle.emails["assigned"], lang="zh")
    aid = cycle.ids["assignment"]
    path = f"/review/assignments/{aid}"
    assert _post(rev, f"{path}/respond", {"action": "accept"}).status_code == 303
    assert 'id="more-time"' in rev.get(path).text
    zh = Translator("zh")
    bad = _post(rev, f"{path}/more-time", {"more_time": "  "})
    assert bad.status_code == 400
    assert zh.gettext("Say why you need more time, and until when.") in bad.text
    with factory() as s:
        assert not s.query(AuditEvent).filter_by(action="review.more_time_asked").count()
    why = "Fieldwork in Atacama until the 20th; two more weeks, please."
    ok = _post(rev, f"{path}/more-time", {"more_time": why})
    assert ok.status_code == 303 and ok.headers["location"].endswith("m=more_time_asked")
    assert (
        zh.gettext("Your request was sent to the chair of the call.")
        in rev.get(ok.headers["location"]).text
    )

    chair = web.login(cycle.emails["chair"], lang="fr")
    table = f"/manage/calls/{cycle.slug}/assignment"
    page = chair.get(table).text
    box = re.search(r'<table id="more-time-asked">.*?</table>', page, re.S)
    assert box and "Fieldwork in Atacama" in box.group(0) and "Assigned Person" in box.group(0)
    until = (due + dt.timedelta(days=14)).strftime("%Y-%m-%d %H:%M")
    extended = chair.post(
        f"{table}/extend",
        data={
            "csrf_token": csrf(chair, table),
            "reviewer": cycle.emails["assigned"],
            "until": until,
            "reason": "asked",
        },
    )
    assert extended.status_code == 303, extended.text[:500]
    assert 'id="more-time-asked"' not in chair.get(table).text
