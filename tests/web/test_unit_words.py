"""One set of unit words, singular for one (unit10).

A catalogued unit (the presets' keys ``h``, ``berths``, ``dives``, ``seats``...) was written
by ``facilities.labels.unit_text`` in the plural from the page's catalogue whatever the
amount ("1 berths", "1 heures"), while the resource pages wrote it with
``facilities.domain.unit_label``'s built-in words: in Chinese the public call page said
次下潜 and 个名额 where the resource page said 潜次 and 席位. Now every page takes the
built-in words (``facilities.domain.BUILTIN_UNITS``), singular for exactly one."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.people.models import User
from tests.conftest import RUN_ONCE
from tests.web.conftest import Web, World

# a preset's unit key -> (en, fr, es) for one, the same for two, and the one Chinese word
WORDS = {
    "berths": (("berth", "couchette", "litera"), ("berths", "couchettes", "literas"), "铺位"),
    "dives": (("dive", "plongée", "inmersión"), ("dives", "plongées", "inmersiones"), "潜次"),
    "seats": (("seat", "place", "plaza"), ("seats", "places", "plazas"), "席位"),
    "h": (("hour", "heure", "hora"), ("hours", "heures", "horas"), "小时"),
}


def _offer(web: Web, slug: str, unit: str, amount: float) -> int:
    """The call's (only) resource counted in ``unit``, ``amount`` of it offered."""
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        cp = call.pools[0]
        cp.pool.unit, cp.pool.unit_labels, cp.pool.amount = unit, {}, max(amount, 10)
        cp.amount = amount
        cp.min_per_request = cp.max_per_request = None
        s.commit()
        return cp.pool_id


def _text(r: object) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", r.text)))  # type: ignore[attr-defined]


@pytest.mark.parametrize("unit", sorted(WORDS))
@RUN_ONCE
def test_one_is_singular_on_the_call_page(web: Web, world: World, unit: str) -> None:
    slug = world.slugs["call"]
    one, many, _zh = WORDS[unit]
    _offer(web, slug, unit, 1)
    for lang, word, plural in zip(("en", "fr", "es"), one, many, strict=True):
        text = _text(web.client(lang).get(f"/calls/{slug}"))
        assert f"1 {word} " in text and f"1 {plural} " not in text, (
            lang,
            text[text.find("berth") - 200 : text.find("berth") + 100],
        )
    _offer(web, slug, unit, 2)
    for lang, plural in zip(("en", "fr", "es"), many, strict=True):
        text = _text(web.client(lang).get(f"/calls/{slug}"))
        assert f"2 {plural} " in text, (
            lang,
            text[text.find("berth") - 200 : text.find("berth") + 100],
        )


@pytest.mark.parametrize("unit", sorted(WORDS))
@RUN_ONCE
def test_one_chinese_word_on_every_page(web: Web, world: World, unit: str) -> None:
    """The public call page and the manager's resource page name the unit alike."""
    slug = world.slugs["other_call"]  # the manager manages this one's provider
    zh = WORDS[unit][2]
    pool_id = _offer(web, slug, unit, 3)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        user = s.scalars(select(User).where(User.email == world.emails["manager"])).one()
        people_services.grant_role(s, user.id, "provider_admin", provider_id=call.provider_id)
        s.commit()
    public = _text(web.client("zh").get(f"/calls/{slug}"))
    manager = web.login(world.emails["manager"], "zh")
    r = manager.get(f"/manage/resources/{pool_id}")
    assert r.status_code == 200
    resource = _text(r)
    assert f"3 {zh}" in public, public[:3000]
    assert zh in resource, resource[:3000]
