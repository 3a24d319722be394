"""The user office's audit page of a call, and the same page after "verify the chain":
the events the office may read, and, only once asked for, the verification's verdict."""

from __future__ import annotations

from opencall.people import services as people_services
from tests import factories as F
from tests.web.conftest import Web, csrf


def test_the_audit_page_shows_the_chain_verified_only_when_asked(web: Web) -> None:
    with web.factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        office = F.user(s, email="office@example.org")
        people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
        slug = call.slug
        s.commit()
    c = web.login("office@example.org")
    page = c.get(f"/manage/calls/{slug}/audit")
    assert page.status_code == 200
    assert "Capacity offered in the call" in page.text  # the call's own events
    assert "The chain is intact" not in page.text
    r = c.post(
        f"/manage/calls/{slug}/audit/verify",
        data={"csrf_token": csrf(c, f"/manage/calls/{slug}/audit")},
    )
    assert r.status_code == 200
    assert "The chain is intact" in r.text
    # the same events as the page itself, with the verdict above them
    assert r.text.count("<tr") == page.text.count("<tr")
