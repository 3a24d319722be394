"""The allocation policy on the chair's decisions page and on the published results page,
in the reader's language."""

from __future__ import annotations

import html

import pytest

from opencall.calls.queries import call_by_slug
from opencall.calls.schemas import allocation_policy
from opencall.people import services as people_services
from tests import factories as F
from tests.web.conftest import Web, World
from tests.web.test_public import publish

pytestmark = pytest.mark.filterwarnings("ignore")


def test_policy_is_shown_to_the_chair_and_in_the_published_results(web: Web, world: World) -> None:
    with web.factory() as s:
        publish(s, world)
        call = call_by_slug(s, world.slugs["call"])
        assert call is not None
        pool = call.pools[0]
        call.allocation_policy = allocation_policy(
            {
                "pi_cap_awards": 2,
                "pi_cap_amount": {str(pool.pool_id): 12},
                "quality_threshold": 3.0,
                "group_shares": [{"group": "low_lmic", "min_share": 0.3, "min_quality": 3.5}],
                "resource_limits": {str(pool.pool_id): {"max_per_proposal": 6, "max_total": 40}},
            }
        ).model_dump(mode="json")
        chair = F.user(s, name="Chair Person", email="chair@example.org")
        people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
        name = pool.pool.name
        s.commit()
    slug = world.slugs["call"]
    text = html.unescape(web.client("fr").get(f"/calls/{slug}/awarded").text)
    assert "Politique d’allocation" in text
    assert f"Au plus 12 heures de {name} par responsable scientifique." in text
    assert "Au plus 2 attributions par responsable scientifique." in text
    assert (
        "Au moins 30% de la capacité va au groupe Revenu faible et intermédiaire inférieur "
        "lorsque c’est possible, en ne "
        "comptant que les propositions notées au moins 3.5." in text
    )
    assert f"{name} : au plus 6 heures par proposition." in text
    assert f"{name} : au plus 40 heures attribués au total." in text
    assert "attribuées toutes ensemble" in text  # bundles
    chair_page = web.login("chair@example.org").get(f"/manage/calls/{slug}/decisions")
    assert chair_page.status_code == 200
    page = html.unescape(chair_page.text)
    assert "At most 12 hours of" in page and "per principal investigator" in page
    assert f"{name}: at most 40 hours awarded in total." in page
    assert "Only proposals graded at least 3 can be awarded." in page


def test_refused_policy_messages_are_translated() -> None:
    from opencall.web.i18n import Translator

    es = Translator("es")
    assert es.message(
        "Invalid allocation policy: resource_limits.5.max_total: 12 is more than the 10 h that "
        "Krios 1 offers."
    ) == (
        "Política de asignación no válida: resource_limits.5.max_total: 12 supera los 10 h que "
        "ofrece Krios 1."
    )
    assert "hors de l’échelle de notes 1-5" in Translator("fr").message(
        "Invalid allocation policy: quality_threshold: 7 lies outside the grade scale 1-5."
    )


def test_the_policy_names_its_groups_and_counts_in_the_readers_words(
    web: Web, world: World
) -> None:
    """A fellowship programme's policy (one award per person, 30 % to least developed
    countries, 20 % to low- and lower-middle-income ones) read on the public results page:
    the groups by their names in the reader's language, never their keys ("ldc"), and
    "1 award", not "1 awards"."""
    with web.factory() as s:
        publish(s, world)
        call = call_by_slug(s, world.slugs["call"])
        assert call is not None
        call.allocation_policy = allocation_policy(
            {"pi_cap_awards": 1, "group_shares": [
                {"group": "ldc", "min_share": 0.3}, {"group": "low_lmic", "min_share": 0.2}]}
        ).model_dump(mode="json")  # fmt: skip
        s.commit()
    slug = world.slugs["call"]
    said = {
        "en": ("At most 1 award per principal investigator.",
               "goes to the group Least developed countries when",
               "goes to the group Low and lower-middle income when"),
        "fr": ("Au plus 1 attribution par responsable scientifique.",
               "va au groupe Pays les moins avancés lorsque",
               "va au groupe Revenu faible et intermédiaire inférieur lorsque"),
        "es": ("Como máximo 1 asignación por investigador principal.",
               "Países menos adelantados", "Ingreso bajo y mediano bajo"),
        "zh": ("每位项目负责人最多获得 1 项授予。", "最不发达国家", "低收入和中等偏下收入"),
    }  # fmt: skip
    for lang, sentences in said.items():
        text = html.unescape(web.client(lang).get(f"/calls/{slug}/awarded").text)
        for sentence in sentences:
            assert sentence in text, (lang, sentence)
        assert "ldc" not in text and "low_lmic" not in text, lang
