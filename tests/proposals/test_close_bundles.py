"""At close a proposal is restored to its last submitted revision, its all-or-nothing
bundles included: what the applicant changed after submitting (without submitting
again) is not what is reviewed and allocated."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.cycle import services as cycle
from opencall.proposals import services as ps
from tests import factories as f
from tests.facilities.builders import cryo_call, cryo_centre


@pytest.mark.parametrize("amount_changed", [False, True])
def test_the_close_restores_the_submitted_bundles(db: Session, amount_changed: bool) -> None:
    fac, krios, glacios = cryo_centre(db)
    call = cryo_call(db, fac, [krios, glacios], 40)
    cycle.transition_call(db, call, "open", now=f.NOW)
    p = ps.create_proposal(
        db, call, f.user(db), title="Ribosome", abstract="a", science_case="b", now=f.NOW
    )
    d = {"amount": 1, "specimen": "s", "mode": "screening"}
    a = ps.add_request(db, p, "custom", d, pool_id=krios.id, bundle="pair", now=f.NOW)
    b = ps.add_request(db, p, "custom", d, pool_id=glacios.id, bundle="pair", now=f.NOW)
    assert not ps.submission_problems(p)
    ps.submit(db, p, now=f.NOW)
    ps.set_bundle(db, p, [a.id, b.id], None, now=f.NOW)  # after submitting, not submitted again
    if amount_changed:
        ps.update_request(db, p, a, {**d, "amount": 2}, now=f.NOW)
    cycle.transition_call(db, call, "closed", reason="test", now=f.NOW)
    assert p.status == "under_review"
    assert [(r.pool_id, r.amount, r.bundle) for r in p.requests] == [
        (krios.id, 1, "pair"),
        (glacios.id, 1, "pair"),
    ]
