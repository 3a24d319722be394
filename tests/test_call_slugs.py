"""Issue 13 (item 3): call slugs are unique across the whole site.

Every route finds a call by its slug alone, so a slug shared by two providers let
the second shadow the first (row order decided which call a page showed). Now the
database refuses a duplicate (``uq_calls_slug``), the service refuses it with a
clear message and changes nothing, and migration ``pdf_01`` de-duplicates existing
data: the call created first keeps its slug, later ones are renamed.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opencall import migrate
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.calls.queries import call_by_slug
from opencall.db import make_engine, make_sessionmaker
from opencall.errors import DomainError
from opencall.people.services import load_countries
from tests import factories as F
from tests.conftest import PG_URL, reset_pg_schema


def _doc(call: Call, slug: str) -> dict[str, object]:
    return {
        "slug": slug,
        "code": "SHADOW",
        "title": "A call that would shadow another",
        "cycle": "2027",
        "opens_at": call.opens_at,
        "closes_at": call.closes_at,
        "form": {"receivers": F.RECEIVERS, "modes": F.MODES},
    }


def test_a_second_provider_cannot_shadow_a_call(db: Session) -> None:
    original = F.fast_call(db)
    other = F.fast_call(db)  # another provider, with its own facility
    assert other.provider_id != original.provider_id
    db.commit()
    before = F.table_counts(db)
    with pytest.raises(DomainError) as err:
        call_services.create_call(db, other.facility, _doc(original, original.slug))
    assert err.value.field == "slug"
    assert f"The address {original.slug!r} is already used by another call" in err.value.message
    db.rollback()
    assert F.table_counts(db) == before
    # the same provider cannot reuse it either
    with pytest.raises(DomainError):
        call_services.create_call(db, original.facility, _doc(original, original.slug))
    db.rollback()
    found = call_by_slug(db, original.slug)
    assert found is not None and found.id == original.id


def test_the_database_refuses_a_duplicate_slug_even_past_the_service(db: Session) -> None:
    original = F.fast_call(db)
    other = F.fast_call(db)
    db.commit()
    with pytest.raises(IntegrityError):
        db.execute(update(Call).where(Call.id == other.id).values(slug=original.slug))
        db.flush()
    db.rollback()
    assert db.scalar(select(Call.slug).where(Call.id == other.id)) == other.slug


def _dedupe_case(url: str) -> None:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        reset_pg_schema(engine)
    # the rows are made with today's models at the head schema, then the schema steps
    # back to just before pdf_01 (slugs unique per provider only), where the duplicate
    # addresses are set in SQL: the ORM never meets an older schema
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    with factory() as s:
        load_countries(s)
        a, b, c = F.fast_call(s), F.fast_call(s), F.fast_call(s)
        s.flush()
        b_provider = b.provider.slug
        # a call of yet another provider already holds the name B would get
        d = F.fast_call(s)
        s.flush()
        ids = {"a": a.id, "b": b.id, "c": c.id, "d": d.id}
        c_provider = c.provider.slug
        slug = a.slug
        s.commit()
    migrate.downgrade(engine, _before_pdf_01(engine))
    with factory() as s:
        s.execute(text("UPDATE calls SET slug = :s WHERE id IN (:b, :c)"), {"s": slug, **ids})
        s.execute(
            text("UPDATE calls SET slug = :s WHERE id = :d"), {"s": f"{slug}-{b_provider}", **ids}
        )
        s.commit()
    migrate.upgrade(engine)
    assert migrate.drift(engine) == []
    with factory() as s:
        got = {k: s.scalar(select(Call.slug).where(Call.id == v)) for k, v in ids.items()}
    assert got["a"] == slug  # the oldest keeps its address
    assert got["b"] == f"{slug}-{b_provider}-2"
    assert got["c"] == f"{slug}-{c_provider}"
    assert got["d"] == f"{slug}-{b_provider}"
    assert len(set(got.values())) == 4
    if engine.dialect.name == "postgresql":  # leave the schema as the session fixture expects
        reset_pg_schema(engine)
        migrate.upgrade(engine)
        with factory() as s:
            load_countries(s)
            s.commit()
    engine.dispose()


def _before_pdf_01(engine: Any) -> str:
    """The revision just before ``pdf_01`` (the chain is re-ordered when branches merge)."""
    from alembic.script import ScriptDirectory

    from opencall.migrate import alembic_config

    rev = ScriptDirectory.from_config(alembic_config(engine)).get_revision("pdf_01")
    assert rev is not None and isinstance(rev.down_revision, str)
    return rev.down_revision


def test_migration_pdf_01_dedupes_existing_duplicates_sqlite(tmp_path) -> None:
    _dedupe_case(f"sqlite:///{tmp_path / 'dupes.sqlite3'}")


def test_migration_pdf_01_dedupes_existing_duplicates_postgres() -> None:
    if not PG_URL:
        pytest.skip("OPENCALL_TEST_POSTGRES_URL not set")
    _dedupe_case(PG_URL)
