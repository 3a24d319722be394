"""The public after-award figures as a CSV (outcomes15): a funder asking "did the poor
benefit?" takes the page's tables (by income group and UN region, first and repeat
access, the time to a first result, the cycles) into a spreadsheet. The file carries the
page's published cells and nothing else: the same "<5" and "x" where the page hides a
count, group codes, and no name, e-mail, proposal code or title; a call whose results are
not public has none."""

from __future__ import annotations

import csv
import io

from opencall.calls.models import Call
from opencall.outcomes import after_award_views as aav
from opencall.outcomes import queries as oq
from opencall.results import queries as rq
from opencall.results import services as res
from tests.results.awards_world import awarded_samples_call
from tests.web.conftest import Web

LOAN = {"sample": "x", "mass_mg": 5, "shipped_on": "2027-06-01", "received_on": "2027-06-05"}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_public_after_award_csv_carries_the_page_s_cells_and_no_identity(web: Web) -> None:
    with web.factory() as s:
        call, props = awarded_samples_call(s, ["KEN"] * 7 + ["DEU"] * 6 + ["FJI"] * 2)
        year = rq.awarded_on(call).year + 1
        for i, p in enumerate(props):
            if i % 3:
                res.add_record(s, p, "loan", LOAN, actor_id=None)
            if i % 2:
                res.add_output(s, p, {"title": f"Paper {i}", "year": year}, actor_id=None)
        s.commit()
        slug, call_id = call.slug, call.id
        secrets = [p.code for p in props] + [p.title for p in props]
        secrets += [m.name for p in props for m in p.members]
        secrets += [m.email for p in props for m in p.members if m.email]
    oq.PUBLIC_AFTER_AWARD.clear()
    client = web.client("en")
    r = client.get(f"/calls/{slug}/after-award?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = _rows(r.text)
    assert {x["table"] for x in rows} >= {"after_award", "access", "cycles"}
    # the page's figures, as the page shows them (its release, kept), by group code
    with web.factory() as s:
        data = oq.public_after_award(s, s.get(Call, call_id))  # type: ignore[arg-type]
    want = {
        ("after_award", by, x["group"], x["stage"]): aav.shown(x["count"])
        for by, table in data["funnels"].items()
        for x in table
    }
    got = {
        (x["table"], x["grouping"], x["group"], x["measure"]): x["value"]
        for x in rows
        if x["table"] == "after_award" and x["measure"] != "awarded"
    }
    assert got == want
    fiji = [x for x in rows if x["group"] == "Oceania" and x["table"] != "cycles"]
    assert fiji and all(x["value"] in ("<5", "x", "0") for x in fiji), [
        (x["measure"], x["value"]) for x in fiji
    ]
    # no count of one to four people is published: small ones read "<5" or "x"
    assert not [x for x in rows if x["value"] in ("1", "2", "3", "4")]
    assert not [w for w in secrets if w and w in r.text]


def test_no_csv_of_a_call_whose_results_are_not_public(web: Web) -> None:
    with web.factory() as s:
        call, _props = awarded_samples_call(s, ["KEN"] * 5)
        call.status = "closed"  # visible, its results not public yet
        s.commit()
        slug = call.slug
    client = web.client("en")
    assert client.get(f"/calls/{slug}/after-award").status_code == 200  # the page says so
    assert client.get(f"/calls/{slug}/after-award?format=csv").status_code == 404
