"""Argon2 at its lowest cost in a process the tests start (``opencall serve``,
``opencall worker`` and the processes these start in turn), as ``tests/conftest.py``
does in the test process: a directory on ``PYTHONPATH`` makes Python import this module
at start-up (:func:`tests.crowd.live.cheap_argon2`).

Without it such a server checks the factories' cheap hashes cheaply (argon2 reads the
cost from the hash) but then upgrades each one to the production cost at its first
sign-in (``people.services.authenticate``: about 0.25 s of CPU a sign-in on the test
machine) and hashes every registration at that cost: tests that sign in a crowd spent
most of their CPU there. ``argon2.PasswordHasher``'s defaults become the test cost, so
the product's ``PasswordHasher()`` hashes at it and sees nothing to upgrade. Only for
tests that do not test the cost: ``tests/people/test_password_cost.py`` pins the
production parameters, and the in-process tests of equal work
(``tests/security/test_enumeration.py``, ``tests/web/test_register_existing.py``)
count the hasher's calls."""

from __future__ import annotations

from typing import Any

import argon2


class _TestCost(argon2.PasswordHasher):
    def __init__(
        self, time_cost: int = 1, memory_cost: int = 8, parallelism: int = 1, **kw: Any
    ) -> None:
        super().__init__(time_cost, memory_cost, parallelism, **kw)


argon2.PasswordHasher = _TestCost  # type: ignore[misc]
