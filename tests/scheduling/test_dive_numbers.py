"""A dive is numbered as people count, from 1, wherever a schedule names one: the
pages in every language, the CSV and the API's sentence, and the run's summary; and the
schedules stored before the optimiser counted from 1 are renumbered by the migration
(dive0_01). The seed-2 demo world's trench call is where the Chinese page read
"在 Site 1 的第 0 次下潜" (the 0th dive at Site 1)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from opencall import migrate
from opencall.app import create_app
from opencall.demo import world
from opencall.runs import SolverRun
from opencall.scheduling.models import ScheduleEntry
from tests.test_pipeline import _cycle
from tests.web.conftest import csrf, web_settings

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]

PARTIAL = "berths on leg %(leg)s, %(done)s of %(n)s dives; %(missing)s"
DIVE = "dive %(k)s at %(site)s: %(why)s"
SLUG = "trench-2027"
# how each language says "dive k at site"
SAID = {
    "en": "dive {k} at {site}",
    "fr": "plongée {k} à {site}",
    "es": "inmersión {k} en {site}",
    "zh": "在 {site} 的第 {k} 次下潜",
}
ZERO = {"en": "dive 0 ", "fr": "plongée 0 ", "es": "inmersión 0 ", "zh": "第 0 次"}


def _stored(s: Any, call_id: int) -> dict[int, dict[str, Any]]:
    rows = s.scalars(
        select(ScheduleEntry).where(ScheduleEntry.call_id == call_id, ScheduleEntry.kind == "berth")
    )
    return {e.id: dict(e.details) for e in rows if e.details.get("detail_msg") == PARTIAL}


def _numbered(stored: dict[int, dict[str, Any]]) -> list[tuple[int, str, int]]:
    """(number, site, dives asked) of every dive a stored partial explanation names."""
    return [
        (m["params"]["k"], m["params"]["site"], d["detail_params"]["n"])
        for d in stored.values()
        for m in d["detail_params"]["missing"]
        if m["msg"] == DIVE
    ]


def _client(engine: Engine, tmp: Path, lang: str) -> TestClient:
    c = TestClient(create_app(web_settings(engine, tmp)), base_url="http://testserver")
    c.cookies.set("oc_lang", lang)
    r = c.post(
        "/login",
        data={
            "csrf_token": csrf(c),
            "email": "manager@idsse.example",
            "password": world.DEMO_PASSWORD,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    return c


def test_dives_are_numbered_from_one_on_every_page_and_export(
    demo: Any, engine: Engine, tmp_path: Path
) -> None:
    factory = demo(2, 0.12)
    with factory() as s:
        call = _cycle(s, SLUG)
        s.commit()
        call_id = call.id
        stored = _stored(s, call_id)
    numbered = _numbered(stored)
    assert numbered, "the seed-2 trench schedule has a partly placed request"
    assert all(1 <= k <= n for k, _site, n in numbered), numbered
    eng = factory.kw["bind"]
    for lang, said in SAID.items():
        page = _client(eng, tmp_path, lang).get(f"/manage/calls/{SLUG}/schedule").text
        for k, site, _n in numbered:
            assert said.format(k=k, site=site) in page, (lang, k, site)
        assert ZERO[lang] not in page, lang
    # the CSV and the API show the English sentence stored beside the message
    c = _client(eng, tmp_path, "en")
    rows = list(
        csv.DictReader(io.StringIO(c.get(f"/manage/calls/{SLUG}/schedule?format=csv").text))
    )
    sentences = " | ".join(r["explanation"] for r in rows)
    for k, site, _n in numbered:
        assert f"dive {k} at {site}" in sentences
    assert all(d["explanation"].count("dive 0 ") == 0 for d in stored.values())


def test_the_schedules_stored_before_are_renumbered(demo: Any, engine: Engine) -> None:
    factory = demo(2, 0.12)
    with factory() as s:
        call = _cycle(s, SLUG)
        s.commit()
        call_id = call.id
    eng = factory.kw["bind"]

    def snapshot() -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
        with factory() as s:
            runs = s.scalars(select(SolverRun).where(SolverRun.call_id == call_id))
            return _stored(s, call_id), {r.id: dict(r.summary) for r in runs}

    now, summaries = snapshot()
    assert _numbered(now)
    try:
        # the shape the old optimiser stored: the same dives numbered from 0
        migrate.downgrade(eng, "confscale_01")
        before, old_summaries = snapshot()
        assert [(k - 1, site, n) for k, site, n in _numbered(now)] == _numbered(before)
        assert any("dive 0 at" in d["explanation"] for d in before.values())
        assert any(
            "dive 0 at" in sentence
            for summary in old_summaries.values()
            for sentence in (summary.get("explanations") or {}).values()
        )
        migrate.upgrade(eng)
        assert snapshot() == (now, summaries)
    finally:
        migrate.upgrade(eng)  # (at the head already: nothing to do)
