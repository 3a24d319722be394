"""Submitting a proposal with several problems: each problem is said in the reader's
language and they are joined in it (before: joined in English into one parameter, which
no translation matched); and the submission checks run once per submit (before: the page
checked, then the service again, or the editor again on a refusal; the API checked, then
the service, then its answer). The page checks and tells the service it did (no rollback
to show the checklist); the API leaves them to the service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.proposals import services as prop_services
from opencall.proposals.services import lifecycle
from opencall.web.i18n import Translator
from tests import factories as F
from tests.api.test_writes import token
from tests.web import conftest as webconf
from tests.web.conftest import Web, World, csrf

web, world = webconf.web, webconf.world  # the web fixtures

PROBLEMS = ("A title is required.", "An abstract is required.")


def test_every_problem_is_translated_and_joined_in_the_readers_language(db: Session) -> None:
    call = F.fast_call(db, requires_pdf=False)
    p = F.full_proposal(db, call, F.user(db))
    p.title, p.abstract = "", ""
    db.flush()
    with pytest.raises(DomainError) as err:
        prop_services.submit(db, p, now=F.NOW)
    assert err.value.code == "incomplete"
    english = err.value.message
    assert all(x in english for x in PROBLEMS)  # the English rendering is unchanged
    assert english == f"The proposal cannot be submitted yet: {' '.join(PROBLEMS)}"
    for lang in ("fr", "es", "zh"):
        t = Translator(lang)
        said = t.error(err.value)
        for x in PROBLEMS:
            assert x not in said, (lang, said)
            assert t(x) in said, (lang, said)
        assert said.startswith(t("The proposal cannot be submitted yet: %(problems)s")[:8])
    # Chinese sentences follow each other without a space
    zh = Translator("zh")
    assert f"{zh(PROBLEMS[0])}{zh(PROBLEMS[1])}" in zh.error(err.value)


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times the submission checks run meanwhile (wherever they are called)."""
    calls = [0]
    real = lifecycle.submission_errors

    def wrapped(proposal: Any) -> Any:
        calls[0] += 1
        return real(proposal)

    with monkeypatch.context() as m:
        m.setattr(lifecycle, "submission_errors", wrapped)
        m.setattr(prop_services, "submission_errors", wrapped)
        yield calls


def test_the_checks_run_once_per_submit(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = world.ids["proposal"]
    c = web.login(world.emails["pi"])
    tok = csrf(c, f"/proposals/{pid}")
    # incomplete: refused once, the editor shows the checklist from that one run
    with web.factory() as s:
        p = s.get(lifecycle.Proposal, pid)
        assert p is not None
        title = p.title
        p.title = ""
        s.commit()
    with counted(monkeypatch) as calls:
        r = c.post(f"/proposals/{pid}/submit", data={"csrf_token": tok})
    assert r.status_code == 400 and "A title is required." in r.text
    assert calls == [1], calls
    with web.factory() as s:
        p = s.get(lifecycle.Proposal, pid)
        assert p is not None and p.status == "draft"
        p.title = title
        s.commit()
    # complete: submitted after one run
    with counted(monkeypatch) as calls:
        r = c.post(f"/proposals/{pid}/submit", data={"csrf_token": tok})
    assert r.status_code == 303, r.text[:2000]
    assert calls == [1], calls
    # the API: one run, and the answer says there is nothing left to do
    h = token(web, world.emails["pi"], ["apply"])
    with counted(monkeypatch) as calls:
        r = web.client().post(f"/api/v1/proposals/{pid}/submit", headers=h)
    assert r.status_code == 200, r.text[:500]
    assert r.json()["problems"] == [] and r.json()["status"] == "submitted"
    assert calls == [1], calls
