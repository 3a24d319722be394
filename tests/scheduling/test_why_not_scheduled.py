"""A schedule page with nothing scheduled says which step is missing: the call has no
resource, the allocation has not run, it awarded nothing, the scheduling is waiting or
running, it failed (and why), or it has not run; in the reader's language. Before, it
said "Nothing scheduled yet." and no more."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import delete

from opencall import jobs
from opencall.allocation.models import Award, Decision
from opencall.calls.models import CallPool
from opencall.web.security import LANG_COOKIE
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

SAID = {
    "not run": {
        "en": "The scheduling has not run yet",
        "fr": "La planification n’a pas encore été lancée",
        "es": "La planificación aún no se ha ejecutado",
        "zh": "尚未运行排程",
    },
    "failed": {
        "en": "The scheduling failed: The resource Krios B has no calendar period",
        "fr": "La planification a échoué",
        "es": "La planificación ha fallado",
        "zh": "排程失败",
    },
    "running": {"en": "The scheduling is queued or running"},
    "nothing": {"en": "The allocation awarded nothing, so there is nothing to schedule"},
    "no allocation": {"en": "There are no awards to schedule; run the allocation first."},
    "no resource": {"en": "The call has no resource to schedule"},
}


def _why(web: Web, w: SlotWorld, lang: str = "en") -> str:
    office, _ = session_client(web, w.emails["manager"])
    office.cookies.set(LANG_COOKIE, lang)
    r = office.get(f"/manage/calls/{w.slug}/schedule")
    assert r.status_code == 200, r.text[:2000]
    return html.unescape(r.text)


def _job(web: Web, w: SlotWorld, status: str, error: str = "") -> None:
    with web.factory() as s:
        job = jobs.enqueue(s, "schedule.run", {"call_id": w.call_id}, call_id=w.call_id)
        job.status, job.error = status, error
        s.commit()


def test_the_schedule_page_says_which_step_is_missing(web: Web, sw: SlotWorld) -> None:
    for lang, said in SAID["not run"].items():
        assert said in _why(web, sw, lang), lang
    _job(web, sw, "failed", "opencall.errors.DomainError: The resource Krios B has no "
         "calendar period; set its period start and end.")  # fmt: skip
    for lang, said in SAID["failed"].items():
        page = _why(web, sw, lang)
        assert said in page and "Krios B" in page, lang
    _job(web, sw, "running")
    assert SAID["running"]["en"] in _why(web, sw)
    with web.factory() as s:
        s.execute(delete(Award).where(Award.call_id == sw.call_id))
        s.commit()
    assert SAID["nothing"]["en"] in _why(web, sw)
    with web.factory() as s:
        s.execute(delete(Decision).where(Decision.call_id == sw.call_id))
        s.commit()
    assert SAID["no allocation"]["en"] in _why(web, sw)
    with web.factory() as s:
        s.execute(delete(CallPool).where(CallPool.call_id == sw.call_id))
        s.commit()
    assert SAID["no resource"]["en"] in _why(web, sw)
