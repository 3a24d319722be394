"""An urgent call's rule (``allocation_policy.preempts``, trialfac24b) on the call's edit
page: shown as a checkbox, kept when the unchanged form is saved, and set or cleared on
a draft. Before, the page had no such input: it showed nothing of the rule and could
neither set nor clear it (only the JSON API could)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm.attributes import flag_modified

from opencall.calls.queries import call_by_slug
from tests.calls.test_call_edit import draft_call, form_of, load, post
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
    # a draft: set on the page, then cleared
    draft = draft_call(web, cycle)
    manager = web.login(cycle.emails["manager"])
    values = form_of(manager, draft)
    assert "preempts" not in values
    assert post(manager, draft, {**values, "preempts": "on"}).status_code == 303
    assert load(web, draft).allocation_policy["preempts"] is True
    assert post(manager, draft, values).status_code == 303
    assert load(web, draft).allocation_policy["preempts"] is False
