"""The proposal editor reports every problem of a form at once (each target of a
target list, each field) with a summary at the top linking to each field and table
cell; word limits are flagged on save (saved as a draft, listed as blocking submit);
the background save (JSON) answers with the new version, the stored text and the
refreshed checklist, so the next save is not refused as stale."""

from __future__ import annotations

import re

from opencall.web.i18n import Translator
from tests.web import conftest as webconf
from tests.web.conftest import Web, World, version_of

web, world = webconf.web, webconf.world  # the web fixtures

BAD_TARGETS = [
    ("Crab pulsar", "25:34:31.9", "+22:00:52", "2"),  # RA hours above 24
    ("South", "10.0", "-76.6", "1"),  # below the telescope's sky
    ("North", "20.0", "+69.8", "1"),  # above it
    ("Fine", "83.6", "22.0", "1"),
]


def _targets_form(version: str, token: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "version": version,
        "kind": "fast",
        "receiver": "19-beam",
        "mode": "Tracking",
        "rows": str(len(BAD_TARGETS)),
    }
    for i, (name, ra, dec, hours) in enumerate(BAD_TARGETS):
        data |= {
            f"targets-{i}-name": name,
            f"targets-{i}-ra_deg": ra,
            f"targets-{i}-dec_deg": dec,
            f"targets-{i}-hours": hours,
        }
    return data


def test_three_bad_targets_are_reported_at_once(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], lang="fr")
    pid, rid = world.ids["proposal"], world.ids["request"]
    page = c.get(f"/proposals/{pid}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = c.post(f"/proposals/{pid}/requests/{rid}", data=_targets_form(version_of(c, pid), token))
    assert r.status_code == 400
    html = r.text
    t = Translator("fr")
    summary = html.split('id="error-summary"')[1].split("</div>")[0]
    # each of the three, with a link to its cell
    for cell in ("targets-0-ra_deg", "targets-1-dec_deg", "targets-2-dec_deg"):
        assert f'href="#r{rid}-{cell}"' in summary, cell
        assert f'id="r{rid}-{cell}"' in html  # the cell the link goes to
        assert f'id="err-{cell}"' in html  # the message beside the cell
    assert "targets-3" not in summary
    assert t.message("right ascension hours must be below 24") in summary
    assert "-76.60" in summary and "+69.80" in summary
    assert summary.index("targets-0") < summary.index("targets-1") < summary.index("targets-2")
    assert "outside" not in summary  # in French


def test_word_limit_is_flagged_on_save(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], lang="fr")
    pid = world.ids["proposal"]
    abstract = " ".join(["mot"] * 310)
    page = c.get(f"/proposals/{pid}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {
        "csrf_token": token,
        "version": version_of(c, pid),
        "title": "Pulsar timing with FAST",
        "abstract": abstract,
        "science_case": "Millisecond pulsars are precise clocks.",
        "keywords": "",
    }
    r = c.post(f"/proposals/{pid}", data=form)
    assert r.status_code == 303  # saved as a draft
    page = c.get(r.headers["location"]).text
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    assert 'href="#f-abstract"' in summary and "310" in summary and "300" in summary
    checklist = page.split('id="checklist"')[1].split("</div>")[0]
    assert "310" in checklist
    assert re.search(r'action="/proposals/\d+/submit"[^>]*>.*?<button disabled', page, re.S)


def test_background_save_answers_json_with_the_new_version(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], lang="es")
    pid = world.ids["proposal"]
    page = c.get(f"/proposals/{pid}").text
    # (linked by a name with a hash of its content, tests/web/test_static_cache.py)
    assert re.search(r'src="/static/safe-save\.[0-9a-f]{10}\.js"', page) and "<script>" not in page
    assert 'id="save-status" role="status" aria-live="polite"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    v1 = version_of(c, pid)
    form = {
        "csrf_token": token,
        "version": v1,
        "title": "  Pulsar   timing  ",
        "abstract": "",
        "science_case": "Clocks.",
        "keywords": "",
    }
    headers = {"Accept": "application/json"}
    r = c.post(f"/proposals/{pid}", data=form, headers=headers)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["ok"] and int(data["version"]) == int(v1) + 1
    assert data["fields"]["title"] == "Pulsar timing"  # as stored
    assert Translator("es").gettext("An abstract is required.") in data["problems"]
    assert data["saved_at"]
    # the next save with the new version goes through (not refused as stale)
    form |= {"version": data["version"], "abstract": "Timing pulsars."}
    r = c.post(f"/proposals/{pid}", data=form, headers=headers)
    assert r.status_code == 200 and r.json()["ok"]
    assert Translator("es").gettext("An abstract is required.") not in r.json()["problems"]
    # a stale one is refused with the message and the current version
    form |= {"version": v1}
    r = c.post(f"/proposals/{pid}", data=form, headers=headers)
    assert r.status_code == 409
    assert not r.json()["ok"] and r.json()["errors"]["form"]
    assert int(r.json()["version"]) == int(v1) + 2
