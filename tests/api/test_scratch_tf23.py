from tests.api.test_hpc_centre_journey import *  # noqa
from tests.api import test_hpc_centre_journey as J


def test_scratch(web: Web, one_loop: None, monkeypatch) -> None:
    # run the journey up to the usage part by copying its opening
    _admin, office, fac = open_facility(
        web,
        "nhpc",
        "National HPC Centre",
        "ZAF",
        {"name": "National supercomputer", "slug": "nsc", "kind": "custom"},
    )
    pool = {}
    for name, unit, labels, amount, whole in J.RESOURCES:
        pool[unit] = office.post(
            f"/api/v1/facilities/{fac['id']}/resources",
            {
                "name": name,
                "unit": unit,
                "unit_labels": labels,
                "amount": amount,
                "whole_units": whole,
                "period_start": J.PERIOD[0],
                "period_end": J.PERIOD[1],
                "record_kinds": ["other"],
            },
        )
    core, gpu, tb = (pool[u]["id"] for u in ("core-hour", "gpu-hour", "tb"))
    slug = "mainx"
    call = {
        "provider": "nhpc",
        "facility": "nsc",
        "slug": slug,
        "code": "MX",
        "cycle": "2027H1",
        "title": "Main",
    }
    reviewers = open_call(
        web,
        office,
        call,
        {"award_mode": "partial", "min_fraction": 0.3},
        [("hpc1@panel.example", "Panel One", "JPN"), ("hpc2@panel.example", "Panel Two", "FRA")],
        [
            {"pool_id": core, "amount": 10_000_001},
            {"pool_id": gpu, "amount": 1000},
            {"pool_id": tb, "amount": 100},
        ],
    )
    teams = []
    for i, (iso3, ch, gh, t) in enumerate(
        [
            ("MWI", 7_777_777, 700, 70.0),
            ("KEN", 5_555_555, 500, 55.5),
            ("IND", 3_333_333, 333, 33.3),
        ]
    ):
        ac, pid = applicant(web, f"main{i}@uni.example", iso3, slug, f"Sim {i}")
        J.ask(ac, pid, core, ch)
        J.ask(ac, pid, gpu, gh)
        J.ask(ac, pid, tb, t)
        submitted(ac, pid)
        teams.append((pid, ac))
    close_and_assign(web, office, slug)
    give_reviews(reviewers)
    calibrate_to_schedule(web, office, slug)
    office.post(f"/api/v1/calls/{slug}/release")
    office.post(f"/api/v1/calls/{slug}/publish")
    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    print("AWARDS", [(a["proposal_code"], a["pool"], a["amount"]) for a in awards])
    node = office.get(f"/api/v1/calls/{slug}/node/awards", limit=200)["items"]
    print("NODE", node[:2])
    st = [a for a in node if a["resource"].startswith("Project")][0]
    url = f"/api/v1/calls/{slug}/node/awards/{st['award_id']}/records"
    for month in ("2027-01-31", "2027-02-28", "2027-03-31"):
        r = office.send(
            "POST",
            url,
            {
                "kind": "other",
                "data": {
                    "description": "storage occupancy",
                    "used_amount": st["amount"] * 0.8,
                    "started_on": month,
                },
            },
        )
        print("STORAGE", month, str(r)[:300])
    # CSV import of core-hours
    c = [a for a in node if a["resource"].startswith("CPU")]
    csv_text = "award,kind,award_id,description,used_amount,started_on\n" + "\n".join(
        f"{a['proposal_code']},other,{a['award_id']},March accounting,1000000,2027-03-31" for a in c
    )
    r = office.send(
        "POST",
        f"/api/v1/calls/{slug}/records/import",
        {"content": csv_text, "filename": "acct.csv"},
    )
    print("IMPORT", r)
    pid, ac = teams[0]
    print("PI", ac.get(f"/api/v1/awards/{pid}")["summary"]["use"])
    page = text_of(signed_in(web, "main0@uni.example").get(f"/awards/{pid}").text)
    i = page.find("used")
    print("PIPAGE", page[:3000])
    for pth in (
        f"/manage/calls/{slug}/postaward?format=csv",
        f"/manage/calls/{slug}/decisions?format=csv",
    ):
        print(pth, signed_in(web, "office@nhpc.example").get(pth).text[:1500])
    assert 0
