"""The call form's caps of awards per country, income group or UN region
(``country:2, un_region:6``): saved into the policy's ``group_caps``, shown back in the
form, a bad number refused beside its input with nothing changed, and an amount cap set
through the API kept when the form is saved (the form has no input for it)."""

from __future__ import annotations

import pytest

from opencall.calls.queries import call_by_slug
from tests.calls.test_call_edit import draft_call, form_of, load, post, updates
from tests.review_cycle import Cycle, Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_caps_per_group_through_the_call_form(web: Web, cycle: Cycle) -> None:
    slug = draft_call(web, cycle)
    with web.factory() as s:
        call = call_by_slug(s, slug)
        assert call is not None
        # an amount cap given through the API (the form cannot say it)
        call.allocation_policy = {
            **call.allocation_policy,
            "group_caps": [{"per": "un_region", "max_amount": 40.0}],
        }
        s.commit()
    c = web.login(cycle.emails["manager"], lang="fr")
    values = form_of(c, slug)
    assert values["group_caps"] == ""
    r = post(c, slug, {**values, "group_caps": "country:two"})
    assert r.status_code == 400 and 'id="err-group_caps"' in r.text
    assert load(web, slug).allocation_policy["group_caps"] == [
        {"per": "un_region", "max_amount": 40.0}
    ]
    assert updates(web, slug) == []
    r = post(c, slug, {**values, "group_caps": "country:2, un_region:6"})
    assert r.status_code == 303, r.text[-2000:]
    caps = load(web, slug).allocation_policy["group_caps"]
    assert caps == [
        {"per": "country", "max_awards": 2, "max_amount": None},
        {"per": "un_region", "max_awards": 6, "max_amount": 40.0},
    ]
    assert form_of(c, slug)["group_caps"] == "country:2, un_region:6"
    # the unchanged form changes nothing; an empty input clears the caps of awards only
    assert post(c, slug, form_of(c, slug)).status_code == 303
    assert load(web, slug).allocation_policy["group_caps"] == caps
    assert post(c, slug, {**form_of(c, slug), "group_caps": ""}).status_code == 303
    assert load(web, slug).allocation_policy["group_caps"] == [
        {"per": "un_region", "max_awards": None, "max_amount": 40.0}
    ]
    # an unknown grouping is the policy's own error
    r = post(c, slug, {**form_of(c, slug), "group_caps": "city:2"})
    assert r.status_code == 400 and "group_caps.0.per" in r.text
