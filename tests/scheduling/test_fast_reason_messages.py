"""FAST's reasons for a block left unscheduled are kept as message ids and parameters
(``optim.messages``) beside the English sentence, and the schedule pages say them from
the message, never by matching the English sentence against the catalogue. Before, the
optimiser gave only the English sentence (``UnscheduledBlock`` had no message)."""

from __future__ import annotations

from opencall.optim.messages import render
from opencall.optim.scheduling import (
    FastBlock,
    FastScheduleProblem,
    MaintenanceWindow,
    schedule_fast,
)
from opencall.scheduling.presenters import explanation
from opencall.web.i18n import Translator
from tests.optim.test_scheduling import LAT, _block, _three_hour_window


def test_every_unscheduled_block_says_why_as_a_message() -> None:
    t0, t1, ra = _three_hour_window()
    blocks = (
        _block("fixed_maint", ra, 30, 1, fixed_start_unix=t0 + 140 * 60.0),
        FastBlock("fixed_low", ra + 180.0, LAT, 1800.0, 1, fixed_start_unix=t0 + 60 * 60.0),
        _block("fixed_outside", ra, 30, 1, fixed_start_unix=t1 + 3600.0),
        FastBlock("north", 10.0, 80.0, 3600.0, 1),
    )
    maint = MaintenanceWindow(t0 + 150 * 60.0, t1, "cable check")
    res = schedule_fast(FastScheduleProblem(t0, t1, blocks, maintenance=(maint,)))
    assert {u.block_id for u in res.unscheduled} == {b.id for b in blocks}
    fr = Translator("fr")
    for u in res.unscheduled:
        msg = getattr(u, "message", None)
        assert msg is not None and render(msg) == u.detail, u
        # as scheduling.services stores it
        details = {"why": u.detail, "detail_msg": msg["msg"], "detail_params": msg["params"]}
        said = explanation(fr, details)
        assert said and said != u.detail, (u.detail, said)
        # the English sentence is not what is translated: another English text beside it
        # changes nothing
        assert explanation(fr, {**details, "why": "(stored English)"}) == said
