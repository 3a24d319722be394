"""A deadline and a review cut-off at local midnight in a zone whose clocks go back that
night, through the JSON API. America/Santiago leaves summer time at the end of 3 April
2027: at 03:00 UTC the clocks go from 24:00 (UTC-3) back to 23:00 (UTC-4), so the local
midnight that ends 3 April comes at 04:00 UTC, an hour later than the summer offset says.

A call and a continuous call's cut-off stated as ``2027-04-04T00:00`` in that zone close
at 04:00 UTC: a submission received at 03:00, 03:30 or 03:59:59 UTC (the repeated hour)
counts, and lands in the batch of that cut-off; one received at 04:00:00 is refused (the
call) or rolls to the next batch (the continuous call); a cut at 03:30 UTC cuts nothing.
The call's page states the deadline on the local clock with its offset."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.cycle import batches
from opencall.cycle import services as cycle
from opencall.people import services as people_services
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

ZONE = "America/Santiago"
MIDNIGHT = dt.datetime(2027, 4, 4, 4, 0, tzinfo=dt.UTC)  # 2027-04-04 00:00 local (UTC-4)
RECEIVED = [  # when each applicant's submission arrives, UTC
    dt.datetime(2027, 4, 4, 3, 0, tzinfo=dt.UTC),  # 23:00 local, the second time
    dt.datetime(2027, 4, 4, 3, 30, tzinfo=dt.UTC),
    dt.datetime(2027, 4, 4, 3, 59, 59, tzinfo=dt.UTC),
    MIDNIGHT,
]


def _calls(s: Session) -> tuple[dict[str, str], dict[str, list[tuple[int, str]]]]:
    fac = F.fast_facility(s)
    pools = F.lst_pools(s, fac)
    slugs: dict[str, str] = {}
    crowd: dict[str, list[tuple[int, str]]] = {}
    for mode in ("deadline", "continuous"):
        doc: dict[str, Any] = {
            "slug": f"santiago-{mode}",
            "code": f"S{mode[0].upper()}",
            "title": "Southern nights",
            "cycle": "2027",
            "time_zone": ZONE,
            "opens_at": dt.datetime(2027, 3, 1, 0, 0),
            "closes_at": dt.datetime(2027, 4, 4, 0, 0),
            "form": {"receivers": F.RECEIVERS, "modes": F.MODES, "requires_pdf": False},
        }
        if mode == "continuous":
            doc |= {
                "mode": "continuous",
                "closes_at": dt.datetime(2027, 5, 2, 0, 0),
                "cutoffs": [dt.datetime(2027, 4, 4, 0, 0), dt.datetime(2027, 5, 2, 0, 0)],
                "decision_days": 14,
            }
        call = call_services.create_call(s, fac, doc)
        for p in pools:  # each call half of every pool
            call_services.offer_pool(s, call, p, amount=float(p.amount) / 2)
        cycle.transition_call(s, call, "open", now=F.NOW)
        slugs[mode] = call.slug
        crowd[mode] = []
        for i in range(len(RECEIVED)):
            pi = F.user(s, email=f"{mode}{i}@santiago.example", country="CHL")
            p = F.full_proposal(s, call, pi)
            _t, raw = people_services.create_api_token(s, pi, "t", now=F.NOW, days=365)
            crowd[mode].append((p.id, raw))
    s.flush()
    return slugs, crowd


def _submit(web: Web, pid: int, token: str, at: dt.datetime) -> Any:
    with time_machine.travel(at, tick=False):
        return web.client().post(
            f"/api/v1/proposals/{pid}/submit",
            headers={"Authorization": f"Bearer {token}"},
            json={},
        )


def test_local_midnight_on_the_night_the_clocks_go_back(web: Web) -> None:
    with web.factory() as s:
        slugs, crowd = _calls(s)
        calls = {
            m: s.scalars(select(Call).where(Call.slug == slug)).one() for m, slug in slugs.items()
        }
        assert calls["deadline"].closes_at == MIDNIGHT
        assert batches.parse_cutoffs(calls["continuous"].cutoffs)[0] == MIDNIGHT
        s.commit()
    with time_machine.travel(MIDNIGHT - dt.timedelta(hours=2), tick=False):
        page = web.client().get(f"/calls/{slugs['deadline']}").text
    # the site's clock, as English readers write dates (trialapp16)
    assert "Apr 4, 2027, 12:00\u202fAM (Chile (Santiago) Time, UTC-04:00)" in page, page
    # the call with one deadline: the repeated hour counts, midnight is too late
    codes = [
        _submit(web, pid, token, at).status_code
        for (pid, token), at in zip(crowd["deadline"], RECEIVED, strict=True)
    ]
    assert codes == [200, 200, 200, 400], codes
    # the continuous call: the same arrivals; a cut in the repeated hour cuts nothing
    for (pid, token), at in zip(crowd["continuous"], RECEIVED, strict=True):
        assert _submit(web, pid, token, at).status_code == 200
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slugs["continuous"])).one()
        with pytest.raises(Exception, match="No review cut-off has come yet"):
            batches.cut(s, call, now=RECEIVED[1])
        s.rollback()
        (batch,) = batches.cut(s, call, now=MIDNIGHT)
        s.commit()
        where = dict(
            s.execute(
                select(Proposal.id, Proposal.call_id).where(
                    Proposal.id.in_([pid for pid, _ in crowd["continuous"]])
                )
            ).all()
        )
    assert [where[pid] for pid, _ in crowd["continuous"]] == [batch.id] * 3 + [call.id]
