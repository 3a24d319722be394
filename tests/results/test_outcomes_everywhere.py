"""The after-award figures of facilities whose records are not publications (a training
programme's trainees and demonstration sites) and of a facility's many cycles, computed
here in plain Python over the rows the test creates, and compared with every place the
product shows them: the report's JSON, the API, the CSV, the page and the PDF (in
English and in French), and the public after-award page.

The income-group rule (docs/who-benefits.md): every cycle counts a country under the
World Bank classification of the reference data in use, so a country the World Bank
reclassifies moves in every cycle at once and the trend compares the same countries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import update
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.outcomes import queries as oq
from opencall.people import services as people_services
from opencall.people.models import Country
from opencall.results import services as rs
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.results.awards_world import RELEASED, awarded_custom_call, telescope_cycles
from tests.results.test_public_suppression import tables
from tests.web.conftest import Web, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")

#: The reference data's classification (src/opencall/reference/data/countries.csv),
#: written out here so that the expected figures do not come from the product's code.
INCOME = {"DEU": "high", "ETH": "low", "KEN": "lower-middle", "GHA": "lower-middle",
          "BRA": "upper-middle", "NPL": "lower-middle"}  # fmt: skip
LABELS = {
    "en": {"low": "Low income", "high": "High income", "all": "All applicants"},
    "fr": {"low": "Revenu faible", "high": "Revenu élevé", "all": "Tous les candidats"},
}


def pdf_text(content: bytes) -> str:
    text = "\n".join(x.extract_text() for x in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def num(v: float) -> str:
    return f"{v:g}"


def office(web: Web, s: Session, call: Call, lang: str) -> str:
    email = f"office-{lang}-{call.slug}@example.org"
    u = F.user(s, email=email, language=lang)
    people_services.grant_role(s, u.id, "call_manager", provider_id=call.provider_id)
    return email


# --------------------------------------------------------------------------- a course


def test_a_training_programme_s_trainees_and_sites_are_the_same_everywhere(web: Web) -> None:
    """A course's participants train others and set up demonstration sites; reports come
    late, twice for one participant (the later one counts), and one is corrected. The
    people trained, the sites set up and those still running a year and three years
    after the award are the same on the page, in the JSON, the API, the CSV and the PDF."""
    countries = ["ETH", "ETH", "ETH", "DEU", "DEU"]
    # (award index, participant, reported on, people trained, women, sites set up, running)
    reports = [
        (0, "Abebe", "2028-06-01", 20, 5, 1, 1),
        (0, "Abebe", "2030-06-20", 50, 20, 2, 2),  # three years on: replaces the above
        (0, "Bethlehem", "2028-09-01", 10, 6, 1, 0),
        (1, "Chala", "2029-01-15", 70, 30, 1, 1),  # corrected below to 37 people
        (3, "Dieter", "2028-07-01", 12, 4, 3, 3),
        (4, "Erika", "2027-11-01", 3, 1, 1, 1),  # under a year after the award
    ]
    with web.factory() as s:
        call, props = awarded_custom_call(s, countries, unit="seat", amount=3)
        for p, who in zip(props, ("Abebe", "Chala", "Fikir", "Dieter", "Erika"), strict=True):
            rs.add_record(s, p, "course", {"participant": who, "attended": True,
                                           "completed": True, "gender": "female"},
                          actor_id=None)  # fmt: skip
        recs = []
        for i, who, on, people, women, sites, running in reports:
            recs.append(rs.add_record(s, props[i], "followup", {
                "participant": who, "followed_up_on": on, "people_trained": people,
                "people_trained_women": women, "demo_sites": sites,
                "demo_sites_running": running}, actor_id=None))  # fmt: skip
        rs.update_record(s, recs[3], {**recs[3].data, "people_trained": 37}, actor_id=None)
        emails = {lang: office(web, s, call, lang) for lang in ("en", "fr")}
        s.commit()
        slug, awarded_on = call.slug, RELEASED.date()
    reports[3] = (1, "Chala", "2029-01-15", 37, 30, 1, 1)

    # expected, in plain Python: each participant's latest report, summed per group
    def latest(after: dt.date | None) -> dict[tuple[int, str], tuple[Any, ...]]:
        out: dict[tuple[int, str], tuple[Any, ...]] = {}
        for r in reports:
            on = dt.date.fromisoformat(r[2])
            if after is not None and on < after:
                continue
            if (r[0], r[1]) not in out or on >= dt.date.fromisoformat(out[(r[0], r[1])][2]):
                out[(r[0], r[1])] = r
        return out

    want: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (i, _), r in latest(None).items():
        for g in (INCOME[countries[i]], "all"):
            want[g]["people_trained"] += r[3]
            want[g]["people_trained_women"] += r[4]
            want[g]["demo_sites"] += r[5]
    for years in (1, 3):
        since = awarded_on + dt.timedelta(days=round(365.25 * years))
        for (i, _), r in latest(since).items():
            for g in (INCOME[countries[i]], "all"):
                want[g][f"sites_running_{years}y"] += r[6]
                want[g][f"reporting_{years}y"] += 1
    assert want["low"]["people_trained"] == 97 and want["low"]["sites_running_3y"] == 2

    oq.REPORTS.clear()
    client, _ = session_client(web, emails["en"])
    data = client.get(f"/manage/calls/{slug}/report.json").json()
    got = {f["group"]: f for f in data["after_award"]["follow_up"]["income_group"]}
    for g in ("low", "high", "all"):
        for key, value in want[g].items():
            assert got[g][key] == value, (g, key)
    api = client.get(f"/api/v1/calls/{slug}/report", headers=api_bearer(
        web, emails["en"], ("manage",))).json()  # fmt: skip
    assert api["after_award"]["follow_up"] == data["after_award"]["follow_up"]
    rows = list(csv.reader(io.StringIO(client.get(f"/manage/calls/{slug}/report.csv").text)))
    cells = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    for g in ("low", "high", "all"):
        for key in ("people_trained", "people_trained_women", "demo_sites",
                    "sites_running_1y", "sites_running_3y"):  # fmt: skip
            assert float(cells[("income_group", g, f"follow_up:{key}")]) == want[g][key]

    def expected_cells(g: str) -> list[str]:
        w = want[g]
        return [num(w["people_trained"]), num(w["people_trained_women"]), num(w["demo_sites"]),
                f"{num(w['sites_running_1y'])} ({num(w['reporting_1y'])})",
                f"{num(w['sites_running_3y'])} ({num(w['reporting_3y'])})"]  # fmt: skip

    for lang in ("en", "fr"):
        client, _ = session_client(web, emails[lang])
        page = client.get(f"/manage/calls/{slug}/report")
        assert page.status_code == 200
        # the page's course table by income group: the first with a "People trained" column
        table = next(t for t in tables(page.text) if len(t[0]) == 10 and t[1][0] in (
            LABELS[lang]["low"], LABELS[lang]["high"]))  # fmt: skip
        by_group = {r[0]: r for r in table[1:]}
        for g in ("low", "high"):
            assert by_group[LABELS[lang][g]][3:8] == expected_cells(g), (lang, g)
        # the PDF prints the same rows
        text = pdf_text(client.get(f"/manage/calls/{slug}/report.pdf").content)
        for g in ("low", "high"):
            awards = sum(1 for c in countries if INCOME[c] == g)
            row = [LABELS[lang][g], str(awards), _reporting(reports, countries, g)]
            assert " ".join(row + expected_cells(g)) in text, (lang, g, text[-3000:])


def _reporting(reports: list[tuple[Any, ...]], countries: list[str], g: str) -> str:
    """Awards of group ``g`` with a follow-up report."""
    return str(len({r[0] for r in reports if INCOME[countries[r[0]]] == g}))


# --------------------------------------------------------------------------- many cycles

#: Nine cycles of one telescope, oldest first: each application is (PI country, awarded,
#: results). Ghana is reclassified from lower-middle to upper-middle income after the
#: last cycle (as the World Bank does each July).
CYCLES: list[list[tuple[str, bool, int]]] = [
    [("DEU", True, 2), ("DEU", True, 0), ("ETH", True, 1), ("GHA", True, 0), ("KEN", False, 0)]
    + [("BRA", True, k % 2) for k in range(3)],
    [("DEU", True, 1), ("ETH", False, 0), ("GHA", True, 3), ("KEN", True, 0), ("BRA", True, 0)],
    [("DEU", True, 0), ("DEU", True, 0), ("ETH", True, 0), ("NPL", True, 2), ("GHA", False, 0)],
    [("DEU", True, 1), ("KEN", True, 1), ("KEN", True, 0), ("ETH", True, 1), ("BRA", False, 0)],
    [("GHA", True, 1), ("GHA", True, 1), ("DEU", True, 0), ("ETH", False, 0), ("BRA", True, 2)],
    [("DEU", True, 3), ("ETH", True, 0), ("ETH", True, 2), ("KEN", True, 0), ("GHA", True, 0)],
    [("DEU", True, 0), ("BRA", True, 1), ("NPL", True, 0), ("ETH", True, 1), ("KEN", False, 0)],
    [("DEU", True, 1), ("DEU", False, 0), ("GHA", True, 2), ("ETH", True, 0), ("BRA", True, 0)],
    [("DEU", True, 0), ("ETH", True, 1), ("KEN", True, 0), ("GHA", True, 1), ("BRA", True, 0)]
    + [("DEU", True, 1) for _ in range(5)],
]
RECLASSIFIED = {"GHA": "upper-middle"}


def _telescope_cycles(s: Session) -> list[Call]:
    """One facility, the cycles of ``CYCLES``: each call decided and published, a year
    apart; the awarded proposals' results as given."""
    built = telescope_cycles(
        s, [[(F.user(s, country=iso3), awarded) for iso3, awarded, _r in apps] for apps in CYCLES]
    )
    n = next(F._seq)
    for k, ((_call, props), apps) in enumerate(zip(built, CYCLES, strict=True)):
        for j, (p, (_iso3, _awarded, results)) in enumerate(zip(props, apps, strict=True)):
            for r in range(results):
                rs.add_output(s, p, {"title": f"Paper {k}-{j}-{r}", "year": 2028,
                                     "doi": f"10.1234/t{n}.{k}.{j}.{r}"}, actor_id=None)  # fmt: skip
    s.flush()
    return [call for call, _props in built]


