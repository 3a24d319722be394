from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale.s3 import S3Server, moto_server
from tests.web.conftest import web, world  # noqa: F401  (re-exported fixtures)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server
