"""A resource counted in a large continuous amount (a cluster's core-hours) in a
unit the operator names: its amounts are written out in full (never 4e+06, never
rounded to six digits) and in the operator's word, on the public awarded page and
in the applicant's request form (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from opencall.allocation.models import Award
from opencall.calls import services as call_services
from opencall.cycle import services as cycle
from opencall.facilities import services as fs
from opencall.inputs import plain_number
from opencall.proposals import services as ps
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.web.conftest import Web, make_open

pytestmark = pytest.mark.filterwarnings("ignore")
CORE_HOURS = {
    "en": {"one": "core-hour", "other": "core-hours"},
    "zh": {"one": "核时", "other": "核时"},
    "fr": {"one": "heure-cœur", "other": "heures-cœur"},
    "es": {"one": "hora-núcleo", "other": "horas-núcleo"},
}


@pytest.mark.parametrize(
    ("value", "text"),
    [(4e6, "4000000"), (1234567.0, "1234567"), (250000.5, "250000.5"), (5e7, "50000000"),
     (2.0, "2"), (0.25, "0.25"), (1e20, "100000000000000000000"), (12.3456789, "12.3456789")],
)  # fmt: skip
def test_plain_numbers_have_no_exponent_and_keep_their_digits(value: float, text: str) -> None:
    assert plain_number(value) == text


def _cluster_call(s: Session) -> tuple[str, int, str]:
    prov = fs.create_provider(s, name="HPC centre", slug="hpc", country_iso3="KEN")
    fac = fs.create_facility(s, prov, name="Cluster", slug="cluster", kind="custom", attributes={})
    pool = fs.create_resource(
        s, fac, name="Cluster", amount=5e7, unit="core-h", unit_labels=CORE_HOURS
    )
    call = call_services.create_call(
        s, fac, {"slug": "hpc-28", "code": "H28", "title": "Core-hours", "cycle": "2028",
                 "anonymity": "single", "opens_at": F.NOW, "closes_at": F.NOW + dt.timedelta(days=1)},
    )  # fmt: skip
    make_open(call)
    call_services.offer_pool(s, call, pool, 4e6)
    cycle.transition_call(s, call, "open")
    pi = F.user(s, email="pi@hpc.example", country="ETH")
    p = ps.create_proposal(s, call, pi, title="Climate", abstract="a", science_case="b")
    req = ps.add_request(s, p, "custom", {"amount": 1234567.5}, pool_id=pool.id)
    return call.slug, p.id, f"{req.id}:{pool.id}"


def test_core_hours_on_the_awarded_page_and_the_request_form(web: Web) -> None:
    with web.factory() as s:
        slug, pid, ids = _cluster_call(s)
        s.commit()
    client, _tok = session_client(web, "pi@hpc.example")
    req_id, pool_id = (int(x) for x in ids.split(":"))
    editor = client.get(f"/proposals/{pid}")
    assert editor.status_code == 200, editor.text[-2000:]
    assert 'value="1234567.5"' in editor.text  # re-saving the form keeps the amount
    assert "4,000,000 core-hours" in editor.text  # as English writes numbers
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        call = p.call
        s.add(Award(call_id=call.id, proposal_id=pid, request_id=req_id, pool_id=pool_id,
                    amount=1234567.5, fraction=1.0))  # fmt: skip
        call.status = "published"
        s.commit()
    anyone = web.client()
    page = anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "zh"})
    assert page.status_code == 200
    assert "1,234,567.5 核时" in page.text and "e+" not in page.text
    page = anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "fr"})
    assert "1\u202f234\u202f567,5 heures-cœur" in page.text
