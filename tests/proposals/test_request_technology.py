"""A seat's or a package's request names its pool's technology: another is refused with
the pool's own sentence (one message id each, in one table since the fold of the two
branches). Pure: the call and its pool are plain objects, no database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from opencall.errors import DomainError
from opencall.proposals.services.requests import validate_request

SITE = {"place": "Kisumu", "country_iso3": "KEN", "mean_temp_c": 24, "annual_rain_mm": 1200,
        "altitude_m": 1130}  # fmt: skip


def _call(pool_type: str) -> Any:
    pool = SimpleNamespace(
        name="Rice", pool_type=pool_type, unit=pool_type, attributes={"technology": "rice"}
    )
    cp = SimpleNamespace(pool_id=7, pool=pool, amount=100.0, min_per_request=None)
    return SimpleNamespace(facility=SimpleNamespace(kind="programme"), form={}, pools=[cp])


@pytest.mark.parametrize(
    ("kind", "pool_type", "details", "sentence"),
    [
        ("seat", "seats", {"seats": 2}, "Session %(pool)s teaches %(technology)s."),
        ("package", "packages", {"packages": 2}, "Pool %(pool)s offers %(technology)s packages."),
    ],
)
def test_another_technology_is_refused_in_the_pools_words(
    kind: str, pool_type: str, details: dict[str, Any], sentence: str
) -> None:
    with pytest.raises(DomainError) as caught:
        validate_request(
            None,  # type: ignore[arg-type]
            _call(pool_type),
            kind,
            7,
            {"technology": "maize", "site": SITE, **details},
        )
    err = caught.value
    assert (err.msg_id, err.field) == (sentence, "details.technology")
    assert err.params == {"pool": "'Rice'", "technology": "'rice'"}
