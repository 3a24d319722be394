"""An operator runs the site for real, round 19 (trialop19): the facility page's way to a
new call, the facility kinds as people read them, the schedule naming its resources by
id. Both backends (the ``web`` fixture)."""

from __future__ import annotations

import re

import pytest

from tests.authz.test_workspace_matrix import session_client
from tests.facilities.test_web import Cryo, _counts, cryo, tokens

__all__ = ["cryo"]  # the fixture
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_the_facility_page_links_to_a_new_call_with_the_facility_chosen(
    web: Web, cryo: Cryo
) -> None:
    client, _tok = session_client(web, cryo.emails["manager"])
    page = client.get(f"/manage/facilities/{cryo.facility_id}")
    assert page.status_code == 200
    link = f'href="/manage/calls/new?facility_id={cryo.facility_id}"'
    assert link in page.text, page.text[-2500:]
    form = client.get(f"/manage/calls/new?facility_id={cryo.facility_id}")
    assert f'<option value="{cryo.facility_id}" selected>' in form.text


def test_a_facility_kind_is_said_in_words_and_an_unknown_one_refused_in_them(
    web: Web, cryo: Cryo
) -> None:
    h = {"Authorization": f"Bearer {tokens(web, cryo)['manager']}"}
    c = web.client()
    before = _counts(web)
    said = {}
    for lang in ("en", "fr", "es", "zh"):
        r = c.post(
            f"/api/v1/providers/{cryo.provider_slug}/facilities",
            headers={**h, "Accept-Language": lang},
            json={"name": "X", "slug": "x-kind", "kind": "spaceship"},
        )
        assert r.status_code == 400, r.text
        said[lang] = r.json()["detail"]
        # the kinds as people read them, never the keys joined by commas
        assert "telescope, vessel" not in said[lang], said[lang]
        assert "spaceship" in said[lang]
    assert "Telescope" in said["en"] and "Research vessel" in said["en"], said["en"]
    assert "Télescope" in said["fr"], said["fr"]
    assert "Telescopio" in said["es"], said["es"]
    assert "望远镜" in said["zh"], said["zh"]
    assert _counts(web) == before
    # the provider's form offers the kinds in words, the key as the value
    client, _tok = session_client(web, cryo.emails["manager"])
    page = client.get(f"/manage/providers/{cryo.provider_slug}")
    assert re.search(r'<option value="vessel"[^>]*>Research vessel</option>', page.text)