def _expected_trend() -> dict[tuple[str, str], dict[str, int]]:
    """(cycle, income group) -> applied, awarded, produced results, under the
    classification in use (Ghana's new group in every cycle)."""
    income = {**INCOME, **RECLASSIFIED}
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"applied": 0, "awarded": 0, "produced_results": 0}
    )
    for k, apps in enumerate(CYCLES):
        for iso3, awarded, results in apps:
            cell = out[(f"T{k} ({2019 + k})", income[iso3])]
            cell["applied"] += 1
            cell["awarded"] += int(awarded)
            cell["produced_results"] += int(awarded and results > 0)
    return out


def test_nine_cycles_of_one_facility_after_a_reclassification(web: Web) -> None:
    """Nine cycles of a telescope: each cycle's applications, awards and awards with
    results per income group are the same in the report's JSON, its page, CSV and PDF
    (English and French) and on the public page; a reclassified country counts in its
    new group in every cycle; the trend's share of the world's researchers is the one
    the report's context section shows."""
    with web.factory() as s:
        calls = _telescope_cycles(s)
        s.execute(update(Country).where(Country.iso3 == "GHA").values(income_group="upper-middle"))
        emails = {lang: office(web, s, calls[-1], lang) for lang in ("en", "fr")}
        s.commit()
        slug = calls[-1].slug
    want = _expected_trend()
    oq.REPORTS.clear()
    client, _ = session_client(web, emails["en"])
    data = client.get(f"/manage/calls/{slug}/report.json").json()
    trend = data["after_award"]["trend"]
    got = {
        (r["cycle"], r["group"]): {k: r[k] for k in ("applied", "awarded", "produced_results")}
        for r in trend
    }
    assert got == want
    assert len({r["cycle"] for r in trend}) == len(CYCLES)
    # the share of the world's researchers: one figure per group in the whole report
    context = {
        g["group"]: g["share"]
        for g in data["context"]["by"]["income_group"]["researchers"]["groups"]
    }
    for r in trend:
        if r["group"] in context:
            assert r["researcher_share"] == pytest.approx(context[r["group"]]), r
    # the CSV carries every cycle's figures
    rows = list(csv.reader(io.StringIO(client.get(f"/manage/calls/{slug}/report.csv").text)))
    cells = {(r[0], r[1], r[2]): r for r in rows[1:]}
    for (c, g), w in want.items():
        row = cells[("income_group", g, f"trend:{c}:awarded")]
        assert (int(row[3]), int(row[4])) == (w["awarded"], w["applied"]), (c, g)
        row = cells[("income_group", g, f"trend:{c}:produced_results")]
        assert (int(row[3]), int(row[4])) == (w["produced_results"], w["awarded"]), (c, g)
    labels = {"en": {"upper-middle": "Upper-middle income", "low": "Low income"},
              "fr": {"upper-middle": "Revenu intermédiaire supérieur", "low": "Revenu faible"}}  # fmt: skip
    for lang in ("en", "fr"):
        client, _ = session_client(web, emails[lang])
        page = client.get(f"/manage/calls/{slug}/report")
        table = next(t for t in tables(page.text) if len(t) > 1 and t[1][:1] == ["T0 (2019)"])
        shown = {(r[0], r[1]): r for r in table[1:]}
        text = pdf_text(client.get(f"/manage/calls/{slug}/report.pdf").content)
        # the rule the cycles follow is stated where the cycles are shown, with its vintage
        rule = {"en": "(fiscal year 2027): a country the World Bank reclassifies moves in every",
                "fr": "(exercice 2027) : un pays que la Banque mondiale reclasse change"}[lang]  # fmt: skip
        assert rule in " ".join(page.text.split()) and rule in text, lang
        for (c, g), w in want.items():
            if g not in labels[lang]:
                continue
            row = shown[(c, labels[lang][g])]
            assert row[2] == str(w["applied"]) and row[3].split(" ")[0] == str(w["awarded"])
            assert row[4].split(" ")[0] == str(w["produced_results"]), (lang, c, g, row)
            # the PDF's cycle table: cycle, group, applied, awarded, produced results
            pattern = rf"{re.escape(c)} {labels[lang][g]} {w['applied']} {w['awarded']}\b"
            assert re.search(pattern, text), (lang, c, g, text[-2000:])
    # the public page: each cycle's awards, and its awards with results where shown
    from opencall.outcomes.after_award_views import MIN_CELL

    oq.PUBLIC_AFTER_AWARD.clear()
    public = tables(web.client("en").get(f"/calls/{slug}/after-award").text)[-1]
    by_cycle = {r[0]: r for r in public[1:]}
    assert len(by_cycle) == len(CYCLES)
    for k in range(len(CYCLES)):
        c = f"T{k} ({2019 + k})"
        awarded = sum(w["awarded"] for (cc, _g), w in want.items() if cc == c)
        produced = sum(w["produced_results"] for (cc, _g), w in want.items() if cc == c)
        low = sum(
            w["awarded"] for (cc, g), w in want.items() if cc == c and g in ("low", "lower-middle")
        )
        row = by_cycle[c]
        assert row[1] == (str(awarded) if awarded >= MIN_CELL else f"<{MIN_CELL}"), row
        assert row[2] in ("x", f"<{MIN_CELL}", str(produced)), row
        assert row[3] == (str(low) if low >= MIN_CELL or not low else f"<{MIN_CELL}"), row


