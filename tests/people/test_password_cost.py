"""The tests hash passwords cheaply (tests/conftest.py swaps the hasher for speed);
production keeps argon2id at the library's recommended cost, and a hash made at the
test cost is upgraded to it at the next sign-in."""

from __future__ import annotations

import os
import subprocess
import sys

from argon2 import PasswordHasher, Type

from opencall.people import services
from tests.conftest import PRODUCTION_HASHER
from tests.crowd.live import cheap_argon2


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


def test_processes_started_with_cheap_argon2_hash_at_the_test_cost() -> None:
    """tests/cheap_argon2 (the crowd tests' servers): a process started with it hashes at
    the tests' cost, so it has no factory hash to upgrade; one started without it, at the
    production cost."""
    probe = "import argon2; h = argon2.PasswordHasher(); print(h.time_cost, h.memory_cost)"
    plain = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    costs = [
        subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for env in (cheap_argon2(plain), plain)
    ]
    cheap, production = services._hasher, PRODUCTION_HASHER  # tests/conftest.py's, the product's
    assert costs == [
        [str(cheap.time_cost), str(cheap.memory_cost)],
        [str(production.time_cost), str(production.memory_cost)],
    ]
