"""The calibration step's bootstrap in the test process (speed22, docs/testing.md).

The step's job (``review.calibrate``: the API's and the cockpit's ``steps/calibration``)
calls ``run_calibration`` without a number of draws, so it draws the product's 200
replicates; in two journeys that run the whole cycle through the API those draws were
45 % of py-spy's samples of the tests (eight journey files: 148 -> 118 CPU s with 20). The test process draws :data:`tests.fixtures.TEST_BOOTSTRAP`
there instead (the services' own tests pass 10 to 50), as it hashes passwords at the
cheapest cost; the product's default stays 200, and the run records what it drew."""

from __future__ import annotations

import inspect

from sqlalchemy.orm import Session

from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F
from tests.fixtures import PRODUCTION_BOOTSTRAP, TEST_BOOTSTRAP


def test_the_product_draws_200_and_the_tests_fewer() -> None:
    assert PRODUCTION_BOOTSTRAP == 200
    assert 0 < TEST_BOOTSTRAP < PRODUCTION_BOOTSTRAP
    default = inspect.signature(rv.run_calibration).parameters["n_bootstrap"].default
    assert default == TEST_BOOTSTRAP


def test_a_calibration_without_a_count_draws_the_tests_count_and_records_it(
    db: Session,
) -> None:
    call, _props, reviewers = F.call_in_review(db, 3, 3)
    rv.run_assignment(db, call)
    by_id = {u.id: u for u in reviewers}
    for i, a in enumerate(rq.assignments_of_call(db, call)):
        rv.submit_review(db, a, by_id[a.reviewer_id], grade=1 + i % 5, comments_to_applicants="ok")
    run = rv.run_calibration(db, call)  # as the step's job calls it
    assert run.parameters["n_bootstrap"] == TEST_BOOTSTRAP
