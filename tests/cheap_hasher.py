"""Passwords hashed at argon2's lowest cost in the test process: the production cost
(PasswordHasher() defaults, about 0.1 s a check on an idle core and seconds on a loaded
one) is the point in production and only time here, where hundreds of sign-ins check the
factories' one password. tests/people/test_password_cost.py keeps the production
parameters (:data:`PRODUCTION_HASHER`); servers started as separate processes use
``tests/cheap_argon2``.

A module of its own, imported by :mod:`tests.fixtures` and by :mod:`tests.factories`
before it hashes its password: a run of one folder whose conftest imports the factories
(``pytest tests/security/...``) loads that conftest before the fixtures, and the
factories' hash was then a production-cost one, which every sign-in upgraded
(``tests/security/test_enumeration.py`` counted a second hash and failed)."""

from __future__ import annotations

from argon2 import PasswordHasher

from opencall.people import services as people_services

PRODUCTION_HASHER = people_services._hasher
people_services._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
