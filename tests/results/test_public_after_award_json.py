"""The public after-award figures as JSON (outcomes24): the page offered its tables as a
CSV alone (``?format=csv``, outcomes15); a funder's script reading the figures of many
calls had no JSON to read. ``?format=json`` now answers the same published cells as the
CSV, row for row (the same "<5" and "x" where the page hides a count, group codes, no
name, e-mail, proposal code or title), with the threshold they were suppressed under; a
call whose results are not public has none (404), as the CSV."""

from __future__ import annotations

import csv
import io

from opencall.outcomes import queries as oq
from opencall.results import queries as rq
from opencall.results import services as res
from tests.results.awards_world import awarded_samples_call
from tests.web.conftest import Web

LOAN = {"sample": "x", "mass_mg": 5, "shipped_on": "2027-06-01", "received_on": "2027-06-05"}


def test_the_json_carries_the_csv_s_cells_and_no_identity(web: Web) -> None:
    with web.factory() as s:
        call, props = awarded_samples_call(s, ["KEN"] * 7 + ["DEU"] * 6 + ["FJI"] * 2)
        year = rq.awarded_on(call).year + 1
        for i, p in enumerate(props):
            if i % 3:
                res.add_record(s, p, "loan", LOAN, actor_id=None)
            if i % 2:
                res.add_output(s, p, {"title": f"Paper {i}", "year": year}, actor_id=None)
        s.commit()
        slug = call.slug
        secrets = [p.code for p in props] + [p.title for p in props]
        secrets += [m.name for p in props for m in p.members]
        secrets += [m.email for p in props for m in p.members if m.email]
    oq.PUBLIC_AFTER_AWARD.clear()
    client = web.client("en")
    r = client.get(f"/calls/{slug}/after-award?format=json")
    assert r.headers["content-type"].startswith("application/json"), "no JSON of the figures"
    out = r.json()
    text = client.get(f"/calls/{slug}/after-award?format=csv").text
    want = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert out["call"] == slug and out["min_cell"] == oq.PUBLIC_MIN_CELL
    assert out["rows"] == want and want
    assert not [x for x in out["rows"] if x["value"] in ("1", "2", "3", "4")]
    assert not [w for w in secrets if w and w in r.text]
    page = client.get(f"/calls/{slug}/after-award").text
    assert f'href="/calls/{slug}/after-award?format=json"' in page


def test_no_json_of_a_call_whose_results_are_not_public(web: Web) -> None:
    with web.factory() as s:
        call, _props = awarded_samples_call(s, ["KEN"] * 5)
        call.status = "closed"  # visible, its results not public yet
        s.commit()
        slug = call.slug
    r = web.client("en").get(f"/calls/{slug}/after-award?format=json")
    assert r.status_code == 404