def test_an_unclassified_country_s_share_of_awards_is_shown_beside_the_world(
    db: Session,
) -> None:
    """A PI in a country without a World Bank income group (Kosovo) is "Not classified":
    the context table lists that group's share of the awards too (no share of the world
    beside it), so the shares of awards it shows add up to the whole call."""
    from opencall.outcomes.report import report_document

    call, _props = awarded_custom_call(db, ["DEU", "DEU", "XKX"], unit="h", amount=10)
    data = oq.report(db, call)
    table = report_document(data, lambda s, **k: s % k if k else s)["context"][0]
    rows = {r[0]: r for r in table["rows"]}
    assert "Not classified" in rows, rows
    shares = [int(r[1].split(" %")[0]) for r in rows.values() if r[1] != "–"]
    assert sum(shares) in (99, 100, 101), rows  # 67 % + 33 %
    assert rows["Not classified"][2:] == ["–", "–", "–", "–"]


def test_a_pi_who_moves_after_the_award_stays_counted_where_the_award_was_made(
    db: Session,
) -> None:
    """A PI in Ethiopia when the proposal was written moves to a German institution
    before reporting the results: the award and its results stay in low income, Africa
    and the least developed countries (the country recorded on the proposal), in the
    report and in the rows the public page counts."""
    from opencall.people.models import User

    call, props = awarded_custom_call(db, ["ETH", "DEU"], unit="h", amount=10)
    pi = db.get(User, props[0].pi_user_id)
    assert pi is not None
    people_services.update_account(
        db, pi, {"name": pi.name, "country_iso3": "DEU", "institution": "Universität Bonn"}
    )
    rs.add_output(db, props[0], {"title": "Later", "year": 2028, "doi": "10.1234/moved"},
                  actor_id=None)  # fmt: skip
    db.flush()
    aa = oq.report(db, call)["after_award"]
    results = {r["group"]: r["publications"] for r in aa["results"]["income_group"]}
    assert results == {"low": 1, "high": 0, "all": 1}
    regions = {r["group"]: r["awarded"] for r in aa["funnels"]["un_region"]}
    assert regions == {"Africa": 1, "Europe": 1, "all": 2}
    # the public page's figures read the same rows (after_award_data.rows_for_call)
    from opencall.outcomes import after_award_data

    rows = after_award_data.rows_for_call(db, call, oq.applicant_records(db, call), F.NOW.date())
    assert sorted(r.groups["income_group"] for r in rows) == ["high", "low"]
