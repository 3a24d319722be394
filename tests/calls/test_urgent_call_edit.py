"""An urgent call's rule (``allocation_policy.preempts``, trialfac24b) on the call's edit
page: shown as a checkbox, kept when the unchanged form is saved, and set or cleared
there. Before, the page had no such input and rebuilt the policy from its fields, so
saving an urgent call's unchanged form made it an ordinary one: its next schedule would
no longer pre-empt anything."""

from __future__ import annotations

import pytest
from sqlalchemy.orm.attributes import flag_modified

from opencall.calls.queries import call_by_slug
from tests.calls.test_call_edit import form_of, load, post
from tests.review_cycle import Cycle, Web
from tests.web.conftest import make_open

pytestmark = pytest.mark.filterwarnings("ignore")


def test_the_urgent_rule_round_trips_and_is_set_on_the_page(web: Web, cycle: Cycle) -> None:
    slug = cycle.other_slug
    with web.factory() as s:
        call = call_by_slug(s, slug)
        assert call is not None
        make_open(call)
        call.allocation_policy = {**call.allocation_policy, "preempts": True}
        flag_modified(call, "allocation_policy")
        s.commit()
    office = web.login(cycle.emails["other_manager"], lang="fr")
    values = form_of(office, slug)
    assert values.get("preempts") == "on", values
    assert post(office, slug, values).status_code == 303
    assert load(web, slug).allocation_policy["preempts"] is True
    # cleared on the page, then set again
    off = {k: v for k, v in values.items() if k != "preempts"}
    assert post(office, slug, off).status_code == 303
    assert load(web, slug).allocation_policy["preempts"] is False
    assert post(office, slug, {**off, "preempts": "on"}).status_code == 303
    assert load(web, slug).allocation_policy["preempts"] is True
