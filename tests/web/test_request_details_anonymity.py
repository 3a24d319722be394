"""trialrev21: a dual-anonymous proposal's requests name its team.

A request's details hold text the applicant types (a sample's techniques, a berth's
purpose, a target's or a dive site's name, a custom resource's fields), and the
reviewers read them on the review page (``reviews/_content.html``) in a dual-anonymous
call too. The anonymity scan read the title, abstract, science case and keywords only,
and a request added or changed queued no scan: "techniques: XRF in the Quispe-Tupac lab
at the Zanzibar Radio Institute" reached the reviewers without a word to the applicant
or to the chair's cockpit. Now the text scan reads the requests' text as well (its key
holds them, so a request changed is scanned again) and the editor says where: "Requests"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.proposals import queries as pq
from opencall.proposals import services as ps
from opencall.proposals.models import AnonymityScan, Proposal
from tests import factories as f
from tests.reviews.test_anonymity_pages import _scan
from tests.web.conftest import Web, World

PI = "Ximena Quispe-Tupac"
INSTITUTE = "Zanzibar Radio Institute"


def _sample_proposal(db: Session) -> tuple[Proposal, Any]:
    call, pool = f.samples_call(db)
    assert call.anonymity == "dual"
    pi = f.user(db, name=PI, institution=INSTITUTE, email="xq@zri.example")
    p = ps.create_proposal(
        db, call, pi, title="Basalt ages", abstract="Ages.", science_case="Dating.", now=f.NOW
    )
    db.flush()
    return p, pool


def _run_scans(db: Session, p: Proposal, tmp_path: Path) -> pq.CachedFindings:
    """Run every queued scan of ``p`` as the job does; the cached findings after."""
    db.flush()
    for sc in db.scalars(
        select(AnonymityScan).where(
            AnonymityScan.proposal_id == p.id, AnonymityScan.status == "queued"
        )
    ):
        ps.run_anonymity_scan(db, sc.id, upload_dir=tmp_path)
    return pq.cached_findings(db, p)


def test_a_request_naming_the_team_is_found(db: Session, tmp_path: Path) -> None:
    p, pool = _sample_proposal(db)
    assert _run_scans(db, p, tmp_path).findings == []
    ps.add_request(
        db,
        p,
        "sample",
        {
            "sample_type": "CE-5 regolith",
            "mass_mg": 30,
            "techniques": f"XRF in the {PI} lab at the {INSTITUTE}",
        },
        pool_id=pool.id,
        now=f.NOW,
    )
    # the request added queues a scan of the version that holds it
    assert pq.cached_findings(db, p).pending == 1
    found = _run_scans(db, p, tmp_path)
    assert found.pending == 0
    seen = {(where, fd["kind"], fd["text"]) for where, fd in found.findings}
    assert ("requests", "name", PI) in seen
    assert ("requests", "institution", INSTITUTE) in seen


def test_a_request_changed_is_scanned_again(db: Session, tmp_path: Path) -> None:
    p, pool = _sample_proposal(db)
    req = ps.add_request(
        db,
        p,
        "sample",
        {"sample_type": "CE-5 regolith", "mass_mg": 30, "techniques": "XRF"},
        pool_id=pool.id,
        now=f.NOW,
    )
    assert _run_scans(db, p, tmp_path).findings == []
    ps.update_request(
        db,
        p,
        req,
        {"sample_type": "CE-5 regolith", "mass_mg": 30, "techniques": f"XRF at the {INSTITUTE}"},
        now=f.NOW,
    )
    assert pq.cached_findings(db, p).pending == 1
    found = _run_scans(db, p, tmp_path)
    assert [(w, fd["text"]) for w, fd in found.findings] == [("requests", INSTITUTE)]
    # and the name taken out again: clean, nothing pending
    ps.update_request(
        db,
        p,
        req,
        {"sample_type": "CE-5 regolith", "mass_mg": 30, "techniques": "XRF"},
        now=f.NOW,
    )
    found = _run_scans(db, p, tmp_path)
    assert (found.pending, found.findings) == (0, [])


def test_the_applicant_is_told_the_request_names_the_team(web: Web, world: World) -> None:
    with web.factory() as s:
        p = s.get(Proposal, world.ids["proposal"])
        assert p is not None
        req = p.requests[0]
        details = dict(req.details)
        details["targets"] = [dict(t) for t in details["targets"]]
        details["targets"][0]["name"] = "Zanzibar Radio Institute calibrator"
        req.details = details
        s.commit()
    _scan(web, p)
    c = web.login(world.emails["pi"])
    c.cookies.set("oc_lang", "fr")
    page = c.get(f"/proposals/{world.ids['proposal']}")
    assert page.status_code == 200
    section = page.text.split('id="anonymity"', 1)[1].split("</section>", 1)[0]
    assert "Zanzibar Radio Institute" in section
    assert "Demandes" in section  # "Requests", where the name lies, in French
