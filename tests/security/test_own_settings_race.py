"""A reviewer's own settings saved twice at once (trialcrowd19): the limit per year, the
limit at once and the review languages, each one row per reviewer. A double click on a
slow link (or a retry while the first is in flight) sends the first save twice; both read
"no row yet" and both inserted it, and on PostgreSQL the second died on the primary key
(an IntegrityError: a 500, and the reviewer is told nothing was saved). Now a save locks
the reviewer's row before it reads theirs: the second waits, then reads the first's row
and updates it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.auditlog import AuditEvent
from opencall.people.models import User
from opencall.reviews import services as rv
from opencall.reviews.models import ReviewerLanguages, ReviewerLoadLimit, ReviewerYearLimit
from tests import factories as F
from tests.security.races import meet, recorded

SAVES: list[tuple[str, Any, Callable[[Session, User, int], Any], str]] = [
    ("year", ReviewerYearLimit, lambda s, u, i: rv.set_year_limit(s, u, 10 + i), "max_per_year"),
    ("at once", ReviewerLoadLimit, lambda s, u, i: rv.set_load_limit(s, u, 3 + i), "max_at_once"),
    (
        "languages",
        ReviewerLanguages,
        lambda s, u, i: rv.set_review_languages(s, u, [("es", "fr")[i]]),
        "languages",
    ),
]


@pytest.mark.parametrize(("name", "model", "save", "column"), SAVES, ids=[x[0] for x in SAVES])
def test_a_first_save_sent_twice_at_once_is_kept_once(
    factory: sessionmaker[Session],
    name: str,
    model: Any,
    save: Callable[[Session, User, int], Any],
    column: str,
) -> None:
    with factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("two transactions at once: PostgreSQL (SQLite writes one at a time)")
        uid = F.user(s).id
        s.commit()
    # each reads "no row" before either writes; with the fix the second waits on the lock
    # of the reviewer's row (the first gives up meeting it after 3 s and goes on alone)
    both = threading.Barrier(2, timeout=3)
    outcome: dict[str, str] = {}

    def run(i: int) -> None:
        def work(s: Session) -> None:
            user = s.get(User, uid)
            assert user is not None
            real_get = s.get

            def get(*a: Any, **kw: Any) -> Any:
                out = real_get(*a, **kw)
                meet(both)
                return out

            s.get = get  # type: ignore[method-assign]
            save(s, user, i)

        recorded(factory, outcome, str(i), work)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcome == {"0": "done", "1": "done"}, outcome
    with factory() as s:
        rows = list(s.scalars(select(model).where(model.user_id == uid)))
        events = s.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.entity == "user",
                AuditEvent.entity_id == str(uid),
                AuditEvent.action.startswith("review."),
            )
        )
    assert len(rows) == 1
    # the row holds one of the two values, and each change is audited once
    assert events == 2, events
