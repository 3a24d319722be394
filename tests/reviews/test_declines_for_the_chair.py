"""trialop20: a reviewer's decline, with its reason, reached only the chair's assignment
page (trialrev19). The assignment CSV listed the live assignments alone and no API said
who had declined or why: a chair working from the download or a script saw a proposal
fall short and nothing more. Now the CSV lists the declined invitations too (status
"declined", when and why), and ``GET /api/v1/calls/{slug}/assignments/declined`` gives
them; a chair conflicted with a proposal reads neither row nor reason of it."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from opencall.people.models import User
from opencall.reviews.models import Conflict
from tests.review_cycle import Cycle
from tests.web.conftest import Web, api_bearer

WHY = '=HYPERLINK("x") Travelling until March; I read no Spanish.'


def _decline(web: Web, cycle: Cycle) -> None:
    aid = cycle.ids["assignment"]
    headers = api_bearer(web, cycle.emails["assigned"], scopes=("review",))
    r = web.client().post(
        f"/api/v1/assignments/{aid}/respond", headers=headers, json={"accept": False, "reason": WHY}
    )
    assert r.status_code == 200 and r.json()["status"] == "declined", r.text


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def _conflict_chair(web: Web, cycle: Cycle) -> None:
    with web.factory() as s:
        chair_id = s.scalars(select(User.id).where(User.email == cycle.emails["chair"])).one()
        s.add(Conflict(call_id=cycle.ids["call"], proposal_id=cycle.ids["proposal"],
                       reviewer_id=chair_id, source="declared_reviewer", detail="PhD"))  # fmt: skip
        s.commit()


def test_the_assignment_csv_lists_declines_with_their_reason(web: Web, cycle: Cycle) -> None:
    _decline(web, cycle)
    chair = web.login(cycle.emails["chair"])
    rows = _rows(chair.get(f"/manage/calls/{cycle.slug}/assignment?format=csv").text)
    declined = [r for r in rows if r["status"] == "declined"]
    assert len(declined) == 1, rows
    row = declined[0]
    assert row["reviewer"] == "Assigned Person"
    assert row["decline_reason"] == "'" + WHY  # kept, and no formula for a spreadsheet
    assert row["declined_at"][:4].isdigit() and row["score"] == ""
    # the live assignments keep their rows, with the new columns empty
    assert all(r["declined_at"] == r["decline_reason"] == "" for r in rows if r is not row)
    _conflict_chair(web, cycle)
    text = chair.get(f"/manage/calls/{cycle.slug}/assignment?format=csv").text
    assert "Travelling until March" not in text and "Assigned Person" not in text


def test_the_chair_api_lists_declines(web: Web, cycle: Cycle) -> None:
    _decline(web, cycle)
    headers = api_bearer(web, cycle.emails["chair"], scopes=("manage",))
    url = f"/api/v1/calls/{cycle.slug}/assignments/declined"
    r = web.client().get(url, headers=headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    one = items[0]
    assert one["assignment_id"] == cycle.ids["assignment"]
    assert one["reason"] == WHY and one["reviewer_name"] == "Assigned Person"
    assert one["proposal_id"] == cycle.ids["proposal"] and one["declined_at"]
    # the reviewer who declined is no chair: refused
    other = api_bearer(web, cycle.emails["assigned"], scopes=("manage",))
    assert web.client().get(url, headers=other).status_code in (403, 404)
    _conflict_chair(web, cycle)
    r = web.client().get(url, headers=headers)
    assert r.status_code == 200 and r.json()["items"] == []
    assert "Travelling" not in r.text
