"""Pure rules of post-award records, the schemas, the importers and the
after-award statistics (no database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from opencall.errors import DomainError
from opencall.outcomes import after_award as aa
from opencall.outcomes.domain import wilson_interval
from opencall.results import domain as d
from opencall.results import importers
from opencall.results.schemas import validate_output, validate_record

FIX = Path(__file__).parent / "fixtures"
TODAY = dt.date(2028, 6, 1)


def loan(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sample": "CE-5 regolith",
        "mass_mg": 200,
        "shipped_on": "2027-05-01",
        "received_on": "2027-05-10",
        "due_on": "2028-05-01",
    }
    return validate_record("loan", {**base, **kw})


def test_loan_states_and_overdue() -> None:
    out = loan()
    assert d.is_used("loan", out) and not d.is_complete("loan", out)
    assert d.is_overdue("loan", out, TODAY)
    assert not d.is_overdue("loan", out, dt.date(2028, 5, 1))  # due today: not yet
    assert d.days_overdue(out, TODAY) == 31
    back = loan(returned_on="2028-04-20")
    assert d.is_complete("loan", back) and not d.is_overdue("loan", back, TODAY)
    gone = loan(consumed=True)
    assert d.is_complete("loan", gone) and not d.is_overdue("loan", gone, TODAY)
    assert not d.is_used("loan", loan(received_on=None))


def test_reminder_every_seven_days() -> None:
    out = loan()
    assert d.needs_reminder("loan", out, TODAY, None)
    assert not d.needs_reminder("loan", out, TODAY, TODAY - dt.timedelta(days=6))
    assert d.needs_reminder("loan", out, TODAY, TODAY - dt.timedelta(days=7))
    assert not d.needs_reminder("loan", loan(returned_on="2028-05-02"), TODAY, None)


@pytest.mark.parametrize(
    ("kind", "data", "used", "complete"),
    [
        ("session", {"observed_on": "2027-06-01", "observed_hours": 3}, True, False),
        (
            "session",
            {
                "observed_on": "2027-06-01",
                "observed_hours": 0,
                "lost_hours": 4,
                "lost_reason": "weather",
            },
            False,
            False,
        ),
        ("berth", {"arrived_on": "2027-06-01"}, True, False),
        (
            "berth",
            {"arrived_on": "2027-06-01", "sailed_on": "2027-07-01", "dives_made": 2},
            True,
            True,
        ),
        ("course", {"participant": "A", "attended": True}, True, False),
        (
            "course",
            {"participant": "A", "attended": True, "completed": True, "certificate": "C-1"},
            True,
            True,
        ),
        ("package", {"site": "Kisumu", "planted_on": "2027-06-01"}, True, False),
        (
            "package",
            {"site": "Kisumu", "planted_on": "2027-06-01", "yield_t_ha": 6.1, "baseline_t_ha": 4.2},
            True,
            True,
        ),
        (
            "shipment",
            {"shipped_on": "2027-06-01", "delivered_on": "2027-06-05", "customs_status": "held"},
            True,
            False,
        ),
        ("other", {"description": "beam time", "used_amount": 2, "completed": True}, True, True),
    ],
)
def test_used_and_complete_per_kind(
    kind: str, data: dict[str, object], used: bool, complete: bool
) -> None:
    clean = validate_record(kind, data)
    assert d.is_used(kind, clean) is used
    assert d.is_complete(kind, clean) is complete


@pytest.mark.parametrize(
    ("kind", "data", "says"),
    [
        ("loan", {"sample": "x", "mass_mg": -1}, "mass_mg"),
        ("loan", {"sample": "x", "mass_mg": float("nan")}, "mass_mg"),
        (
            "loan",
            {"sample": "x", "mass_mg": 1, "shipped_on": "2027-05-02", "received_on": "2027-05-01"},
            "received_on is before shipped_on",
        ),
        ("loan", {"sample": "x", "mass_mg": 1, "received_on": "2027-05-01"}, "needs shipped_on"),
        (
            "loan",
            {
                "sample": "x",
                "mass_mg": 1,
                "shipped_on": "2027-05-01",
                "returned_on": "2027-06-01",
                "consumed": True,
            },
            "consumed",
        ),
        ("loan", {"sample": "x", "mass_mg": 1, "colour": "grey"}, "colour"),
        (
            "session",
            {"observed_on": "2027-06-01", "observed_hours": 2, "lost_hours": 1},
            "lost_reason",
        ),
        (
            "session",
            {
                "observed_on": "2027-06-01",
                "observed_hours": 2,
                "lost_hours": 1,
                "lost_reason": "aliens",
            },
            "lost_reason",
        ),
        ("course", {"participant": "A", "completed": True}, "completed needs attended"),
        ("package", {"site": "K", "yield_t_ha": 5}, "planted_on"),
        ("berth", {"sailed_on": "2027-06-01"}, "needs arrived_on"),
        ("shipment", {"customs_status": "lost"}, "customs_status"),
        ("teleport", {}, "Unknown record kind"),
        ("loan", {"sample": "x\x00", "mass_mg": 1}, "control characters (U+0000)"),
        ("shipment", {"schedule_entry_id": 2**40}, "schedule_entry_id"),
        ("loan", {"sample": "x", "mass_mg": 1e999}, "mass_mg"),
    ],
)
def test_bad_records_are_refused_with_the_field(
    kind: str, data: dict[str, object], says: str
) -> None:
    with pytest.raises(DomainError) as e:
        validate_record(kind, data)
    assert says in e.value.message


def test_kinds_follow_the_pools() -> None:
    assert d.kinds_for(["sample_mass"]) == ["loan", "shipment", "other"]
    assert d.kinds_for(["berths", "dives"]) == ["berth", "other"]
    assert d.kinds_for(["lst_hours"]) == ["session", "other"]
    assert d.kinds_for(["seats", "packages"]) == [
        "course", "followup", "package", "shipment", "other"
    ]  # fmt: skip


def test_acknowledgement_check() -> None:
    names = ["FAST 500 m radio telescope", "FAST27", "FAST27-012"]
    assert d.acknowledges("Observations under FAST27-012 (PI Otieno).", names) == [
        "FAST27",
        "FAST27-012",
    ]
    assert d.acknowledges("We used the fast27 programme.", names) == ["FAST27"]
    assert d.acknowledges("A FAST27012 typo, a FASTER telescope.", names) == []


def test_stages_of_a_proposal() -> None:
    recs = [
        ("loan", loan(returned_on="2028-04-01")),
        (
            "shipment",
            validate_record("shipment", {"shipped_on": "2027-05-01", "delivered_on": "2027-05-10"}),
        ),
    ]
    assert d.proposal_stages(recs, 0) == {
        "used": True,
        "completed": True,
        "produced_results": False,
    }
    recs.append(("loan", loan()))
    assert d.proposal_stages(recs, 2) == {
        "used": True,
        "completed": False,
        "produced_results": True,
    }
    assert d.proposal_stages([], 0)["used"] is False
    # sessions: the final one completes the programme; loans: every loan must be back
    first = validate_record("session", {"observed_on": "2027-06-01", "observed_hours": 2})
    last = validate_record(
        "session", {"observed_on": "2027-07-01", "observed_hours": 2, "completed": True}
    )
    assert d.proposal_stages([("session", first), ("session", last)], 0)["completed"] is True
    assert d.proposal_stages([("session", first)], 0)["completed"] is False
    assert (
        d.days_to_first_result(dt.date(2027, 1, 1), [dt.date(2027, 3, 2), dt.date(2027, 2, 1)])
        == 31
    )
    assert d.days_to_first_result(dt.date(2027, 1, 1), []) is None


# --------------------------------------------------------------------------- importers


def test_bibtex_import() -> None:
    out = importers.parse("bibtex", (FIX / "refs.bib").read_text())
    assert [o["kind"] for o in out] == ["publication", "dataset"]
    first = validate_output(out[0])
    assert first.doi == "10.5555/ce5.ages"  # the resolver prefix is dropped
    assert first.title == "Pb-Pb ages of Chang'e-5 regolith grains"
    assert first.published_on == dt.date(2028, 3, 1)
    assert first.countries == ["KEN", "UGA"]
    assert first.authors == ["Otieno, Amina", "Mukasa, Joseph"]


def test_ris_import() -> None:
    out = [validate_output(o) for o in importers.parse("ris", (FIX / "refs.ris").read_text())]
    assert [o.kind for o in out] == ["publication", "dataset"]
    assert out[0].published_on == dt.date(2029, 2, 11) and out[0].countries == ["KEN", "UGA"]
    assert "Lunar samples" in out[0].abstract


def test_csl_json_import() -> None:
    (o,) = [
        validate_output(x) for x in importers.parse("csl-json", (FIX / "refs.json").read_text())
    ]
    assert o.doi == "10.5555/ce5.gas" and o.year == 2029 and o.published_on == dt.date(2029, 6, 3)
    assert o.authors == ["Amina Otieno"]


@pytest.mark.parametrize(
    ("fmt", "text", "says"),
    [
        ("bibtex", (FIX / "broken.bib").read_text(), "no year"),
        ("bibtex", "this is not bibtex", "No entries"),
        ("ris", "", "No entries"),
        ("csl-json", "[{", "could not be read"),
        ("csl-json", '[{"title": "T"}]', "no year"),
        ("csl-json", '[{"issued": {"date-parts": [[2020]]}}]', "no title"),
        ("csl-json", "[1]", "not an object"),
        ("xml", "<x/>", "Unknown format"),
    ],
)
def test_unreadable_files_are_refused(fmt: str, text: str, says: str) -> None:
    with pytest.raises(DomainError) as e:
        importers.parse(fmt, text)
    assert says in e.value.message


def test_detect_format() -> None:
    assert importers.detect("refs.BIB", "") == "bibtex"
    assert importers.detect("x", "TY  - JOUR\n") == "ris"
    assert importers.detect("x.json", "") == "csl-json"
    with pytest.raises(DomainError):
        importers.detect("notes.txt", "hello")


def test_output_validation() -> None:
    with pytest.raises(DomainError, match="not a DOI"):
        validate_output({"title": "T", "year": 2028, "doi": "doi.org/x"})
    with pytest.raises(DomainError, match="alpha-3"):
        validate_output({"title": "T", "year": 2028, "countries": ["Kenya"]})
    with pytest.raises(DomainError, match=r"control characters \(U\+0000\)"):
        validate_output({"title": "T\x00", "year": 2028})
    with pytest.raises(DomainError, match="published_on is not in year"):
        validate_output({"title": "T", "year": 2028, "published_on": "2027-01-01"})


# --------------------------------------------------------------------------- statistics


def row(
    i: int,
    g: str,
    used: bool,
    completed: bool,
    produced: bool,
    days: int | None = None,
    follow: int = 400,
) -> aa.AfterAwardRow:
    return aa.AfterAwardRow(str(i), {"income_group": g}, used, completed, produced, days, follow)


def test_after_award_funnel_counts_and_intervals() -> None:
    rows = [row(i, "low", i < 6, i < 3, i < 2) for i in range(10)] + [
        row(10 + i, "high", True, True, i < 8) for i in range(10)
    ]
    out = {
        (r.group, r.stage): r for r in aa.after_award_funnel(rows, "income_group", ["low", "high"])
    }
    low = out[("low", "used")]
    assert (low.awarded, low.count, low.rate) == (10, 6, 0.6)
    assert low.rate_low < 0.6 < low.rate_high
    assert out[("low", "completed")].count == 3 and out[("low", "completed")].stage_rate == 0.5
    assert out[("high", "produced_results")].count == 8
    assert out[("all", "used")].count == 16 and out[("all", "used")].awarded == 20
    # completed without use does not count
    assert aa.reached(row(0, "low", False, True, False), "completed") is False


def test_after_award_intervals_are_the_funnels_wilson_intervals() -> None:
    rows = [row(i, "low", i < 6, i < 3, i < 2, 200 if i < 2 else None) for i in range(10)]
    funnel = aa.after_award_funnel(rows, "income_group")
    assert [(r.rate_low, r.rate_high) for r in funnel] == [
        wilson_interval(r.count, r.awarded) for r in funnel
    ]
    (t, *_) = aa.time_to_first_result(rows, "income_group")
    assert (t.within_a_year_low, t.within_a_year_high) == wilson_interval(2, 10)
    trend = aa.cycle_trend([aa.CycleInput("A27", {"low": 12}, rows)], "income_group", {})
    assert (trend[0].award_rate_low, trend[0].award_rate_high) == wilson_interval(10, 12)
    assert (trend[0].result_rate_low, trend[0].result_rate_high) == wilson_interval(2, 10)


def test_kaplan_meier_median_with_censoring() -> None:
    assert aa.km_median(np.array([10.0, 20, 30, 40]), np.array([1, 1, 1, 1])) == 20
    # two awards followed 5 days only leave before any result; of the two left,
    # one has a result at 10 days: S(10) = 1/2, so the median is 10 (not 20)
    assert aa.km_median(np.array([5.0, 5, 10, 20]), np.array([0, 0, 1, 1])) == 10
    assert aa.km_median(np.array([100.0, 200]), np.array([0, 0])) is None


def test_time_to_first_result_by_group() -> None:
    rows = [row(i, "low", True, True, True, 300 + 10 * i) for i in range(8)] + [
        row(10 + i, "high", True, True, True, 100 + 10 * i) for i in range(8)
    ]
    out = {t.group: t for t in aa.time_to_first_result(rows, "income_group", seed=1)}
    assert out["high"].median_days is not None and out["low"].median_days is not None
    assert out["high"].median_days < out["low"].median_days
    assert out["low"].median_low is not None and out["low"].median_low <= out["low"].median_days
    assert out["high"].within_a_year == 8 and out["low"].within_a_year == 7


def test_cycle_trend_rates_and_context() -> None:
    c1 = aa.CycleInput(
        "A26",
        {"low": 10, "high": 10},
        [row(1, "low", True, True, True), row(2, "high", True, True, False)],
    )
    c2 = aa.CycleInput("A27", {"low": 10, "high": 10}, [row(3, "low", True, True, True)] * 4)
    out = aa.cycle_trend([c1, c2], "income_group", {"low": 0.01, "high": 0.7}, ["low", "high"])
    by = {(r.cycle, r.group): r for r in out}
    assert by[("A26", "low")].award_rate == 0.1 and by[("A26", "low")].result_rate == 1.0
    assert by[("A27", "low")].awarded == 4 and by[("A27", "high")].awarded == 0
    assert by[("A27", "low")].awarded_share == 1.0 and by[("A27", "low")].researcher_share == 0.01


def test_an_operators_seats_are_followed_like_a_course_whichever_key_it_typed() -> None:
    """A custom resource counted in "seat" or its plural "seats" (the same unit, as
    ``facilities.domain.UNIT_ALIASES`` says) is followed like a preset course."""
    assert d.pool_kind("custom", "seat") == d.pool_kind("custom", "seats") == "seats"
    assert d.pool_kind("custom", "h") == "custom"


@pytest.mark.parametrize(
    ("unit", "used"),
    [("g", {"g": 40.0}), ("kg", {"kg": 0.04}), ("mg", {"mg": 40_000.0}), ("", {"mg": 40_000.0}),
     ("h", {"mg": 40_000.0})],
)  # fmt: skip
def test_a_loans_mass_is_counted_in_its_awards_unit_of_mass(
    unit: str, used: dict[str, float]
) -> None:
    """An archive lending 40 g of a resource counted in grams reads 40 g awarded and 40 g
    used (the loan says 40,000 mg): not 40 g awarded, 0 g used and 40,000 mg besides."""
    loan = {"sample": "Dome C bag 1051", "mass_mg": 40_000.0, "shipped_on": "2028-09-01",
            "received_on": "2028-09-10", "consumed": True}  # fmt: skip
    assert d.used_amounts("loan", loan, unit) == pytest.approx(used)
    figures = d.use_figures([("loan", loan)], {"g": 40.0}, dt.date(2028, 10, 1), "g")
    assert (figures["awarded:g"], figures["used:g"]) == (40.0, 40.0)
    assert "used:mg" not in figures and figures["mass_consumed_mg"] == 40_000.0


#: DOIs as copied from a sentence, and as stored
DOI_COPIES = [
    ("10.1234/abc.", "10.1234/abc"),  # the end of a sentence
    ("10.1234/abc),", "10.1234/abc"),  # "(see 10.1234/abc), and ..."
    ("https://doi.org/10.1234/ABC;", "10.1234/abc"),
    ("10.1234/abc]. ", "10.1234/abc"),
    ("10.1234/abc'\"", "10.1234/abc"),
    ("10.1016/0002-9149(85)90001-x", "10.1016/0002-9149(85)90001-x"),  # kept whole
    ("10.1234/table(2)", "10.1234/table(2)"),  # a closing bracket that is the DOI's
    ("10.1234/table(2)).", "10.1234/table(2)"),
]


@pytest.mark.parametrize(("typed", "stored"), DOI_COPIES)
def test_a_doi_copied_with_the_sentences_punctuation(typed: str, stored: str) -> None:
    """Trailing sentence punctuation is not part of a DOI (as Crossref's matching and
    DOI tools take it): it is stripped, an unbalanced closing bracket with it."""
    assert validate_output({"title": "T", "year": 2028, "doi": typed}).doi == stored


def test_a_doi_of_nothing_but_punctuation_is_still_refused() -> None:
    with pytest.raises(DomainError, match="not a DOI"):
        validate_output({"title": "T", "year": 2028, "doi": "10.1234/.)"})


@pytest.mark.parametrize(("typed", "stored"), [*DOI_COPIES, ("doi:10.1234/abc!", "10.1234/abc")])
def test_a_reviewers_publication_doi_is_cleaned_as_a_results(typed: str, stored: str) -> None:
    """A DOI on a reviewer's publication list (typed, or read from BibTeX, ORCID or
    CSL-JSON) is cleaned by the one rule a result's DOI is: ``10.1234/abc),`` is
    ``10.1234/abc`` in both places."""
    from opencall.people.bibliography import clean_doi

    assert clean_doi(typed) == stored


def test_a_reviewers_publication_doi_of_nothing_but_punctuation_is_none() -> None:
    """As a result's (refused above), a publication's DOI of nothing but punctuation after
    its prefix is no DOI: one syntax for both."""
    from opencall.people.bibliography import clean_doi

    assert clean_doi("10.1234/.)") == ""
    assert clean_doi("see 10.1234/abc.") == "10.1234/abc"
