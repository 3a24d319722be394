"""A course's participants written in their own script (outcomes21): a juncao course in
Fuzhou trains people from China and Ethiopia, and their PI writes their names as they
write them ("张伟", "王芳", "አበበ በቂላ"). Each is a participant of their own: their
follow-up reports are summed, each wave is answered only by their own report, and each
is chased for their own wave. The figures are checked against a count made here from
the raw records (each participant's latest report, names compared exactly)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from opencall.outcomes import queries as oq
from opencall.results import domain as d
from opencall.results import queries as rq
from opencall.results import services as rs
from tests.results.course_world import course_world

COMPLETED = "2027-07-01"
#: participant: (follow-up day, people trained, women among them, demo sites, area in ha)
REPORTS = [
    ("张伟", "2028-01-10", 40, 18, 2, 6.5),
    ("王芳", "2028-01-12", 25, 20, 1, 2.0),
    ("王芳", "2028-07-15", 31, 22, 2, 3.5),  # her later report gives her figures to date
    ("አበበ በቂላ", "2028-01-20", 12, 5, 1, 1.25),
    ("José Pérez", "2028-01-22", 7, 3, 0, 0.0),
    ("JOSE PEREZ", "2028-07-22", 9, 4, 1, 0.5),  # the same man, typed again in capitals
]
#: course records: the three whose names are not in Latin letters, a Latin one, and
#: one who never answered (Amharic too)
PARTICIPANTS = ["张伟", "王芳", "አበበ በቂላ", "José Pérez", "ታደሰ ወልዴ"]


def _independent(reports: list[tuple[str, str, int, int, int, float]]) -> dict[str, float]:
    """Each participant's latest report (a name is the same participant when equal in
    lower case with its accents taken off, as the form promises), summed."""
    import unicodedata

    def key(name: str) -> str:
        s = unicodedata.normalize("NFKD", name)
        return "".join(c for c in s if not unicodedata.combining(c)).casefold()

    latest: dict[str, tuple[str, int, int, int, float]] = {}
    for who, on, *figs in reports:
        if key(who) not in latest or on >= latest[key(who)][0]:
            latest[key(who)] = (on, *figs)  # type: ignore[assignment]
    return {
        "participants": len(latest),
        "people_trained": sum(v[1] for v in latest.values()),
        "people_trained_women": sum(v[2] for v in latest.values()),
        "demo_sites": sum(v[3] for v in latest.values()),
        "area_ha": sum(v[4] for v in latest.values()),
    }


def test_participants_named_in_any_script_are_counted_each(db: Session) -> None:
    call, props = course_world(db, ["ETH"])
    award = props["ETH"]
    for who in PARTICIPANTS:
        rs.add_record(db, award, "course", {"participant": who, "attended": True,
                                            "completed": True, "completed_on": COMPLETED,
                                            "gender": "female" if who == "王芳" else "male"},
                      actor_id=None)  # fmt: skip
    for who, on, people, women, sites, area in REPORTS:
        rs.add_record(db, award, "followup", {
            "participant": who, "followed_up_on": on, "people_trained": people,
            "people_trained_women": women, "demo_sites": sites, "demo_sites_running": sites,
            "area_ha": area,
        }, actor_id=None)  # fmt: skip
    want = _independent(REPORTS)
    assert want["participants"] == 4  # 张伟, 王芳, Abebe and José

    fu = {r["group"]: r for r in oq.report(db, call)["after_award"]["follow_up"]["ldc"]}
    got = {k: fu["all"][k] for k in want}
    assert got == want
    assert fu["LDC"]["people_trained"] == want["people_trained"]  # Ethiopia is an LDC

    # the six-month wave (due 2028-01-01): answered by 张伟, 王芳, Abebe and José, not
    # by ታደሰ, whose own report never came (another's does not answer it)
    recs = [(r.kind, r.data) for r in sorted(rq.records_of(db, award.id), key=lambda r: r.id)]
    assert d.wave_response(recs, dt.date(2028, 3, 1))[6] == (5, 4)
    chased = rq.follow_ups_to_chase(db, dt.date(2028, 1, 20))
    assert [
        (p.id, [(rec.data["participant"], months) for rec, months, _ in due]) for p, due in chased
    ] == [(award.id, [("ታደሰ ወልዴ", 6)])]


def test_a_name_in_a_script_without_spaces_is_one_name_however_spaced() -> None:
    """Chinese and Japanese names are written without spaces; a PI who types "王 芳"
    in one report and "王芳" in the next names one trainee (her later report counts,
    and answers her wave). Latin names keep their spaces ("Wang Fang" is not
    "Wangfang")."""
    recs = [
        ("course", {"participant": "王芳", "attended": True, "completed": True,
                    "completed_on": COMPLETED}),
        ("followup", {"participant": "王 芳", "followed_up_on": "2028-01-05",
                      "people_trained": 10}),
        ("followup", {"participant": "王芳", "followed_up_on": "2028-07-05",
                      "people_trained": 15}),
        ("followup", {"participant": "Wang Fang", "followed_up_on": "2028-07-05",
                      "people_trained": 1}),
        ("followup", {"participant": "Wangfang", "followed_up_on": "2028-07-05",
                      "people_trained": 2}),
    ]  # fmt: skip
    fu = d.follow_up_figures(recs)
    assert (fu["participants"], fu["people_trained"]) == (3, 18)
    assert d.wave_response(recs, dt.date(2028, 8, 1))[6] == (1, 1)
