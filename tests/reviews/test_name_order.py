"""People listed by name (the provider's reviewer pool, the grants of a provider) are in
one order on every database and in every script: case and accents do not separate
"ade" from "Ångström" and "Émile" (SQLite's byte order put every capital before every
small letter and "É" after "Z"; PostgreSQL's follows its server's collation), and a
name typed with combining accents sorts with the same name typed precomposed."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.people import queries as people_queries
from opencall.people import services as people_services
from opencall.people.domain import name_sort_key
from opencall.reviews import recruitment
from tests import factories as F

NAMES = ["Zoë Adams", "王小明", "Émile Zola", "محمد علي", "ade Bello", "Ångström Ek", "Zoe Adair"]
ORDER = ["ade Bello", "Ångström Ek", "Émile Zola", "Zoe Adair", "Zoë Adams", "محمد علي", "王小明"]


def test_name_sort_key() -> None:
    assert sorted(NAMES, key=name_sort_key) == ORDER
    assert name_sort_key("Jose\u0301") == name_sort_key("José")
    assert name_sort_key("José")[0] == name_sort_key("JOSE")[0]


def test_reviewer_pool_and_grants_in_name_order(db: Session) -> None:
    call = F.fast_call(db)
    for i, name in enumerate(NAMES):
        u = F.user(db, email=f"r{i}@uni.example", name=name)
        people_services.grant_role(db, u.id, "reviewer", provider_id=call.provider_id)
    db.flush()
    assert [m.user.name for m in recruitment.reviewer_pool(db, call)] == ORDER
    grants = people_queries.grants_in_scope(db, call.provider_id, [call.id])
    assert [u.name for g, u in grants if g.role == "reviewer"] == ORDER
