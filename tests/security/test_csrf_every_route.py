"""Every state-changing form of the site refuses a post without this browser's CSRF
token (trialcrowd22): a signed-in PI and a manager post every POST, PUT, PATCH and DELETE
route of the app (walked from ``app.routes``: a route added later is tried as soon as it
exists) with a token of another browser, and with none. Each must be refused with 403
(the "Cross-site request refused" or "Your changes are kept" page) before the route runs,
and the session cookie alone must never be enough for a write under ``/api/`` (401: the
API reads bearer tokens only). No table's row count changed meanwhile."""

from __future__ import annotations

import re

import pytest

from tests import factories as F
from tests.authz.test_matrix import app_routes
from tests.web.conftest import Web, World, csrf

pytestmark = pytest.mark.filterwarnings("ignore")

TEXT = {"slug", "token", "key", "provider", "step", "code"}


def _fill(template: str, world: World) -> str:
    path = template
    for name in re.findall(r"{([^}:]+)(?::[^}]+)?}", template):
        if name == "slug":
            v: object = world.slugs["call"]
        elif name in TEXT:
            v = "x"
        else:
            v = world.ids.get(name.removesuffix("_id"), 1)
        path = re.sub(r"{" + name + r"(:[^}]+)?}", str(v), path)
    return path


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_no_write_route_takes_a_post_without_this_browsers_token(
    web: Web, world: World, one_loop: None
) -> None:
    foreign = csrf(web.client())  # a token of another browser (the attacker's own)
    wrong: list[tuple[str, str, str, int]] = []
    walked = 0
    for who in ("pi", "manager"):
        c = web.login(world.emails[who])
        with web.factory() as s:
            before = F.table_counts(s)
        for method, template in sorted(app_routes(web.app)):
            if method in ("GET", "MOUNT", "UNKNOWN"):
                continue
            path = _fill(template, world)
            walked += 1
            if template.startswith("/api/"):
                r = c.request(method, path, json={})
                if r.status_code not in (401, 422):  # 422: the body refused first
                    wrong.append((who, method, template, r.status_code))
                continue
            for form in ({"csrf_token": foreign, "x": "1"}, {"x": "1"}):
                r = c.request(method, path, data=form)
                if r.status_code != 403:
                    wrong.append((who, method, template, r.status_code))
        with web.factory() as s:
            assert F.table_counts(s) == before, who
    assert walked > 100
    assert not wrong, wrong
