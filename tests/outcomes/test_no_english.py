"""The translated pages of a demo cycle (fr, zh, es) show no English: decisions with
their explanations, an applicant's outcome, the public award list, the audit log, a
job's progress and the report. A word counts as English when it belongs to the UI's
English vocabulary (the catalogue's source strings) and to none of the translations of
that language; what people typed (titles, names, pool names, reviewers' comments) is
removed first, and a small allow-list keeps proper nouns, codes and units."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from babel import Locale
from sqlalchemy import select

from opencall import jobs
from opencall.allocation.models import Award, Decision
from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
from opencall.calls.queries import call_by_slug
from opencall.db import make_engine, make_sessionmaker
from opencall.demo import world
from opencall.demo.cycle import run_cycle
from opencall.facilities.models import CapacityPool, Facility, Provider
from opencall.people.models import Institution, User
from opencall.proposals.models import Proposal, TeamMember
from opencall.proposals.models import Request as ProposalRequest
from opencall.reviews.models import Review
from opencall.web.i18n import merged_catalog
from tests.conftest import DemoWorlds
from tests.web.conftest import csrf, web_settings

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]

ANCHOR = dt.date(2026, 11, 29)
SLUG = "fast-2027"
# the other facilities' calls whose schedules are checked, by their manager's e-mail
LOGISTICS = {
    "manager@idsse.example": "trench-2027",
    "manager@lesec.example": "lunar-2027",
    "manager@livelihood.example": "livelihood-2027",
}
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
# proper nouns, codes and units that are the same in every language
ALLOW = {
    "opencall", "fast", "lst", "pi", "csv", "pdf", "sha", "utc", "api", "svg", "ris", "bibtex",
    "orcid", "doi", "url", "json", "html", "ok", "id", "mg", "km", "ra", "dec",
}  # fmt: skip
# the report's sources, named as they name themselves
PROPER = (
    "World Bank",
    "World Development Indicators",
    "United Nations Statistics Division",
    "CC BY",
)


class Text(HTMLParser):
    """The visible text of <main> (scripts, styles and the language switch left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self.depth += 1
        if tag in ("script", "style"):
            self.skip += 1
        a = dict(attrs)
        if self.depth and tag == "img" and a.get("alt"):
            self.parts.append(str(a["alt"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self.depth -= 1
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and not self.skip:
            self.parts.append(data)


def visible(html: str) -> str:
    p = Text()
    p.feed(html)
    return " ".join(" ".join(p.parts).split())


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


def english_only(lang: str) -> set[str]:
    """Words of the English source strings that no translation into ``lang`` uses."""
    catalog = merged_catalog(lang)
    assert catalog is not None
    english: set[str] = set()
    native: set[str] = set()
    for msg in catalog:
        if not msg.id:
            continue
        ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
        strs = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        for s in ids:
            english |= _words(re.sub(r"%\(\w+\)s", " ", s))
        for s in strs:
            native |= _words(s or "")
    # the language's own names of months and days, as dates are written in it (Babel,
    # CLDR: Spanish "may", trialapp16)
    for names in (Locale.parse(lang).months, Locale.parse(lang).days):
        for width in ("abbreviated", "wide"):
            native |= _words(" ".join(names["format"][width].values()))
    return english - native - ALLOW


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, demo_worlds: DemoWorlds
) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("demo-i18n")
    # a copy of the shared demo world (seed 2, scale 0.12, ANCHOR; tests/conftest.py), built
    # once a run for this test, the pipeline's, the golden digest's and others; its trench
    # schedule names a dive of a partly placed request (the zh page once read "第 0 次下潜")
    engine = demo_worlds.engine("sqlite", (2, 0.12, ANCHOR))
    url = engine.url.render_as_string(hide_password=False)
    with make_sessionmaker(engine)() as s:
        call = call_by_slug(s, SLUG)
        assert call is not None
        run_cycle(s, call, seed=0, days=60, n_bootstrap=50, postaward=False)
        # the logistics schedules (legs and dives, sample shipments, seats and packages)
        for slug in LOGISTICS.values():
            other = call_by_slug(s, slug)
            assert other is not None
            run_cycle(s, other, seed=0, n_bootstrap=20, publish=False)
        job = jobs.enqueue(s, "allocation.run", {"call_id": call.id}, call_id=call.id)
        job.status, job.progress, job.message = "done", 100, "allocation done"
        # what people typed: removed from the pages before looking for English
        typed: set[str] = set()
        for model, cols in (
            (Proposal, ("title", "code")),
            (Call, ("title", "description", "code")),
            (CapacityPool, ("name",)),
            (Facility, ("name",)),
            (Provider, ("name",)),
            (User, ("name", "email")),
            (TeamMember, ("name", "institution_name")),
            (Institution, ("name",)),
            (Review, ("comments_to_applicants",)),
            (Decision, ("override_reason",)),
            (AuditEvent, ("reason",)),
        ):
            for row in s.scalars(select(model)):
                typed |= {str(getattr(row, c)) for c in cols if getattr(row, c, None)}
        # names typed in requests and resources: dive sites, legs, places
        for req in s.scalars(select(ProposalRequest)):
            typed |= {str(x["name"]) for x in (req.details or {}).get("sites", [])}
        for pool in s.scalars(select(CapacityPool)):
            typed |= {str(pool.attributes[k]) for k in ("leg", "place") if k in pool.attributes}
        awarded = s.scalar(select(Award.proposal_id).where(Award.call_id == call.id))
        p = s.get(Proposal, awarded)
        assert p is not None
        pi_email = next(m.email for m in p.members if m.role == "pi")
        s.commit()
        out = {"url": url, "tmp": tmp, "job": job.id, "proposal": p.id, "pi": pi_email}
        out["typed"] = sorted(typed, key=len, reverse=True)
    engine.dispose()
    yield out


def _client(demo: dict[str, Any], email: str, lang: str) -> Any:
    from fastapi.testclient import TestClient
    from sqlalchemy.engine import make_url

    from opencall.app import create_app

    settings = web_settings(make_engine(demo["url"]), demo["tmp"])
    assert make_url(settings.database_url).database
    c = TestClient(create_app(settings), base_url="http://testserver", follow_redirects=False)
    c.cookies.set("oc_lang", lang)
    r = c.post(
        "/login", data={"csrf_token": csrf(c), "email": email, "password": world.DEMO_PASSWORD}
    )
    assert r.status_code == 303, r.text[:500]
    return c


@pytest.mark.parametrize("lang", ["fr", "zh", "es"])
def test_translated_pages_show_no_english(demo: dict[str, Any], lang: str) -> None:
    vocab = english_only(lang)
    office = _client(demo, "manager@fast.example", lang)
    pi = _client(demo, demo["pi"], lang)
    pages = {
        "decisions": (office, f"/manage/calls/{SLUG}/decisions"),
        "audit": (office, f"/manage/calls/{SLUG}/audit"),
        "job": (office, f"/manage/jobs/{demo['job']}"),
        "report": (office, f"/manage/calls/{SLUG}/report"),
        "awarded": (pi, f"/calls/{SLUG}/awarded"),
        "outcome": (pi, f"/proposals/{demo['proposal']}/outcome"),
        "schedule": (office, f"/manage/calls/{SLUG}/schedule"),
    }
    for email, slug in LOGISTICS.items():
        pages[f"schedule {slug}"] = (_client(demo, email, lang), f"/manage/calls/{slug}/schedule")
    from opencall.facilities.domain import BUILTIN_UNITS, UNIT_ALIASES, unit_label

    units = [unit_label(u, None, None, lang) for u in [*BUILTIN_UNITS, *UNIT_ALIASES]]
    if lang == "fr":  # the award column: an amount awarded, not a list of winners
        assert "Lauréat" not in pi.get(f"/proposals/{demo['proposal']}/outcome").text
    leaks: dict[str, list[str]] = {}
    for name, (client, path) in pages.items():
        r = client.get(path)
        assert r.status_code == 200, (name, r.status_code)
        text = visible(r.text)
        # amounts as people read them: no rounding noise, no "0 hours" award rows
        assert not re.search(r"\de-\d\d", text), (name, text[:300])
        zero = re.compile(r"(?<![\d.,])0 (" + "|".join(map(re.escape, units)) + r")\b")
        if name in ("decisions", "outcome", "awarded") or name.startswith("schedule"):
            assert not zero.search(text), (name, zero.search(text))
        for typed in [*demo["typed"], *PROPER]:
            text = text.replace(typed, " ")
        found = sorted(w for w in _words(text) if w in vocab)
        if found:
            context = [
                text[max(0, m.start() - 40) : m.end() + 40]
                for m in WORD.finditer(text)
                if m.group(0).lower() in found
            ][:5]
            leaks[name] = found + context
    assert not leaks, f"{lang}: English on translated pages: {leaks}"
