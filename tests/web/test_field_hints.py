"""A screen reader reads a field's hint with the field: every hint the form macros
print is named by the input's ``aria-describedby`` (with the error, when there is one),
not left as a paragraph the reader passes by once in the field."""

from __future__ import annotations

import re

from tests.web.conftest import Web, World, csrf


def described(page: str, name: str) -> list[str]:
    m = re.search(rf'<(?:input|textarea|select) id="f-{name}"[^>]*>', page)
    assert m, f"no field {name}"
    d = re.search(r'aria-describedby="([^"]+)"', m.group())
    return d.group(1).split() if d else []


def test_hints_are_read_with_their_field(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"])
    page = c.get("/account").text
    hints = re.findall(r'<small id="(hint-[a-z_]+)">', page)
    assert {"hint-time_zone", "hint-expertise"} <= set(hints)
    for h in hints:
        assert h in described(page, h.removeprefix("hint-")), h
    # with an error: the error and the hint
    tok = csrf(c, "/account")
    bad = c.post("/account", data={"csrf_token": tok, "name": "X", "time_zone": "Nowhere/Else"})
    assert bad.status_code == 400
    assert described(bad.text, "time_zone") == ["err-time_zone", "hint-time_zone"]
    assert 'id="err-time_zone"' in bad.text and 'aria-invalid="true"' in bad.text
