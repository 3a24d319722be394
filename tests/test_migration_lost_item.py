"""trialop19b_01: the periods trialop19 stored with an English reason ("CH-7 lost", its
``pool.item_lost`` audited) become data (``lost_item``), a reason an operator typed that
only ends in "lost" stays as typed, and the downgrade writes the English reason back."""

from __future__ import annotations

import json

from sqlalchemy import text

from opencall import migrate
from opencall.db import make_engine, make_sessionmaker
from opencall.people.services import load_countries


def test_trialop19_s_lost_item_reasons_become_data_and_come_back(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lost.sqlite3'}")
    migrate.upgrade(engine, "outcomes19_01")
    with make_sessionmaker(engine)() as s:
        load_countries(s)  # the provider's country
        s.commit()
    rows = "INSERT INTO pool_unavailability (id, pool_id, starts_at, ends_at, reason) VALUES "
    with engine.begin() as c:
        for sql in (
            "INSERT INTO providers (id, name, slug, country_iso3, description)"
            " VALUES (1, 'P', 'p', 'KEN', '')",
            "INSERT INTO facilities (id, provider_id, name, slug, kind, description, attributes)"
            " VALUES (1, 1, 'F', 'f', 'lab', '', '{}')",
            "INSERT INTO capacity_pools (id, facility_id, name, pool_type, unit, amount,"
            " attributes) VALUES (7, 1, 'A', 'custom', 'days', 1, '{}'),"
            " (8, 1, 'B', 'custom', 'days', 1, '{}')",
        ):
            c.execute(text(sql))
        c.execute(text(rows + "(1, 7, '2026-03-01 00:00:00', '2026-04-01 00:00:00', 'CH-7 lost')"))
        c.execute(text(rows + "(2, 7, '2026-05-01 00:00:00', '2026-05-02 00:00:00', 'power lost')"))
        c.execute(text(rows + "(3, 8, '2026-03-01 00:00:00', '2026-04-01 00:00:00', 'CH-7 lost')"))
        c.execute(
            text(
                "INSERT INTO audit_events (action, entity, entity_id, data, at, reason,"
                " prev_hash, hash) VALUES ('pool.item_lost', 'capacity_pool', '7', :d,"
                " '2026-03-01 00:00:00', '', '', 'h1')"
            ),
            {"d": json.dumps({"item": "CH-7", "lost_on": "2026-03-01"})},
        )
    migrate.upgrade(engine)
    with engine.connect() as c:
        got = {i: (r, lost) for i, r, lost in c.execute(
            text("SELECT id, reason, lost_item FROM pool_unavailability"))}  # fmt: skip
    # pool 8 lost no CH-7 (no audited loss there): its reason is an operator's, kept
    assert got == {1: ("", "CH-7"), 2: ("power lost", ""), 3: ("CH-7 lost", "")}
    migrate.downgrade(engine, "outcomes19_01")
    with engine.connect() as c:
        back = {i: r for i, r in c.execute(text("SELECT id, reason FROM pool_unavailability"))}
    assert back == {1: "CH-7 lost", 2: "power lost", 3: "CH-7 lost"}
