"""outcomes23: a PI erased (``opencall personal-data --erase``) after their proposal was
awarded and the call's results published. The publication rules: the awarded programme's
code, title, amount and PI's country stay public (the facility's record of what it
funded; the country as in every count of the who-benefits figures), the person's name,
address, institution and ORCID are on no public page, API answer or export."""

from __future__ import annotations

import html

import pytest

from opencall.people.queries import user_by_email
from opencall.personal_data import erase_person
from opencall.proposals.models import Proposal
from tests.web.conftest import Web, World
from tests.web.test_public import publish

pytestmark = pytest.mark.filterwarnings("ignore")


def test_an_erased_pis_award_keeps_its_title_public_and_names_nobody(
    web: Web, world: World
) -> None:
    with web.factory() as s:
        publish(s, world)
        s.get_one(Proposal, world.ids["proposal"]).status = "accepted"
        user = user_by_email(s, world.emails["pi"])
        assert user is not None
        user.orcid = "0000-0002-1825-0097"
        s.commit()
    with web.factory() as s:
        user = user_by_email(s, world.emails["pi"])
        assert user is not None
        erase_person(s, user, reason="her letter")
        s.commit()
    slug = world.slugs["call"]
    c = web.client()
    pages = {
        "awarded": html.unescape(c.get(f"/calls/{slug}/awarded").text),
        "figures": html.unescape(c.get(f"/calls/{slug}/figures").text),
        "after-award.csv": c.get(f"/calls/{slug}/after-award?format=csv").text,
        "api awards": c.get(f"/api/v1/calls/{slug}/awards").text,
        "call": html.unescape(c.get(f"/calls/{slug}").text),
    }
    assert "Pulsar timing with FAST" in pages["awarded"]
    assert "Pulsar timing with FAST" in pages["api awards"]
    for where, text in pages.items():
        for secret in [*world.secrets, "0000-0002-1825-0097", "Erased account", "erased-"]:
            assert secret not in text, (where, secret)
