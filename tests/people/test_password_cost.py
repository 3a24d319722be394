"""The tests hash passwords cheaply (tests/conftest.py swaps the hasher for speed);
production keeps argon2id at the library's recommended cost, and a hash made at the
test cost is upgraded to it at the next sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher, Type

from opencall.people import services
from tests.conftest import PRODUCTION_HASHER


def test_production_hasher_is_argon2id_at_the_recommended_cost() -> None:
    h = PRODUCTION_HASHER
    assert h.type is Type.ID
    assert h.time_cost >= 3 and h.memory_cost >= 64 * 1024 and h.parallelism >= 1
    default = PasswordHasher()
    assert (h.time_cost, h.memory_cost, h.parallelism) == (
        default.time_cost,
        default.memory_cost,
        default.parallelism,
    )


def test_a_cheap_hash_would_be_rehashed_in_production() -> None:
    cheap = services.hash_password("correct horse battery")
    assert services.verify_password(cheap, "correct horse battery")
    assert PRODUCTION_HASHER.check_needs_rehash(cheap)
