"""The TAC chair's preview reloaded (trialcrowd19). The preview solves the allocation
twice (in the calibrated order and in the chair's, up to 20 s each) on the request's
thread; every reload, and every member of the committee opening the same list, solved
both again though nothing had changed (4 solves for two views of one list). Now a
problem solved lately is kept by a digest of the whole problem (``tac._SOLVED``, merged
with trialtac19's preview, which solves one problem when the chair changed nothing): a
reload solves nothing, a change to the list solves again."""

from __future__ import annotations

from typing import Any

import pytest

from opencall.allocation import tac
from opencall.optim import allocation as optim_allocation
from tests.allocation.test_tac import _web_world
from tests.api.test_writes import token
from tests.security.test_tac_after_allocation import move_up
from tests.web.conftest import Web


def test_a_reload_of_the_preview_solves_nothing_again(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug, chair, ids, _ = _web_world(web)
    real = optim_allocation.solve_allocation
    solves: list[int] = []

    def counted(*a: Any, **kw: Any) -> Any:
        solves.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(optim_allocation, "solve_allocation", counted)
    # solves kept from an earlier test of this process (the same problem in a database
    # made again) would answer this one's first view
    monkeypatch.setattr(tac, "_SOLVED", type(tac._SOLVED)())
    c = web.login(chair)
    first = c.get(f"/manage/calls/{slug}/tac?preview=1")
    n = len(solves)
    assert first.status_code == 200 and 1 <= n <= 2
    again = c.get(f"/manage/calls/{slug}/tac?preview=1")
    assert again.status_code == 200 and len(solves) == n, len(solves)
    assert again.text.count('class="change-') == first.text.count('class="change-')
    # another member, through the API: the same list, nothing solved again
    r = web.client().get(f"/api/v1/calls/{slug}/tac/preview", headers=token(web, chair))
    assert r.status_code == 200 and len(solves) == n, len(solves)
    # a move changes what the chair's order reads: solved again, and the page shows it
    assert move_up(c, slug, ids[3], 3).status_code == 303
    moved = c.get(f"/manage/calls/{slug}/tac?preview=1")
    assert moved.status_code == 200 and len(solves) > n
    assert 'class="change-gains"' in moved.text and 'class="change-gains"' not in first.text
